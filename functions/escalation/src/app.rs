//! The application: configuration, roster, adapters, and the engine that moves an
//! escalation forward. Built once per Lambda container; shared by every handler.

use crate::clock::now_ms;
use crate::config::{Config, ConfigError, Secrets};
use crate::domain::{Attempt, CallOutcome, Escalation, Incident, Next, Phase, SweepAction};
use crate::outbox::{QueueError, SqsQueue, UpdateQueue};
use crate::retry::RetryPolicy;
use crate::roster::Roster;
use crate::servicenow::{ServiceNow, SnClient};
use crate::signature::SigningKey;
use crate::store::{Created, DynamoStore, EscalationStore, StoreError, Stored};
use crate::twilio::{NewExecution, Studio, StudioClient, TwilioError};
use serde_json::json;
use std::time::Duration;

pub struct App<S, T, Q, N> {
    pub config: Config,
    pub roster: Roster,
    pub key: SigningKey,
    pub store: S,
    pub studio: T,
    pub queue: Q,
    pub sn: N,
}

/// The production wiring: DynamoDB, Twilio Studio, SQS, ServiceNow.
pub type AwsApp = App<DynamoStore, StudioClient, SqsQueue, SnClient>;

impl AwsApp {
    /// Everything from the environment: config, AWS SDK (honours `AWS_ENDPOINT_URL`),
    /// secrets from Secrets Manager (fetched once per container).
    pub async fn from_env() -> Result<AwsApp, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        AwsApp::build(config, &sdk, RetryPolicy::default()).await
    }

    pub async fn build(
        config: Config,
        sdk: &aws_config::SdkConfig,
        retry: RetryPolicy,
    ) -> Result<AwsApp, ConfigError> {
        let roster = config.roster()?;
        let (secrets, key) = Secrets::fetch(
            &aws_sdk_secretsmanager::Client::new(sdk),
            &config.secrets_arn,
        )
        .await?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!(
                "servicenow-phone-escalation/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| ConfigError::Invalid {
                name: "HTTP client",
                problem: e.to_string(),
            })?;
        Ok(App {
            studio: StudioClient::new(
                http.clone(),
                &config.studio_base_url,
                &config.flow_sid,
                &secrets.twilio_api_key_sid,
                &secrets.twilio_api_key_secret,
                retry.clone(),
            )
            .with_create_rate(config.twilio_creates_per_sec),
            sn: SnClient::new(
                http,
                &config.servicenow_url,
                &secrets.servicenow_username,
                &secrets.servicenow_password,
                retry,
            ),
            store: DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), &config.table),
            queue: SqsQueue::new(aws_sdk_sqs::Client::new(sdk), &config.queue_url),
            roster,
            key,
            config,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Twilio(#[from] TwilioError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("escalation kept changing under us; giving up for now")]
    Contention,
}

/// What became of one flow-end event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventResult {
    Applied { next: Next },
    Ignored(String),
}

/// Metrics for a transition that was saved: one attempt, and the outcome if final.
fn observe(esc: &Escalation, t: &crate::domain::Transition) {
    use crate::metrics::Unit;
    let mut values = vec![("Attempts", 1.0, Unit::Count)];
    match t.next {
        Next::Done(crate::domain::Status::Accepted) => {
            values.push(("Accepts", 1.0, Unit::Count));
            let tta = esc.updated_at.saturating_sub(esc.created_at) as f64;
            values.push(("TimeToAccept", tta, Unit::Milliseconds));
        }
        Next::Done(crate::domain::Status::Exhausted) => {
            values.push(("Exhausted", 1.0, Unit::Count))
        }
        _ => {}
    }
    crate::metrics::for_incident(&esc.incident, &values);
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// ACTIVE escalations looked at.
    pub checked: usize,
    /// DIALING attempts placed (never placed, or a busy wait over).
    pub dialled: usize,
    /// Calls whose flow-end event never came, finished from Twilio's execution.
    pub redriven: usize,
    /// Executions still active long past their time, ended at Twilio and finished.
    pub ended: usize,
    /// Calls still running within their allowance: left alone.
    pub still_active: usize,
    /// Escalations that could not be handled this time (retried next sweep).
    pub errors: usize,
}

