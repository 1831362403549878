//! The bundles, in memory, with versions; faults can be injected per save.

use crate::bundle::{Bundle, BundleStore, StoredBundle};
use crate::model::E164;
use crate::ports::RepoError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryBundles {
    rows: Mutex<HashMap<String, StoredBundle>>,
    /// Saves that fail with `Unavailable` before they apply.
    failing: Mutex<usize>,
    /// Saves that apply, then fail with `Unavailable` (the reply was lost).
    failing_after: Mutex<usize>,
}

impl MemoryBundles {
    /// The next `n` saves fail as if the storage were down (nothing written).
    pub fn fail(&self, n: usize) {
        *self.failing.lock().unwrap() = n;
    }

    /// The next `n` saves are written but report `Unavailable`.
    pub fn fail_after_write(&self, n: usize) {
        *self.failing_after.lock().unwrap() = n;
    }

    /// What the number holds.
    pub fn get(&self, phone: &E164) -> Option<StoredBundle> {
        self.rows.lock().unwrap().get(phone.as_str()).cloned()
    }
}

fn take(counter: &Mutex<usize>) -> bool {
    let mut n = counter.lock().unwrap();
    let hit = *n > 0;
    *n = n.saturating_sub(1);
    hit
}

#[async_trait]
impl BundleStore for MemoryBundles {
    async fn load(&self, phone: &E164) -> Result<Option<StoredBundle>, RepoError> {
        Ok(self.get(phone))
    }

    async fn save(&self, bundle: &Bundle, expected: u64) -> Result<(), RepoError> {
        if take(&self.failing) {
            return Err(RepoError::Unavailable("injected bundle store fault".into()));
        }
        {
            let mut rows = self.rows.lock().unwrap();
            let current = rows.get(bundle.phone.as_str()).map_or(0, |s| s.version);
            if current != expected {
                return Err(RepoError::Conflict { expected });
            }
            rows.insert(
                bundle.phone.as_str().to_string(),
                StoredBundle {
                    bundle: bundle.clone(),
                    version: expected + 1,
                },
            );
        }
        if take(&self.failing_after) {
            return Err(RepoError::Unavailable(
                "injected bundle store fault (after the write)".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Member;
    use crate::model::{EscalationId, SysId};

    fn bundle(members: usize) -> Bundle {
        Bundle {
            id: "ESC-0123456789ab/1".into(),
            phone: E164::parse("+41791234567").unwrap(),
            opened_at: 1_000,
            closes_at: 61_000,
            members: (0..members)
                .map(|i| Member {
                    sys_id: SysId::parse(&format!("{i:032x}")).unwrap(),
                    escalation_id: EscalationId::new(format!("ESC-{i:012x}")),
                    attempt: 1,
                })
                .collect(),
            closed_at: None,
        }
    }

    #[tokio::test]
    async fn a_stale_version_conflicts_and_faults_fail_before_or_after_the_write() {
        let store = MemoryBundles::default();
        store.save(&bundle(1), 0).await.unwrap();
        assert_eq!(
            store.save(&bundle(2), 0).await,
            Err(RepoError::Conflict { expected: 0 })
        );
        store.fail(1);
        assert!(matches!(
            store.save(&bundle(2), 1).await,
            Err(RepoError::Unavailable(_))
        ));
        assert_eq!(store.get(&bundle(1).phone).unwrap().version, 1);
        store.fail_after_write(1);
        assert!(matches!(
            store.save(&bundle(2), 1).await,
            Err(RepoError::Unavailable(_))
        ));
        let stored = store.get(&bundle(1).phone).unwrap();
        assert_eq!((stored.version, stored.bundle.members.len()), (2, 2));
    }
}
