//! Building each function from its configuration: the clients it needs, once per
//! container.

use crate::config::{CanaryConfig, ConfigError, EngineConfig, UpdaterConfig};
use crate::handlers::{
    CallDecision, Canary, EscalationDialer, FlowEvents, Sweeper, Trigger, Updater,
};
use escalation_adapters::aws::{
    DynamoBundles, DynamoRate, DynamoRepo, DynamoSmsOffers, PolicyStore, SqsDialQueue, SqsOutbox,
    StoredPolicies,
};
use escalation_adapters::capability::DecisionKey;
use escalation_adapters::clock::SystemClock;
use escalation_adapters::emf::EmfMetrics;
use escalation_adapters::retry::RetryPolicy;
use escalation_adapters::secrets::{Field, Secrets};
use escalation_adapters::servicenow::{Credentials, OnCallSource, SnClient};
use escalation_adapters::signing::BridgeKey;
use escalation_adapters::twilio::{
    AccountClient, CallsClient, DecisionLink, MessagesClient, StudioClient, StudioDialer,
};
use escalation_core::bundle::BundleSettings;
use escalation_core::canary::{CanaryFilteredMetrics, CanaryFilteredOutbox};
use escalation_core::lineup_source::{FixedPolicies, FixedRoster, Sources};
use escalation_core::model::{Person, Roster};
use escalation_core::ports::{Clock, LineupSource, Metrics};
use escalation_core::usecase::{
    BundleParts, Engine, Ports, ReplayGuard, Settings, SmsParts, UpdateApplier,
};
use std::sync::Arc;

/// What every function starts from: the AWS SDK configuration (honours
/// `AWS_ENDPOINT_URL`), the secret, one HTTP client and the retry policy.
#[derive(Clone)]
pub struct Aws {
    pub sdk: aws_config::SdkConfig,
    pub secrets: Secrets,
    pub http: reqwest::Client,
    pub retry: RetryPolicy,
}

impl Aws {
    pub async fn load(
        sdk: aws_config::SdkConfig,
        secrets_arn: &str,
        retry: RetryPolicy,
    ) -> Result<Aws, ConfigError> {
        let secrets =
            Secrets::fetch(&aws_sdk_secretsmanager::Client::new(&sdk), secrets_arn).await?;
        let http = escalation_adapters::http::client().map_err(|e| ConfigError::Invalid {
            name: "HTTP client",
            problem: e,
        })?;
        Ok(Aws {
            sdk,
            secrets,
            http,
            retry,
        })
    }

    pub fn repo(&self, table: &str) -> Arc<DynamoRepo> {
        Arc::new(DynamoRepo::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            table,
        ))
    }

    /// The ServiceNow client, with the credentials from the secret: OAuth client
    /// credentials when the secret has both, else the integration user's password.
    pub fn servicenow(&self, instance_url: &str) -> Result<SnClient, ConfigError> {
        Ok(SnClient::new(
            self.http.clone(),
            instance_url,
            Credentials::from_secrets(&self.secrets)?,
            self.retry.clone(),
        ))
    }
}

/// The shared line of Twilio create slots (the item `rate#twilio-creates`).
pub const CREATE_RATE_NAME: &str = "twilio-creates";

/// The engine's adapters for functions that move escalations.
#[derive(Clone)]
pub struct EngineParts {
    pub repo: Arc<DynamoRepo>,
    pub outbox: Arc<SqsOutbox>,
    pub dialer: Arc<StudioDialer>,
    /// Who is called, tried in order: ServiceNow On-Call (when configured), the stored
    /// policies, then the `ROSTER_PATH` file.
    pub lineups: Arc<dyn LineupSource>,
    /// Everyone the policy file names (the inbound line identifies callers by it).
    pub roster: Roster,
    pub settings: Settings,
    /// The engine's clock (the system's; tests may move it).
    pub clock: Arc<dyn Clock>,
    /// Texts after unanswered calls (Twilio Messages, offers in the table); `None` when
    /// the secret has no Twilio account SID. Whom to text is the policy step's `sms`.
    pub sms: Option<SmsParts>,
    /// Where the engine's metrics go (CloudWatch EMF; tests count them).
    pub metrics: Arc<dyn Metrics>,
    /// One call for the incidents waiting for one person (`BUNDLE_WINDOW_SECS`); `None`:
    /// off, or this function has no dial queue (its calls go out alone).
    pub bundles: Option<BundleParts>,
}

impl EngineParts {
    pub fn build(config: &EngineConfig, aws: &Aws) -> Result<EngineParts, ConfigError> {
        EngineParts::build_counting(config, aws, Arc::new(EmfMetrics))
    }