/// A call still active this long past ring timeout + grace is ended by the sweeper
/// (the flow's gather and confirmation take well under a minute).
const MAX_CALL_OVERRUN_MS: u64 = 5 * 60 * 1000;

/// A DIALING attempt older than this, found by a redelivered (stale) event, was abandoned
/// by a crashed invocation and is placed; a younger one is being placed by its writer.
pub const REDRIVE_AFTER_MS: u64 = 2_000;

/// How long a dialer holds an attempt (see [`Escalation::claim_dial`]): nobody else places
/// that call meanwhile. It must outlast [`CREATE_BUDGET`] (a create request that is
/// still in flight when the lease runs out could ring the phone a second time) and is
/// what a crashed dialer costs: its call is placed this much later, by the sweeper.
pub const DIAL_LEASE_MS: u64 = 30_000;

/// The create request, retries included, is given up after this long (the lease is
/// released and the attempt left for the next try). Its tries are bounded by the HTTP
/// client's 10 s timeout, so nothing is in flight when the lease ends.
pub const CREATE_BUDGET: Duration = Duration::from_secs(20);

/// How far before an attempt began the orphan search looks (clock skew, second rounding).
const ORPHAN_SEARCH_SLACK_MS: u64 = 60_000;

const MAX_CONFLICT_RETRIES: usize = 5;

/// What became of a claim on the current attempt.
enum Claim {
    /// Ours until `until`: place the call.
    Ours { stored: Stored, until: u64 },
    /// Someone else is placing it, placed it, or the escalation moved on.
    Theirs { stored: Stored, reason: String },
}
/// A dial loop never runs away: at most this many un-placed calls are skipped in one go.
const MAX_SKIPS_PER_DIAL: usize = 64;

impl<S: EscalationStore, T: Studio, Q: UpdateQueue, N: ServiceNow> App<S, T, Q, N> {
    /// Create the escalation for an incident (or find the existing one) and place the
    /// first call. Returns the stored escalation and whether it is new.
    pub async fn start(&self, incident: Incident) -> Result<(Stored, bool), EngineError> {
        let id = format!("ESC-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let (esc, started) = Escalation::start(
            id,
            incident,
            self.roster.clone(),
            self.config.policy.clone(),
            now_ms(),
        );
        match self.store.create(&esc).await? {
            Created::New(stored) => {
                tracing::info!(escalation_id = %esc.id, incident = %esc.incident.number, "escalation created");
                self.queue.enqueue(&[started]).await?;
                Ok((self.dial(stored).await?, true))
            }
            Created::Existing(stored) => {
                tracing::info!(escalation_id = %stored.escalation.id, incident = %stored.escalation.incident.number,
                    "escalation already exists for this incident; not calling again");
                // A first attempt never placed (Twilio was down when the trigger ran): retry it.
                // Safe: a second create for the same contact gets 409 and the execution is adopted.
                let stalled = stored
                    .escalation
                    .current
                    .as_ref()
                    .is_some_and(|a| a.number == 1 && a.phase == Phase::Dialing);
                if stalled {
                    let started = Escalation::start(
                        stored.escalation.id.clone(),
                        stored.escalation.incident.clone(),
                        stored.escalation.roster.clone(),
                        stored.escalation.policy.clone(),
                        stored.escalation.created_at,
                    )
                    .1;
                    self.queue.enqueue(&[started]).await?;
                    return Ok((self.dial(stored).await?, false));
                }
                Ok((stored, false))
            }
        }
    }

    fn execution_for(&self, esc: &Escalation, attempt: &Attempt) -> NewExecution {
        let description: String = esc.incident.short_description.chars().take(300).collect();
        NewExecution {
            to: attempt.person.phone.as_str().to_string(),
            from: self.config.from_number.as_str().to_string(),
            parameters: json!({
                "escalation_id": esc.id,
                "sys_id": esc.incident.sys_id,
                "incident_number": esc.incident.number,
                "short_description": description,
                "priority": esc.incident.priority,
                "attempt": attempt.number,
                "agent_name": attempt.person.name,
                "ring_timeout": esc.policy.ring_timeout_secs,
            }),
        }
    }

