//! The escalation table, the marks, the update queue and the dial queue, in memory.

use crate::escalation::Escalation;
use crate::model::SysId;
use crate::ports::{
    ActiveScan, Created, DialQueue, DialRequest, EscalationRepo, Mark, Marks, Outbox, OutboxError,
    RepoError, Stored, Unreadable,
};
use crate::update::IncidentUpdate;
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Escalations by incident, with versions; faults can be injected per call.
#[derive(Default)]
pub struct MemoryRepo {
    rows: Mutex<HashMap<SysId, Stored>>,
    /// Saves that fail with `Unavailable` before they apply.
    failing_saves: Mutex<usize>,
    /// Saves that lose to a concurrent writer (the version moves on first).
    conflicts: Mutex<usize>,
    saves: Mutex<usize>,
    /// Items the table holds that do not read as an escalation.
    unreadable: Mutex<Vec<Unreadable>>,
}

impl MemoryRepo {
    /// The next `n` saves fail as if the storage were down.
    pub fn fail_saves(&self, n: usize) {
        *self.failing_saves.lock().unwrap() = n;
    }

    /// The next `n` saves find that another invocation saved first (the stored version
    /// moves on, the state stays).
    pub fn conflict_saves(&self, n: usize) {
        *self.conflicts.lock().unwrap() = n;
    }

    /// Successful saves so far.
    pub fn saves(&self) -> usize {
        *self.saves.lock().unwrap()
    }

    pub fn get(&self, sys_id: &SysId) -> Option<Stored> {
        self.rows.lock().unwrap().get(sys_id).cloned()
    }

    /// An item among the active escalations that cannot be read (a damaged document).
    pub fn put_unreadable(&self, key: &str, problem: &str) {
        self.unreadable.lock().unwrap().push(Unreadable {
            key: key.to_string(),
            problem: problem.to_string(),
        });
    }

    /// Store an escalation as it is (e.g. one written by an earlier release).
    pub fn put(&self, escalation: Escalation, version: u64) {
        let sys_id = escalation.incident().sys_id.clone();
        self.rows.lock().unwrap().insert(
            sys_id,
            Stored {
                escalation,
                version,
            },
        );
    }
}

fn take(counter: &Mutex<usize>) -> bool {
    let mut n = counter.lock().unwrap();
    if *n > 0 {
        *n -= 1;
        true
    } else {
        false
    }
}

#[async_trait]
impl EscalationRepo for MemoryRepo {
    async fn create(&self, esc: &Escalation) -> Result<Created, RepoError> {
        let mut rows = self.rows.lock().unwrap();
        let sys_id = esc.incident().sys_id.clone();
        if let Some(existing) = rows.get(&sys_id) {
            return Ok(Created::Existing(existing.clone()));
        }
        let stored = Stored {
            escalation: esc.clone(),
            version: 1,
        };
        rows.insert(sys_id, stored.clone());
        Ok(Created::New(stored))
    }

    async fn load(&self, sys_id: &SysId) -> Result<Option<Stored>, RepoError> {
        Ok(self.get(sys_id))
    }

    async fn save(&self, esc: &Escalation, expected: u64) -> Result<u64, RepoError> {
        if take(&self.failing_saves) {
            return Err(RepoError::Unavailable("injected storage fault".into()));
        }
        let mut rows = self.rows.lock().unwrap();
        let row = rows
            .get_mut(&esc.incident().sys_id)
            .ok_or(RepoError::Corrupt("no such escalation".into()))?;
        if take(&self.conflicts) {
            row.version += 1;
        }
        if row.version != expected {
            return Err(RepoError::Conflict { expected });
        }
        row.escalation = esc.clone();
        row.version += 1;
        *self.saves.lock().unwrap() += 1;
        Ok(row.version)
    }

    async fn active(&self) -> Result<ActiveScan, RepoError> {
        let rows = self.rows.lock().unwrap();
        let mut escalations: Vec<Stored> = rows
            .values()
            .filter(|s| !s.escalation.status().is_terminal())
            .cloned()
            .collect();
        escalations.sort_by_key(|s| s.escalation.updated_at());
        Ok(ActiveScan {
            escalations,
            unreadable: self.unreadable.lock().unwrap().clone(),
        })
    }
}

