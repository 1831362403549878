//! What the engine tests share: the roster, incidents, and a [`Scenario`] that runs the
//! engine over the in-memory adapters, delivers the flow-end events of finished calls, and
//! writes the queued notes to the in-memory ServiceNow.

#![allow(dead_code)] // each test binary uses its own part of this module

use escalation_core::escalation::{Escalation, Policy};
use escalation_core::model::{CallOutcome, ExecutionSid, Incident, Roster, SysId};
use escalation_core::ports::{DialRequest, Metric, Stored};
use escalation_core::testing::{Memory, PlaceScript, T0};
use escalation_core::update::IncidentUpdate;
use escalation_core::usecase::{Engine, EventOutcome, Settings, SweepReport};
use std::collections::HashSet;
use std::sync::Mutex;

pub const ALICE: &str = "+15550100001";
pub const BOB: &str = "+15550100002";
pub const CAROL: &str = "+15550100003";
pub const DAN: &str = "+15550100004";

/// Two agents and one escalation contact, all ServiceNow users (the end-to-end roster).
pub const ROSTER: &str = r#"{
  "agent_list": [
    {"name": "Alice Agent", "phone_no": "+15550100001", "role": "primary", "index": 0, "sn_user": "alice.agent"},
    {"name": "Bob Agent", "phone_no": "+15550100002", "role": "secondary", "index": 1, "sn_user": "bob.agent"}
  ],
  "escalation_list": [
    {"name": "Carol Manager", "phone_no": "+15550100003", "role": "manager", "index": 0, "sn_user": "carol.manager"}
  ]
}"#;

/// The roster with a third agent, Dan, after Bob.
pub const ROSTER_WITH_DAN: &str = r#"{
  "agent_list": [
    {"name": "Alice Agent", "phone_no": "+15550100001", "sn_user": "alice.agent"},
    {"name": "Bob Agent", "phone_no": "+15550100002", "sn_user": "bob.agent"},
    {"name": "Dan Agent", "phone_no": "+15550100004", "sn_user": "dan.agent"}
  ],
  "escalation_list": [
    {"name": "Carol Manager", "phone_no": "+15550100003", "sn_user": "carol.manager"}
  ]
}"#;

/// The sys_id the in-memory ServiceNow gives a roster user.
pub fn user_sys_id(user_name: &str) -> SysId {
    let mut id: String = user_name.bytes().map(|b| format!("{b:02x}")).collect();
    id.truncate(32);
    SysId::parse(&format!("{id:0<32}")).unwrap()
}

pub fn sys_id(n: u32) -> SysId {
    SysId::parse(&format!("{n:032x}")).unwrap()
}

/// Priority 1 incident number `n`.
pub fn incident(n: u32) -> Incident {
    Incident {
        sys_id: sys_id(n),
        number: format!("INC{:07}", 10_000 + n),
        short_description: format!("Outage {n}"),
        priority: "1".into(),
        assignment_group: None,
        assignment_group_name: None,
    }
}

/// The call is answered and `digit` pressed.
pub fn press(digit: &str) -> PlaceScript {
    PlaceScript::Ends(CallOutcome::from_digits(digit))
}

pub fn ends(outcome: CallOutcome) -> PlaceScript {
    PlaceScript::Ends(outcome)
}

/// The flow-end event's id for a call (one per call; a redelivery carries the same id).
pub fn event_id(sid: &ExecutionSid) -> String {
    format!("EZ{}", &sid.as_str()[2..])
}

/// `s` seconds in milliseconds.
pub const fn secs(s: u64) -> u64 {
    s * 1000
}

/// The engine over one set of in-memory adapters, and what the test has delivered so far.
pub struct Scenario {
    pub m: Memory,
    pub engine: Engine,
    delivered: Mutex<HashSet<ExecutionSid>>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario::with(ROSTER, Settings::default())
    }
}

impl Scenario {
    pub fn new() -> Scenario {
        Scenario::default()
    }

    /// The default roster with a changed policy.
    pub fn with_policy(change: impl FnOnce(&mut Policy)) -> Scenario {
        let mut settings = Settings::default();
        change(&mut settings.policy);
        Scenario::with(ROSTER, settings)
    }

    pub fn with(roster: &str, settings: Settings) -> Scenario {
        Scenario::build(roster, settings, &[])
    }

    /// The default roster, the engine with the SMS path, and the people at `texted` on a
    /// step that texts them when their call is not answered.
    pub fn with_sms(texted: &[&str]) -> Scenario {
        Scenario::build(ROSTER, Settings::default(), texted)
    }

    /// As [`Scenario::with_sms`], with the policy changed.
    pub fn with_sms_policy(texted: &[&str], change: impl FnOnce(&mut Policy)) -> Scenario {
        let mut settings = Settings::default();
        change(&mut settings.policy);
        Scenario::build(ROSTER, settings, texted)
    }

    /// `roster` whose agents are one ring-all step (all called at once), the escalation
    /// list after them.
    pub fn ring_all(roster: &str) -> Scenario {
        Scenario::build_with(roster, Settings::default(), |list, p| {
            if list == 0 {
                p.ring_step = Some(0);
            }
        })
    }

    /// As [`Scenario::ring_all`], and the people at `texted` are texted when their call is
    /// not answered.
    pub fn ring_all_texting(roster: &str, texted: &[&str]) -> Scenario {
        Scenario::build_with(roster, Settings::default(), |list, p| {
            p.ring_step = (list == 0).then_some(0);
            p.sms_when_unanswered = texted.contains(&p.phone.as_str());
        })
    }