    /// Place the call for the current attempt if it is still DIALING. The attempt was
    /// written as DIALING before this runs, so a crash leaves a trace to resume from.
    pub async fn dial(&self, stored: Stored) -> Result<Stored, EngineError> {
        self.dial_at(stored, now_ms()).await
    }

    /// [`App::dial`] at a given time (the sweeper passes its own clock; time spent here is
    /// added to it). An attempt waiting for busy people (`not_before` in the future) is
    /// left for the sweeper; one that another dialer holds (see [`Escalation::claim_dial`])
    /// is left to that dialer.
    pub async fn dial_at(&self, mut stored: Stored, now: u64) -> Result<Stored, EngineError> {
        let entered = std::time::Instant::now();
        let clock = || now + entered.elapsed().as_millis() as u64;
        for _ in 0..MAX_SKIPS_PER_DIAL {
            let Some(attempt) = stored
                .escalation
                .current
                .clone()
                .filter(|a| a.phase == Phase::Dialing)
            else {
                return Ok(stored);
            };
            if attempt.not_before.is_some_and(|t| t > now) || attempt.is_leased(clock()) {
                return Ok(stored);
            }
            // The rate-limit wait comes before the claim, so the lease covers the request.
            self.studio.reserve_create().await;
            let until = match self.claim(stored, attempt.number, clock()).await? {
                Claim::Ours { stored: s, until } => {
                    stored = s;
                    until
                }
                Claim::Theirs { stored, reason } => {
                    tracing::info!(escalation_id = %stored.escalation.id, attempt = attempt.number,
                        %reason, "not placing this call: another invocation has it");
                    return Ok(stored);
                }
            };
            let esc = &stored.escalation;
            let log_target = attempt.person.phone.masked();
            // Someone claimed this call before us and never recorded one: they may have died
            // after Twilio created it. Look for that execution before calling again.
            let claims = esc.current.as_ref().map_or(0, |a| a.dial_claims);
            if claims > 1 {
                match self.find_orphan(esc, &attempt).await {
                    Ok(Some(sid)) => {
                        tracing::warn!(escalation_id = %esc.id, attempt = attempt.number, execution = %sid,
                            to = %log_target, "adopting the execution an earlier dialer created but never recorded");
                        return self
                            .record_execution(stored, attempt.number, &sid, clock())
                            .await;
                    }
                    Ok(None) => {}
                    Err(e) => return Err(self.give_up(stored, attempt.number, until, e).await),
                }
            }
            let created = tokio::time::timeout(
                CREATE_BUDGET,
                self.studio
                    .create_execution(&self.execution_for(esc, &attempt)),
            )
            .await
            .unwrap_or_else(|_| {
                Err(TwilioError::Transport(format!(
                    "no execution created within {} s",
                    CREATE_BUDGET.as_secs()
                )))
            });
            let outcome = match created {
                Ok(exec) => {
                    return self
                        .record_execution(stored, attempt.number, &exec.sid, clock())
                        .await;
                }
                Err(TwilioError::Conflict {
                    conflicting_execution_sid: sid,
                }) => {
                    let ctx = self.studio.fetch_context(&sid).await?;
                    match ctx.params() {
                        Some(p) if p.is_for(&esc.id, attempt.number) => {
                            tracing::info!(escalation_id = %esc.id, execution = %sid, "adopting our own active execution (409)");
                            return self
                                .record_execution(stored, attempt.number, &sid, clock())
                                .await;
                        }
                        _ => {
                            tracing::warn!(escalation_id = %esc.id, to = %log_target, execution = %sid,
                                "agent is on another escalation's call (409)");
                            CallOutcome::OnAnotherCall
                        }
                    }
                }
                // 400: Twilio rejected this call (invalid or unreachable To number). Other
                // permanent errors (401 credentials, 404 flow) are configuration faults that
                // would hit every agent alike: fail loudly instead of skipping people.
                Err(e @ TwilioError::Api { status: 400, .. }) => {
                    tracing::error!(escalation_id = %esc.id, to = %log_target, error = %e, "Twilio refused the call");
                    CallOutcome::Unreachable(e.to_string())
                }
                Err(e) => return Err(self.give_up(stored, attempt.number, until, e).await),
            };
            let mut next = stored.escalation.clone();
            let t = next
                .on_call_ended(attempt.number, None, outcome, clock())
                .expect("the current attempt accepts its own outcome");
            self.queue.enqueue(std::slice::from_ref(&t.update)).await?;
            let version = self.store.save(&next, stored.version).await?;
            observe(&next, &t);
            stored = Stored {
                escalation: next,
                version,
            };
            if let Next::Done(status) = t.next {
                tracing::warn!(escalation_id = %stored.escalation.id, ?status, "escalation finished without a call");
                return Ok(stored);
            }
        }
        Err(EngineError::Contention)
    }

