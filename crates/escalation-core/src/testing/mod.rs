//! In-memory adapters for fast tests of every use case: no moto, no HTTP, no sleeping.
//!
//! [`Memory`] bundles one of each; [`Memory::engine`] wires them into an [`Engine`]. The
//! dialer is scripted per phone number; the clock moves only when a test moves it.

mod bundles;
mod dialer;
mod messaging;
mod servicenow;
mod store;

pub use bundles::MemoryBundles;
pub use dialer::{DialOp, PlaceScript, PlacedCall, ScriptedDialer};
pub use messaging::{MemoryOffers, RecordingMessenger, SentText};
pub use servicenow::{MemoryServiceNow, PatchFault, WrittenPatch};
pub use store::{MemoryDials, MemoryMarks, MemoryOutbox, MemoryRepo};

use crate::lineup_source::FixedRoster;
use crate::model::Roster;
use crate::ports::{Clock, Metric, Metrics};
use crate::usecase::{Engine, Ports, ReplayGuard, Settings, UpdateApplier};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A clock that moves only when told to.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn at(ms: u64) -> Self {
        ManualClock(AtomicU64::new(ms))
    }
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Every metric reported, in order: (dimension, metric, value). The dimension is the
/// incident's number for incident metrics, the function for counters and the reason's label
/// for declines.
#[derive(Debug, Default)]
pub struct RecordingMetrics(Mutex<Vec<(String, Metric, f64)>>);

impl RecordingMetrics {
    pub fn all(&self) -> Vec<(String, Metric, f64)> {
        self.0.lock().unwrap().clone()
    }
    /// The sum of one metric's values.
    pub fn total(&self, metric: Metric) -> f64 {
        self.all()
            .iter()
            .filter(|(_, m, _)| *m == metric)
            .map(|(_, _, v)| v)
            .sum()
    }
}

impl Metrics for RecordingMetrics {
    fn incident(&self, incident: &crate::model::Incident, values: &[(Metric, f64)]) {
        let mut all = self.0.lock().unwrap();
        for (m, v) in values {
            all.push((incident.number.clone(), *m, *v));
        }
    }
    fn declined(&self, _incident: &crate::model::Incident, reason: crate::model::DeclineReason) {
        self.0
            .lock()
            .unwrap()
            .push((reason.label().to_string(), Metric::Declines, 1.0));
    }
    fn count(&self, function: &str, metric: Metric, n: usize) {
        if n > 0 {
            self.0
                .lock()
                .unwrap()
                .push((function.to_string(), metric, n as f64));
        }
    }
}

/// One of each in-memory adapter.
pub struct Memory {
    pub repo: Arc<MemoryRepo>,
    pub marks: Arc<MemoryMarks>,
    pub outbox: Arc<MemoryOutbox>,
    pub dials: Arc<MemoryDials>,
    pub dialer: Arc<ScriptedDialer>,
    pub servicenow: Arc<MemoryServiceNow>,
    pub metrics: Arc<RecordingMetrics>,
    pub clock: Arc<ManualClock>,
    pub roster: Roster,
    pub messenger: Arc<RecordingMessenger>,
    pub offers: Arc<MemoryOffers>,
    pub bundles: Arc<MemoryBundles>,
}

/// The instant tests start at: 2026-11-21 10:00:00 UTC.
pub const T0: u64 = 1_795_255_200_000;

impl Memory {
    pub fn new(roster: Roster) -> Memory {
        Memory {
            repo: Arc::default(),
            marks: Arc::default(),
            outbox: Arc::default(),
            dials: Arc::default(),
            dialer: Arc::default(),
            servicenow: Arc::default(),
            metrics: Arc::default(),
            clock: Arc::new(ManualClock::at(T0)),
            roster,
            messenger: Arc::default(),
            offers: Arc::default(),
            bundles: Arc::default(),
        }
    }

    pub fn ports(&self) -> Ports {
        Ports {
            repo: self.repo.clone(),
            marks: self.marks.clone(),
            outbox: self.outbox.clone(),
            dialer: self.dialer.clone(),
            lineups: Arc::new(FixedRoster(self.roster.clone())),
            metrics: self.metrics.clone(),
            clock: self.clock.clone(),
        }
    }

    pub fn engine(&self, settings: Settings) -> Engine {
        Engine::new(self.ports(), settings)
    }

    /// The engine with the SMS path ([`Memory::messenger`], [`Memory::offers`]).
    pub fn sms_engine(&self, settings: Settings) -> Engine {
        self.engine(settings).with_sms(crate::usecase::SmsParts {
            messenger: self.messenger.clone(),
            offers: self.offers.clone(),
        })
    }

    /// The engine as the trigger runs it: first calls go to [`Memory::dials`].
    pub fn queued_engine(&self, settings: Settings) -> Engine {
        self.engine(settings).with_dial_queue(self.dials.clone())
    }

    /// The engine with the SMS path and bundling over a window of `window_secs`: bundles
    /// in [`Memory::bundles`], their openers' delayed requests in [`Memory::dials`].
    pub fn bundled_engine(&self, settings: Settings, window_secs: u32) -> Engine {
        self.sms_engine(settings)
            .with_bundles(crate::usecase::BundleParts {
                store: self.bundles.clone(),
                queue: self.dials.clone(),
                settings: crate::bundle::BundleSettings::window_secs(window_secs)
                    .expect("a window"),
            })
    }

    pub fn applier(&self) -> UpdateApplier {
        UpdateApplier::new(
            self.marks.clone(),
            self.servicenow.clone(),
            self.metrics.clone(),
        )
    }

    pub fn replay_guard(&self) -> ReplayGuard {
        ReplayGuard::new(self.marks.clone(), 660)
    }

    pub fn now(&self) -> u64 {
        self.clock.now_ms()
    }
}