    /// `roster`, and the calls due to one person within `window_secs` are one call.
    pub fn bundled(roster: &str, window_secs: u32) -> Scenario {
        let mut s = Scenario::with(roster, Settings::default());
        s.engine = s.m.bundled_engine(Settings::default(), window_secs);
        s
    }

    /// The dialer takes these requests, in order.
    pub async fn dial(&self, requests: impl IntoIterator<Item = DialRequest>) {
        for req in requests {
            self.engine.dial_requested(&req).await.expect("dialled");
        }
    }

    fn build(roster: &str, settings: Settings, texted: &[&str]) -> Scenario {
        Scenario::build_with(roster, settings, |_, p| {
            p.sms_when_unanswered = texted.contains(&p.phone.as_str());
        })
    }

    /// Each person changed by `change(list, person)` (list 0: agents, 1: escalation).
    fn build_with(
        roster: &str,
        settings: Settings,
        change: impl Fn(u8, &mut escalation_core::model::Person),
    ) -> Scenario {
        let mut roster = Roster::from_json(roster).unwrap();
        roster.agents.iter_mut().for_each(|p| change(0, p));
        roster.escalation.iter_mut().for_each(|p| change(1, p));
        let m = Memory::new(roster);
        for p in m.roster.people() {
            if let Some(user) = &p.sn_user {
                m.servicenow
                    .add_user(&user_sys_id(user), user, &p.name, &p.phone);
            }
        }
        let engine = m.sms_engine(settings);
        Scenario {
            m,
            engine,
            delivered: Mutex::default(),
        }
    }

    /// What the next calls to `number` do.
    pub fn script(&self, number: &str, steps: impl IntoIterator<Item = PlaceScript>) {
        self.m.dialer.script(number, steps);
    }

    /// Escalate incident `n` (the trigger); `true` when the escalation is new.
    pub async fn start(&self, n: u32) -> (Stored, bool) {
        self.engine.start(incident(n)).await.expect("start")
    }

    /// The numbers called, in order, for every incident.
    pub fn dialled(&self) -> Vec<String> {
        self.m
            .dialer
            .placed()
            .into_iter()
            .map(|p| p.call.person.phone.as_str().to_string())
            .collect()
    }

    /// The numbers called for incident `n`, in order.
    pub fn dialled_for(&self, n: u32) -> Vec<String> {
        let id = sys_id(n);
        self.m
            .dialer
            .placed()
            .into_iter()
            .filter(|p| p.call.incident.sys_id == id)
            .map(|p| p.call.person.phone.as_str().to_string())
            .collect()
    }

    /// The SID of the `i`-th call placed (0-based).
    pub fn call(&self, i: usize) -> ExecutionSid {
        self.m.dialer.placed()[i].sid.clone()
    }

    /// The escalation of incident `n` as stored.
    pub fn esc(&self, n: u32) -> Escalation {
        self.m.repo.get(&sys_id(n)).expect("escalation").escalation
    }

    /// Who the current attempt of incident `n` is for.
    pub fn calling(&self, n: u32) -> String {
        self.esc(n)
            .current()
            .expect("a current attempt")
            .person
            .name
            .clone()
    }

    /// The flow-end event of call `sid` arrives.
    pub async fn deliver(&self, sid: &ExecutionSid) -> EventOutcome {
        self.delivered.lock().unwrap().insert(sid.clone());
        self.engine
            .on_flow_ended(&event_id(sid), sid.as_str())
            .await
            .expect("the event is applied")
    }

    /// Deliver the flow-end event of every finished call not delivered yet, until no call
    /// is left to deliver (each delivery may place the next call).
    pub async fn settle(&self) {
        loop {
            let pending: Vec<ExecutionSid> = {
                let delivered = self.delivered.lock().unwrap();
                self.m
                    .dialer
                    .placed()
                    .into_iter()
                    .filter(|p| !p.active && !p.gone && !delivered.contains(&p.sid))
                    .map(|p| p.sid)
                    .collect()
            };
            if pending.is_empty() {
                return;
            }
            for sid in pending {
                self.deliver(&sid).await;
            }
        }
    }

    /// Set the clock `ms` after [`T0`] and run the sweeper then.
    pub async fn sweep_at(&self, ms: u64) -> SweepReport {
        self.m.clock.set(T0 + ms);
        self.engine.sweep().await.expect("sweep")
    }

    /// The keys of the updates queued, once each, in the order first queued.
    pub fn keys(&self) -> Vec<String> {
        self.m.outbox.unique().into_iter().map(|u| u.key).collect()
    }

    /// The update queued under `key`.
    pub fn queued(&self, key: &str) -> IncidentUpdate {
        self.m
            .outbox
            .all()
            .into_iter()
            .find(|u| u.key == key)
            .unwrap_or_else(|| panic!("no update {key} in {:?}", self.keys()))
    }

    /// Key suffixes of the updates queued for incident `n`: `started`, `attempt:1`, ...
    pub fn queued_for(&self, n: u32) -> Vec<String> {
        let id = sys_id(n);
        self.m
            .outbox
            .unique()
            .into_iter()
            .filter(|u| u.sys_id == id)
            .map(|u| u.key.split_once(':').unwrap().1.to_string())
            .collect()
    }

    /// The updater writes everything queued (every copy, in order, as the queue delivers
    /// it); returns the work notes of incident `n`.
    pub async fn write_notes(&self, n: u32) -> Vec<String> {
        let applier = self.m.applier();
        for u in self.m.outbox.all() {
            applier.apply(&u, false).await.expect("update written");
        }
        self.m.servicenow.notes(&sys_id(n))
    }

    pub fn metric(&self, metric: Metric) -> f64 {
        self.m.metrics.total(metric)
    }
}