    /// The execution an earlier dialer created for `attempt`, if Twilio has one: executions
    /// of the flow since the attempt began, to this person, carrying our escalation id and
    /// attempt number.
    async fn find_orphan(
        &self,
        esc: &Escalation,
        attempt: &Attempt,
    ) -> Result<Option<String>, TwilioError> {
        // Twilio's filter has one-second resolution; allow for clocks a little apart.
        let since = attempt.started_at.saturating_sub(ORPHAN_SEARCH_SLACK_MS);
        let to = attempt.person.phone.as_str();
        for exec in self.studio.list_executions(since).await? {
            if exec.contact_channel_address.as_deref() != Some(to) {
                continue;
            }
            let ctx = self.studio.fetch_context(&exec.sid).await?;
            if ctx
                .params()
                .is_some_and(|p| p.is_for(&esc.id, attempt.number))
            {
                return Ok(Some(exec.sid));
            }
        }
        Ok(None)
    }

    /// Apply `change` and save it, conditional on the version; on a conflict, reload and
    /// apply it again to what is there now. `Ok(Err(..))`: `change` refused the latest
    /// state (returned with it).
    async fn save_change(
        &self,
        mut stored: Stored,
        change: impl Fn(&mut Escalation) -> Result<(), crate::domain::Ignored>,
    ) -> Result<Result<Stored, (Stored, crate::domain::Ignored)>, EngineError> {
        for _ in 0..MAX_CONFLICT_RETRIES {
            let mut next = stored.escalation.clone();
            if let Err(ignored) = change(&mut next) {
                return Ok(Err((stored, ignored)));
            }
            match self.store.save(&next, stored.version).await {
                Ok(version) => {
                    return Ok(Ok(Stored {
                        escalation: next,
                        version,
                    }));
                }
                Err(StoreError::Conflict { .. }) => {
                    stored = self
                        .store
                        .load(&next.incident.sys_id)
                        .await?
                        .ok_or(StoreError::Corrupt("escalation vanished".into()))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Contention)
    }

    /// Save a lease on the current attempt (conditional on the version): of two dialers
    /// racing for one attempt, exactly one gets it.
    async fn claim(&self, stored: Stored, attempt: u32, now: u64) -> Result<Claim, EngineError> {
        Ok(
            match self
                .save_change(stored, |e| e.claim_dial(attempt, now, DIAL_LEASE_MS))
                .await?
            {
                Ok(stored) => Claim::Ours {
                    stored,
                    until: now + DIAL_LEASE_MS,
                },
                Err((stored, ignored)) => Claim::Theirs {
                    stored,
                    reason: ignored.to_string(),
                },
            },
        )
    }

    /// Twilio failed while we held the dial lease: count it and give the lease back, so
    /// the retry (redelivery, the trigger's next call, the sweeper) need not wait for it to
    /// run out (best effort).
    async fn give_up(
        &self,
        stored: Stored,
        attempt: u32,
        until: u64,
        e: TwilioError,
    ) -> EngineError {
        crate::metrics::count("engine", "TwilioErrors", 1);
        let mut next = stored.escalation.clone();
        if next.release_dial(attempt, until)
            && let Err(err) = self.store.save(&next, stored.version).await
        {
            tracing::warn!(escalation_id = %next.id, error = %err,
                "could not release the dial lease; the attempt is retried when it runs out");
        }
        e.into()
    }

    async fn record_execution(
        &self,
        stored: Stored,
        attempt: u32,
        sid: &str,
        now: u64,
    ) -> Result<Stored, EngineError> {
        match self
            .save_change(stored, |e| e.record_execution(attempt, sid, now))
            .await?
        {
            Ok(stored) => {
                let esc = &stored.escalation;
                let to = esc.current.as_ref().map(|a| a.person.phone.masked());
                tracing::info!(escalation_id = %esc.id, incident = %esc.incident.number, attempt,
                    to = to.as_deref().unwrap_or("-"), execution = %sid, "call placed");
                Ok(stored)
            }
            Err((stored, ignored)) => {
                // The escalation moved on while we dialled (e.g. the call already ended and
                // was processed). Don't leave a stray call ringing.
                tracing::warn!(escalation_id = %stored.escalation.id, execution = %sid, reason = %ignored,
                    "execution created for an attempt that is no longer current; ending it");
                if stored
                    .escalation
                    .current
                    .as_ref()
                    .and_then(|a| a.execution_sid.as_deref())
                    != Some(sid)
                    && let Err(e) = self.studio.end_execution(sid).await
                {
                    tracing::warn!(execution = %sid, error = %e, "could not end stray execution");
                }
                Ok(stored)
            }
        }
    }

    /// Apply the end of a Studio execution: read its context, move the escalation on,
    /// place the next call or finish.
    pub async fn on_execution_ended(
        &self,
        execution_sid: &str,
    ) -> Result<EventResult, EngineError> {
        self.on_execution_ended_at(execution_sid, now_ms()).await
    }

    /// [`App::on_execution_ended`] at a given time (the sweeper passes its own clock).
    pub async fn on_execution_ended_at(
        &self,
        execution_sid: &str,
        now: u64,
    ) -> Result<EventResult, EngineError> {
        let ctx = match self.studio.fetch_context(execution_sid).await {
            Ok(ctx) => ctx,
            Err(TwilioError::Api { status: 404, .. }) => {
                return Ok(EventResult::Ignored(format!(
                    "execution {execution_sid} not found at Twilio"
                )));
            }
            Err(e) => {
                crate::metrics::count("engine", "TwilioErrors", 1);
                return Err(e.into());
            }
        };
        let Some(params) = ctx.params() else {
            return Ok(EventResult::Ignored(format!(
                "execution {execution_sid} carries no escalation parameters (not started by us)"
            )));
        };
        let outcome = ctx.outcome();
        for _ in 0..MAX_CONFLICT_RETRIES {
            let Some(stored) = self.store.load(&params.sys_id).await? else {
                return Ok(EventResult::Ignored(format!(
                    "no escalation for incident {}",
                    params.sys_id
                )));
            };
            if stored.escalation.id != params.escalation_id {
                return Ok(EventResult::Ignored(format!(
                    "execution belongs to escalation {}, the incident has {}",
                    params.escalation_id, stored.escalation.id
                )));
            }
            let mut next = stored.escalation.clone();
            match next.on_call_ended(params.attempt, Some(execution_sid), outcome.clone(), now) {
                Err(ignored) => {
                    // A redelivered event may find the next call written but never placed
                    // (the earlier try died between the two): place it now. Not if it was
                    // written just now: then its writer is placing it at this moment.
                    let abandoned = stored.escalation.current.as_ref().is_some_and(|a| {
                        a.phase == Phase::Dialing
                            && now.saturating_sub(a.started_at) >= REDRIVE_AFTER_MS
                    });
                    if abandoned {
                        self.dial_at(stored, now).await?;
                    }
                    return Ok(EventResult::Ignored(ignored.to_string()));
                }
                Ok(t) => {
                    self.queue.enqueue(std::slice::from_ref(&t.update)).await?;
                    match self.store.save(&next, stored.version).await {
                        Ok(version) => {
                            tracing::info!(escalation_id = %next.id, incident = %next.incident.number,
                                attempt = params.attempt, outcome = ?outcome, next = ?t.next, "call ended");
                            observe(&next, &t);
                            if t.next == Next::Dial {
                                self.dial_at(
                                    Stored {
                                        escalation: next,
                                        version,
                                    },
                                    now,
                                )
                                .await?;
                            }
                            return Ok(EventResult::Applied { next: t.next });
                        }
                        Err(StoreError::Conflict { .. }) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Err(EngineError::Contention)
    }

    /// The sweeper: finish what the event path left behind. Attempts stuck in DIALING are
    /// placed (409 adoption keeps this exactly-once); calls overdue in CALLING are looked up
    /// at Twilio and finished as if the flow-end event had arrived. Idempotent with the
    /// event path: whichever applies an attempt's end first wins, the other is ignored.
    pub async fn sweep(&self, now: u64) -> Result<SweepReport, EngineError> {
        let grace_ms = u64::from(self.config.sweep_grace_secs) * 1000;
        let mut report = SweepReport::default();
        for stored in self.store.active().await? {
            report.checked += 1;
            let id = stored.escalation.id.clone();
            let Some(action) = stored.escalation.sweep_action(now, grace_ms) else {
                continue;
            };
            let result = match action {
                SweepAction::Dial => {
                    tracing::warn!(escalation_id = %id, "sweeper: placing a call that was never placed");
                    self.dial_at(stored, now).await.map(|_| report.dialled += 1)
                }
                SweepAction::CheckExecution { sid, overdue_ms } => {
                    self.sweep_call(&stored, &sid, overdue_ms, now, &mut report)
                        .await
                }
            };
            if let Err(e) = result {
                tracing::error!(escalation_id = %id, error = %e, "sweeper could not finish this escalation; next sweep retries");
                report.errors += 1;
            }
        }
        tracing::info!(?report, "sweep done");
        Ok(report)
    }

    async fn sweep_call(
        &self,
        stored: &Stored,
        sid: &str,
        overdue_ms: u64,
        now: u64,
        report: &mut SweepReport,
    ) -> Result<(), EngineError> {
        let id = &stored.escalation.id;
        match self.studio.fetch_execution(sid).await {
            Ok(exec) if exec.is_active() && overdue_ms < MAX_CALL_OVERRUN_MS => {
                report.still_active += 1;
                Ok(())
            }
            Ok(exec) => {
                if exec.is_active() {
                    tracing::warn!(escalation_id = %id, execution = %sid, "sweeper: ending an execution that overran");
                    self.studio.end_execution(sid).await?;
                    report.ended += 1;
                } else {
                    tracing::warn!(escalation_id = %id, execution = %sid, "sweeper: flow-end event never applied; finishing from Twilio");
                    report.redriven += 1;
                }
                self.on_execution_ended_at(sid, now).await.map(|_| ())
            }
            Err(TwilioError::Api { status: 404, .. }) => {
                // Twilio no longer knows the execution: count it as a failed call and move on.
                let attempt = stored.escalation.current.as_ref().map_or(0, |a| a.number);
                let mut next = stored.escalation.clone();
                let Ok(t) = next.on_call_ended(attempt, Some(sid), CallOutcome::Failed, now) else {
                    return Ok(());
                };
                self.queue.enqueue(std::slice::from_ref(&t.update)).await?;
                let version = self.store.save(&next, stored.version).await?;
                observe(&next, &t);
                report.redriven += 1;
                if t.next == Next::Dial {
                    self.dial_at(
                        Stored {
                            escalation: next,
                            version,
                        },
                        now,
                    )
                    .await?;
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}
