//! The bundle call: claim every member's dial lease, place one call about all of them,
//! record it on each; and the next calls of a bundle's incidents, which go out as one call
//! again when they are due to the same person.

use super::dial::Found;
use super::{Engine, EngineError};
use crate::bundle::{Bundle, BundledCall, Member};
use crate::escalation::{Attempt, CREATE_BUDGET_MS, DIAL_LEASE_MS, DialDue, Next};
use crate::model::{CallOutcome, E164, EscalationId, ExecutionSid, SysId};
use crate::ports::{DialResult, RepoError, Stored, TelephonyError, TelephonyErrorKind};

/// One member whose dial lease the closer holds.
struct Claimed {
    stored: Stored,
    attempt: Attempt,
    until: u64,
}

impl Engine {
    /// Place the next calls of escalations whose call just ended. With bundling, those of
    /// a bundle call's incidents that are due to the same person are placed as one call.
    pub(super) async fn dial_next(&self, due: Vec<Stored>) -> Result<(), EngineError> {
        let mut failed = None;
        for group in self.by_person(due) {
            let result = match <[Stored; 1]>::try_from(group) {
                Ok([one]) => self.dial(one).await.map(|_| ()),
                Err(group) => self.dial_together(group).await,
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "could not place a next call; the sweeper places it");
                failed.get_or_insert(e);
            }
        }
        failed.map_or(Ok(()), Err)
    }

    /// `due` in groups: the calls due now to one person together (with bundling), every
    /// other escalation on its own.
    fn by_person(&self, due: Vec<Stored>) -> Vec<Vec<Stored>> {
        let mut groups: Vec<(Option<E164>, Vec<Stored>)> = Vec::new();
        let now = self.now();
        for stored in due {
            let phone = match stored.escalation.dial_due(now, now) {
                DialDue::Now(a) if self.bundles.is_some() && a.ring == 0 && a.bundle.is_none() => {
                    Some(a.person.phone.clone())
                }
                _ => None,
            };
            match groups
                .iter_mut()
                .find(|(p, g)| p.is_some() && *p == phone && g.len() < crate::bundle::MAX_BUNDLE)
            {
                Some((_, group)) => group.push(stored),
                None => groups.push((phone, vec![stored])),
            }
        }
        groups.into_iter().map(|(_, g)| g).collect()
    }

    /// One call for escalations whose next calls are all due to the same person now.
    async fn dial_together(&self, group: Vec<Stored>) -> Result<(), EngineError> {
        let now = self.now();
        let members: Vec<Member> = group
            .iter()
            .filter_map(|s| {
                let a = s.escalation.current()?;
                Some(Member {
                    sys_id: s.escalation.incident().sys_id.clone(),
                    escalation_id: s.escalation.id().clone(),
                    attempt: a.number,
                })
            })
            .collect();
        let mut group = group.into_iter();
        let Some(first) = group.next() else {
            return Ok(());
        };
        let Some(attempt) = first.escalation.current().cloned() else {
            return Ok(());
        };
        let bundle = Bundle {
            id: format!("{}/{}", first.escalation.id(), attempt.number),
            phone: attempt.person.phone.clone(),
            opened_at: now,
            closes_at: now,
            members,
            closed_at: Some(now),
        };
        self.place_bundle(first, &attempt, &bundle)
            .await
            .map(|_| ())
    }

    /// Claim every member, place one call about all of them, record it on each.
    pub(super) async fn place_bundle(
        &self,
        stored: Stored,
        attempt: &Attempt,
        bundle: &Bundle,
    ) -> Result<Stored, EngineError> {
        self.ports.dialer.reserve().await?;
        let mine_id = stored.escalation.id().clone();
        let mine_sys = stored.escalation.incident().sys_id.clone();
        // Our own attempt may be held elsewhere (or have moved on): the others are still
        // called together.
        let (mut members, known) = match self.claim(stored, attempt.number).await? {
            Ok(c) => (vec![c], None),
            Err(s) => (Vec::new(), Some(s)),
        };
        let others: Vec<&Member> = bundle
            .members
            .iter()
            .filter(|m| m.escalation_id != mine_id)
            .collect();
        let claims = futures::future::join_all(others.iter().map(|m| self.claim_member(m))).await;
        for (claim, m) in claims.into_iter().zip(others) {
            match claim {
                Ok(Some(c)) => members.push(c),
                Ok(None) => {}
                Err(e) => tracing::warn!(escalation_id = %m.escalation_id, error = %e,
                    "could not claim a bundle member; its call is placed alone after the window"),
            }
        }
        let members = self.adopt_earlier_calls(members).await?;
        let Some(first) = members.first() else {
            return self.latest(known, &mine_sys).await;
        };
        let mut call = first.stored.escalation.call_request(&first.attempt);
        call.bundle = members[1..]
            .iter()
            .map(|c| BundledCall {
                escalation_id: c.stored.escalation.id().clone(),
                incident: c.stored.escalation.incident().clone(),
                attempt: c.attempt.number,
            })
            .collect();
        let incidents: Vec<String> = members
            .iter()
            .map(|c| c.stored.escalation.incident().number.clone())
            .collect();
        let until = members.iter().map(|c| c.until).min().unwrap_or(0);
        if self.now() + CREATE_BUDGET_MS > until {
            return Err(self
                .give_up_all(
                    members,
                    TelephonyError {
                        kind: TelephonyErrorKind::Unavailable,
                        message: "the dial lease ran short before the bundle call could be placed"
                            .into(),
                    },
                )
                .await);
        }
        let outcome = match self.ports.dialer.place(&call).await {
            Ok(DialResult::Placed(sid) | DialResult::AlreadyOurs(sid)) => {
                let mine = self
                    .record_bundle(members, &sid, &bundle.id, &incidents, &mine_id)
                    .await?;
                return self.latest(mine.or(known), &mine_sys).await;
            }
            Ok(DialResult::OnAnotherCall) => CallOutcome::OnAnotherCall,
            Ok(DialResult::Unreachable(why)) => CallOutcome::Unreachable(why),
            Err(e) => return Err(self.give_up_all(members, e).await),
        };
        tracing::warn!(bundle = %bundle.id, to = %attempt.person.phone.masked(), ?outcome,
            "the bundle call could not be placed; each incident moves on");
        let mut mine_now = None;
        let mut due = Vec::new();
        for c in members {
            let n = c.attempt.number;
            let saved = self
                .commit(c.stored, |e| {
                    e.on_call_ended(n, None, outcome.clone(), self.now())
                })
                .await?;
            let s = match saved {
                Ok((s, t)) => {
                    self.observe(&s.escalation, &t);
                    if t.next == Next::Dial {
                        due.push(s.clone());
                    }
                    s
                }
                Err((s, _)) => s,
            };
            if s.escalation.id() == &mine_id {
                mine_now = Some(s);
            }
        }
        // Their next calls: one call again where they go to the same person.
        Box::pin(self.dial_next(due)).await?;
        self.latest(mine_now.or(known), &mine_sys).await
    }

    /// Our escalation as last seen, or as stored now when this step did not touch it.
    async fn latest(&self, known: Option<Stored>, sys_id: &SysId) -> Result<Stored, EngineError> {
        if let Some(s) = known {
            return Ok(s);
        }
        self.ports
            .repo
            .load(sys_id)
            .await?
            .ok_or_else(|| RepoError::Corrupt("escalation vanished".into()).into())
    }

    /// Claim attempt `n` of `stored` (`Err`: someone else has it, or it moved on).
    async fn claim(&self, stored: Stored, n: u32) -> Result<Result<Claimed, Stored>, EngineError> {
        match self
            .commit(stored, |e| e.claim_dial(n, self.now(), DIAL_LEASE_MS))
            .await?
        {
            Ok((stored, until)) => {
                let attempt = stored.escalation.attempt(n).cloned();
                Ok(match attempt {
                    Some(attempt) => Ok(Claimed {
                        stored,
                        attempt,
                        until,
                    }),
                    None => Err(stored),
                })
            }
            Err((s, reason)) => {
                tracing::info!(escalation_id = %s.escalation.id(), attempt = n, %reason,
                    "bundle member not claimed: another invocation has it or it moved on");
                Ok(Err(s))
            }
        }
    }

    /// Claim another member of the bundle, if it still waits for this call.
    async fn claim_member(&self, m: &Member) -> Result<Option<Claimed>, EngineError> {
        let Some(stored) = self.ports.repo.load(&m.sys_id).await? else {
            return Ok(None);
        };
        if stored.escalation.id() != &m.escalation_id {
            return Ok(None);
        }
        Ok(self.claim(stored, m.attempt).await?.ok())
    }

    /// A member claimed before may have had its call placed by a dialer that died: that
    /// call is adopted as the member's own, and the member leaves the bundle.
    async fn adopt_earlier_calls(
        &self,
        members: Vec<Claimed>,
    ) -> Result<Vec<Claimed>, EngineError> {
        let mut left = Vec::with_capacity(members.len());
        for c in members {
            match self.earlier_call(&c.stored, &c.attempt).await {
                Ok(Some(sid)) => {
                    let n = c.attempt.number;
                    self.record_execution(c.stored, n, &sid, self.now(), Found::Again)
                        .await?;
                }
                Ok(None) => left.push(c),
                Err(e) => return Err(self.give_up_all(vec![c], e).await),
            }
        }
        Ok(left)
    }

    async fn record_bundle(
        &self,
        members: Vec<Claimed>,
        sid: &ExecutionSid,
        bundle_id: &str,
        incidents: &[String],
        mine_id: &EscalationId,
    ) -> Result<Option<Stored>, EngineError> {
        let mut mine = None;
        let mut failed = None;
        for c in members {
            let n = c.attempt.number;
            let saved = self
                .commit(c.stored, |e| {
                    e.record_bundle_call(n, sid, bundle_id, incidents, self.now())
                })
                .await;
            let s = match saved {
                Ok(Ok((s, ()))) => {
                    tracing::info!(escalation_id = %s.escalation.id(), attempt = n, execution = %sid,
                        bundle = bundle_id, incidents = incidents.len(), "bundle call placed");
                    s
                }
                Ok(Err((s, reason))) => {
                    // It moved on while the call was placed (e.g. cancelled): the call is
                    // the others' too, so it keeps ringing.
                    tracing::warn!(escalation_id = %s.escalation.id(), execution = %sid, %reason,
                        "bundle call placed for an attempt that is no longer current");
                    s
                }
                Err(e) => {
                    // The lease stays until it runs out; the next dialer finds this call.
                    tracing::error!(error = %e, execution = %sid,
                        "could not record the bundle call on a member; found again after its lease");
                    failed.get_or_insert(e);
                    continue;
                }
            };
            if s.escalation.id() == mine_id {
                mine = Some(s);
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(mine),
        }
    }

    /// Give every member's lease back after a failed create (see `give_up`).
    async fn give_up_all(&self, members: Vec<Claimed>, e: TelephonyError) -> EngineError {
        for c in members {
            self.give_up(c.stored, c.attempt.number, c.until, e.clone())
                .await;
        }
        e.into()
    }
}