    /// [`EngineParts::build`], the engine's metrics and lineup fallbacks counted on
    /// `metrics`.
    pub fn build_counting(
        config: &EngineConfig,
        aws: &Aws,
        metrics: Arc<dyn Metrics>,
    ) -> Result<EngineParts, ConfigError> {
        let file = config
            .roster_path
            .as_deref()
            .map(|p| {
                escalation_adapters::roster_file::load(std::path::Path::new(p), config.local_stack)
            })
            .transpose()
            .map_err(|e| ConfigError::Other(e.to_string()))?;
        let stored = StoredPolicies::new(
            PolicyStore::new(aws_sdk_dynamodb::Client::new(&aws.sdk), &config.table),
            config.local_stack,
        )
        .with_ttl(std::time::Duration::from_secs(
            config.policy_cache_secs.into(),
        ));
        let mut sources: Vec<Arc<dyn LineupSource>> = Vec::new();
        if let Some(oncall) = &config.oncall {
            sources.push(Arc::new(OnCallSource::new(
                aws.servicenow(&oncall.instance_url)?,
                &oncall.path,
                std::time::Duration::from_millis(oncall.budget_ms.into()),
            )));
        }
        sources.push(Arc::new(stored));
        let mut roster = Roster {
            agents: Vec::new(),
            escalation: Vec::new(),
            source: None,
        };
        if let Some(file) = file {
            roster = file.roster;
            sources.push(Arc::new(FixedPolicies {
                name: format!("roster file {}", file.path),
                set: file.set,
            }));
        }
        let studio = StudioClient::new(
            aws.http.clone(),
            &config.studio_base_url,
            &config.flow_sid,
            aws.secrets.require(Field::TwilioApiKeySid)?,
            aws.secrets.require(Field::TwilioApiKeySecret)?,
            aws.retry.clone(),
        )
        .with_create_limit(Arc::new(DynamoRate::new(
            aws_sdk_dynamodb::Client::new(&aws.sdk),
            &config.table,
            CREATE_RATE_NAME,
            config.twilio_creates_per_sec,
        )));
        let mut dialer = StudioDialer::new(studio, config.from_number.clone());
        if let Some(url) = &config.decision_url {
            dialer = dialer.with_decisions(DecisionLink {
                url: url.clone(),
                key: DecisionKey::derive(&aws.secrets.signing_key()?),
            });
        }
        let account = match aws.secrets.require(Field::TwilioAccountSid) {
            Ok(account) => Some(AccountClient::new(
                aws.http.clone(),
                &config.api_base_url,
                account,
                (
                    aws.secrets.require(Field::TwilioApiKeySid)?,
                    aws.secrets.require(Field::TwilioApiKeySecret)?,
                ),
                aws.retry.clone(),
            )),
            Err(e) => {
                tracing::warn!(error = %e, "no texts after unanswered calls, and a cancelled call is ended through Studio only: the secret has no Twilio account SID");
                None
            }
        };
        if let Some(account) = &account {
            dialer = dialer.with_calls(CallsClient::new(account.clone()));
        }
        let sms = account.map(|account| SmsParts {
            messenger: Arc::new(MessagesClient::new(account, config.from_number.clone())),
            offers: Arc::new(DynamoSmsOffers::new(
                aws_sdk_dynamodb::Client::new(&aws.sdk),
                &config.table,
            )),
        });
        let bundles = match (
            BundleSettings::window_secs(config.bundle_window_secs),
            &config.dial_queue_url,
        ) {
            (Some(settings), Some(url)) => Some(BundleParts {
                store: Arc::new(DynamoBundles::new(
                    aws_sdk_dynamodb::Client::new(&aws.sdk),
                    &config.table,
                )),
                queue: Arc::new(SqsDialQueue::new(aws_sdk_sqs::Client::new(&aws.sdk), url)),
                settings,
            }),
            (Some(_), None) => {
                tracing::info!(
                    "BUNDLE_WINDOW_SECS is set but this function has no DIAL_QUEUE_URL: its calls go out alone"
                );
                None
            }
            (None, _) => None,
        };
        Ok(EngineParts {
            metrics: metrics.clone(),
            sms,
            bundles,
            repo: aws.repo(&config.table),
            outbox: Arc::new(SqsOutbox::new(
                aws_sdk_sqs::Client::new(&aws.sdk),
                &config.queue_url,
            )),
            dialer: Arc::new(match &config.bridge_url {
                Some(url) => {
                    dialer.with_bridge(url, BridgeKey::derive(&aws.secrets.signing_key()?))
                }
                None => dialer,
            }),
            lineups: Arc::new(Sources { sources, metrics }),
            roster,
            settings: config.settings.clone(),
            clock: Arc::new(SystemClock),
        })
    }