/// Marks without expiry (tests do not live long enough to see one expire).
#[derive(Default)]
pub struct MemoryMarks {
    marks: Mutex<HashSet<Mark>>,
    failing: Mutex<usize>,
}

impl MemoryMarks {
    /// The next `n` mark operations fail as if the storage were down.
    pub fn fail(&self, n: usize) {
        *self.failing.lock().unwrap() = n;
    }

    pub fn contains(&self, mark: &Mark) -> bool {
        self.marks.lock().unwrap().contains(mark)
    }

    pub fn remove(&self, mark: &Mark) {
        self.marks.lock().unwrap().remove(mark);
    }
}

#[async_trait]
impl Marks for MemoryMarks {
    async fn has(&self, mark: &Mark) -> Result<bool, RepoError> {
        if take(&self.failing) {
            return Err(RepoError::Unavailable("injected storage fault".into()));
        }
        Ok(self.contains(mark))
    }

    async fn put(&self, mark: &Mark, _ttl_secs: u64) -> Result<bool, RepoError> {
        if take(&self.failing) {
            return Err(RepoError::Unavailable("injected storage fault".into()));
        }
        Ok(self.marks.lock().unwrap().insert(mark.clone()))
    }
}

/// Every update queued, in order (copies with a key already queued are kept, as a queue
/// outside its deduplication window would keep them).
#[derive(Default)]
pub struct MemoryOutbox {
    queued: Mutex<Vec<IncidentUpdate>>,
    failing: Mutex<usize>,
}

impl MemoryOutbox {
    /// The next `n` sends fail.
    pub fn fail(&self, n: usize) {
        *self.failing.lock().unwrap() = n;
    }

    pub fn all(&self) -> Vec<IncidentUpdate> {
        self.queued.lock().unwrap().clone()
    }

    /// The queued updates, one per key (the queue's and the updater's deduplication).
    pub fn unique(&self) -> Vec<IncidentUpdate> {
        let mut seen = HashSet::new();
        self.all()
            .into_iter()
            .filter(|u| seen.insert(u.key.clone()))
            .collect()
    }

    /// Remove and return everything queued.
    pub fn drain(&self) -> Vec<IncidentUpdate> {
        std::mem::take(&mut *self.queued.lock().unwrap())
    }
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn enqueue(&self, updates: &[IncidentUpdate]) -> Result<(), OutboxError> {
        if take(&self.failing) {
            return Err(OutboxError("injected queue fault".into()));
        }
        self.queued.lock().unwrap().extend_from_slice(updates);
        Ok(())
    }
}

/// Every dial request, in order; taken by a test playing the dialer.
#[derive(Default)]
pub struct MemoryDials {
    queued: Mutex<Vec<DialRequest>>,
    delayed: Mutex<Vec<(DialRequest, u32)>>,
    failing: Mutex<usize>,
}

impl MemoryDials {
    /// Remove and return the requests waiting.
    pub fn take(&self) -> Vec<DialRequest> {
        std::mem::take(&mut *self.queued.lock().unwrap())
    }

    /// Remove and return the delayed requests, each with its delay in seconds (a test
    /// delivers them when its clock has moved on that far).
    pub fn take_delayed(&self) -> Vec<(DialRequest, u32)> {
        std::mem::take(&mut *self.delayed.lock().unwrap())
    }

    /// Refuse the next `n` requests (the queue is down).
    pub fn fail(&self, n: usize) {
        *self.failing.lock().unwrap() = n;
    }
}

#[async_trait]
impl DialQueue for MemoryDials {
    async fn request(&self, dial: &DialRequest) -> Result<(), OutboxError> {
        if take(&self.failing) {
            return Err(OutboxError("injected dial queue fault".into()));
        }
        self.queued.lock().unwrap().push(dial.clone());
        Ok(())
    }

    async fn request_after(&self, dial: &DialRequest, delay_secs: u32) -> Result<(), OutboxError> {
        if take(&self.failing) {
            return Err(OutboxError("injected dial queue fault".into()));
        }
        self.delayed
            .lock()
            .unwrap()
            .push((dial.clone(), delay_secs));
        Ok(())
    }
}