    pub fn ports(&self) -> Ports {
        Ports {
            repo: self.repo.clone(),
            marks: self.repo.clone(),
            // The canary's marker incident is never written to nor counted as a page.
            outbox: Arc::new(CanaryFilteredOutbox(self.outbox.clone())),
            dialer: self.dialer.clone(),
            lineups: self.lineups.clone(),
            metrics: Arc::new(CanaryFilteredMetrics(self.metrics.clone())),
            clock: self.clock.clone(),
        }
    }

    pub fn engine(&self) -> Engine {
        let mut engine = Engine::new(self.ports(), self.settings.clone());
        if let Some(sms) = &self.sms {
            engine = engine.with_sms(sms.clone());
        }
        if let Some(bundles) = &self.bundles {
            engine = engine.with_bundles(bundles.clone());
        }
        engine
    }

    /// The trigger: its engine hands first calls to the dial queue at `dial_queue_url`.
    pub fn trigger(&self, aws: &Aws, dial_queue_url: &str) -> Result<Trigger, ConfigError> {
        let dials = SqsDialQueue::new(aws_sdk_sqs::Client::new(&aws.sdk), dial_queue_url);
        Ok(Trigger {
            engine: self.engine().with_dial_queue(Arc::new(dials)),
            key: aws.secrets.signing_key()?,
            replay: ReplayGuard::new(
                self.repo.clone(),
                crate::handlers::trigger::REPLAY_MARK_TTL_SECS,
            ),
            metrics: Arc::new(EmfMetrics),
            clock: Arc::new(SystemClock),
        })
    }

    /// call-decision: an engine whose next call (after a pass) goes to the dial queue, so
    /// the answer the flow reads aloud never waits for a call to be placed.
    pub fn call_decision(
        &self,
        aws: &Aws,
        dial_queue_url: &str,
    ) -> Result<CallDecision, ConfigError> {
        let dials = SqsDialQueue::new(aws_sdk_sqs::Client::new(&aws.sdk), dial_queue_url);
        Ok(CallDecision {
            engine: self.engine().with_dial_queue(Arc::new(dials)),
            key: DecisionKey::derive(&aws.secrets.signing_key()?),
        })
    }

    pub fn flow_events(&self, flow_sid: &str, concurrency: u32) -> FlowEvents {
        FlowEvents {
            engine: self.engine(),
            flow_sid: flow_sid.to_string(),
            concurrency: concurrency as usize,
            metrics: Arc::new(EmfMetrics),
        }
    }

    pub fn dialer(&self) -> EscalationDialer {
        EscalationDialer {
            engine: self.engine(),
        }
    }

    /// The canary: an engine whose lineup is the test number alone (no redials, one round,
    /// no fallback) and whose first call goes to the dial queue, as the trigger's does.
    pub fn canary(&self, aws: &Aws, dial_queue_url: &str, config: &CanaryConfig) -> Canary {
        let person = Person {
            name: "Canary".into(),
            phone: config.number.clone(),
            role: None,
            sn_user: None,
            language: None,
            ring_timeout_secs: None,
            redials: Some(0),
            escalation_step: false,
            sms_when_unanswered: false,
            ring_step: None,
        };
        let roster = Roster {
            agents: vec![person],
            escalation: Vec::new(),
            source: Some("the canary".into()),
        };
        let mut settings = self.settings.clone();
        settings.policy.max_redials = 0;
        settings.policy.rounds = 1;
        settings.policy.fallback_group = None;
        settings.policy.max_busy_retries = 0;
        let ports = Ports {
            lineups: Arc::new(FixedRoster(roster)),
            ..self.ports()
        };
        let dials = SqsDialQueue::new(aws_sdk_sqs::Client::new(&aws.sdk), dial_queue_url);
        Canary {
            engine: Engine::new(ports, settings).with_dial_queue(Arc::new(dials)),
            metrics: Arc::new(EmfMetrics),
            clock: self.clock.clone(),
            timeout: std::time::Duration::from_secs(config.timeout_secs.into()),
            poll: std::time::Duration::from_secs(2),
        }
    }

    pub fn sweeper(&self) -> Sweeper {
        Sweeper {
            engine: self.engine(),
        }
    }
}

/// incident-updater: the marks and ServiceNow, nothing else.
pub fn updater(config: &UpdaterConfig, aws: &Aws) -> Result<Updater, ConfigError> {
    Ok(Updater {
        applier: UpdateApplier::new(
            aws.repo(&config.table),
            Arc::new(aws.servicenow(&config.servicenow_url)?),
            Arc::new(EmfMetrics),
        ),
    })
}
