//! The inbound line against escalation-core's in-memory adapters: no HTTP, no moto. A test
//! posts a webhook (already signature-checked, as the Lambda hands it over) and follows the
//! TwiML it gets back (the `action` URLs) the way Twilio would.

#![allow(dead_code)]

use async_trait::async_trait;
use escalation_core::model::{E164, Roster, SysId};
use escalation_core::ports::{
    DirectoryUser, IncidentDirectory, IncidentFields, IncidentRecord, ServiceNowError,
};
use escalation_core::testing::{Memory, MemoryServiceNow};
use escalation_core::update::IncidentUpdate;
use escalation_core::usecase::Settings;
use escalation_inbound::twiml::{Gather, Prompt, Verb, VoiceResponse};
use escalation_inbound::{CallState, Inbound, InboundConfig, Webhook};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub const LINE: &str = "+15550109999";
pub const ALICE: &str = "+15550100001";
pub const BOB: &str = "+15550100002";
pub const CAROL: &str = "+15550100003";
pub const STRANGER: &str = "+15550100042";
pub const BASE: &str = "https://inbound.example";
pub const DB_GROUP: &str = "0123456789abcdef0123456789abcdef";

pub fn roster() -> Roster {
    Roster::from_json(&format!(
        r#"{{"agent_list":[
              {{"name":"Alice Agent","phone_no":"{ALICE}","sn_user":"alice.agent"}},
              {{"name":"Bob Agent","phone_no":"{BOB}","sn_user":"bob.agent"}}],
            "escalation_list":[{{"name":"Carol Manager","phone_no":"{CAROL}"}}]}}"#
    ))
    .unwrap()
}

/// One line with two teams: Database (impact 1, urgency 1: priority 1) and Network
/// (impact 3, urgency 3: priority 5).
pub fn config() -> serde_json::Value {
    serde_json::json!({
        "transcription_wait_secs": 1,
        "numbers": [{
            "number": LINE,
            "name": "IT escalation line",
            "callers": {"default_country_code": "1"},
            "live": {"ring_timeout_secs": 15, "max_people": 2, "whisper_timeout_secs": 6},
            "groups": [
                {"digit": 1, "name": "Database", "assignment_group": DB_GROUP,
                 "people": ["Bob Agent", "Carol Manager"],
                 "incident": {"impact": 1, "urgency": 1, "fields": {"category": "database"}}},
                {"digit": 2, "name": "Network", "incident": {"impact": 3, "urgency": 3}}
            ]
        }]
    })
}

/// A Twilio SID: two letters and 32 hex digits derived from `n`.
pub fn sid(prefix: &str, n: u64) -> String {
    format!("{prefix}{n:032x}")
}

pub fn recording_url(rec: &str) -> String {
    format!("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{rec}")
}

pub fn user_sys_id(user_name: &str) -> SysId {
    let n = match user_name {
        "alice.agent" => 0xa1,
        "bob.agent" => 0xb0,
        _ => 0xff,
    };
    SysId::parse(&format!("{n:032x}")).unwrap()
}

/// ServiceNow in memory, with its priority lookup (priority = impact + urgency - 1) and
/// the fields of every incident created.
pub struct Directory {
    pub sn: Arc<MemoryServiceNow>,
    pub created: Mutex<Vec<IncidentFields>>,
    /// How long ServiceNow takes to create an incident.
    pub create_takes: Mutex<std::time::Duration>,
}

#[async_trait]
impl IncidentDirectory for Directory {
    async fn resolve_user(&self, user: &str) -> Result<Option<SysId>, ServiceNowError> {
        IncidentDirectory::resolve_user(self.sn.as_ref(), user).await
    }

    async fn find_users_by_phone(
        &self,
        number: &E164,
        default_country_code: Option<&str>,
    ) -> Result<Vec<DirectoryUser>, ServiceNowError> {
        self.sn
            .find_users_by_phone(number, default_country_code)
            .await
    }

    async fn find_incident_by_correlation(
        &self,
        correlation_id: &str,
    ) -> Result<Option<IncidentRecord>, ServiceNowError> {
        self.sn.find_incident_by_correlation(correlation_id).await
    }

    async fn create_incident(
        &self,
        fields: &IncidentFields,
    ) -> Result<IncidentRecord, ServiceNowError> {
        let takes = *self.create_takes.lock().unwrap();
        tokio::time::sleep(takes).await;
        self.created.lock().unwrap().push(fields.clone());
        let level = |name: &str| {
            fields
                .get(name)
                .and_then(|v| v.as_str())
                .and_then(|v| v.parse::<u8>().ok())
                .unwrap_or(3)
        };
        let mut with_priority = fields.clone();
        with_priority.insert(
            "priority".into(),
            (level("impact") + level("urgency") - 1).to_string().into(),
        );
        self.sn.create_incident(&with_priority).await
    }
}

pub struct Line {
    pub mem: Memory,
    pub directory: Arc<Directory>,
    pub inbound: Inbound,
}

impl Line {
    pub fn new() -> Line {
        Line::with_config(config())
    }

    pub fn with_config(config: serde_json::Value) -> Line {
        let roster = roster();
        let mem = Memory::new(roster.clone());
        mem.servicenow.add_user(
            &user_sys_id("alice.agent"),
            "alice.agent",
            "Alice Agent",
            &E164::parse(ALICE).unwrap(),
        );
        mem.servicenow.add_user(
            &user_sys_id("bob.agent"),
            "bob.agent",
            "Bob Agent",
            &E164::parse(BOB).unwrap(),
        );
        let directory = Arc::new(Directory {
            sn: mem.servicenow.clone(),
            created: Mutex::default(),
            create_takes: Mutex::default(),
        });
        let inbound = Inbound {
            engine: mem.engine(Settings::default()),
            directory: directory.clone(),
            marks: mem.marks.clone(),
            outbox: mem.outbox.clone(),
            clock: mem.clock.clone(),
            config: InboundConfig::from_json(&config.to_string(), &roster).unwrap(),
            roster,
            auth_token: "test-token".into(),
            public_base_url: None,
            bridge: None,
        };
        Line {
            mem,
            directory,
            inbound,
        }
    }

    /// A voice webhook to `url` (a path, or an action URL we handed out) with `params`.
    pub async fn post(&self, url: &str, params: &[(&str, &str)]) -> VoiceResponse {
        let (step, hook) = webhook(url, params);
        self.inbound
            .voice(&step, &hook)
            .await
            .unwrap_or_else(|| panic!("no such step: {step}"))
    }

    /// The first webhook of call `call_sid` from `from`.
    pub async fn ring(&self, call_sid: &str, from: &str) -> VoiceResponse {
        self.post("/voice", &call(call_sid, from, &[])).await
    }

    /// Follow `reply`'s action on the same call with `extra` parameters.
    pub async fn answer(
        &self,
        reply: &VoiceResponse,
        call_sid: &str,
        from: &str,
        extra: &[(&str, &str)],
    ) -> VoiceResponse {
        self.post(&action(reply), &call(call_sid, from, extra))
            .await
    }

    /// The caller recorded `secs` seconds as `rec`, ended by `key` (`#`) or not: Twilio
    /// posts the recording to `reply`'s action.
    pub async fn recorded(
        &self,
        reply: &VoiceResponse,
        call_sid: &str,
        from: &str,
        rec: &str,
        secs: &str,
        key: Option<&str>,
    ) -> VoiceResponse {
        let url = recording_url(rec);
        let mut extra = vec![
            ("RecordingSid", rec),
            ("RecordingUrl", url.as_str()),
            ("RecordingDuration", secs),
        ];
        extra.extend(key.map(|key| ("Digits", key)));
        self.answer(reply, call_sid, from, &extra).await
    }

    pub async fn sms(&self, message: &str, from: &str, body: &str) -> String {
        let params = [
            ("MessageSid", message),
            ("From", from),
            ("To", LINE),
            ("Body", body),
        ];
        let (_, hook) = webhook("/sms", &params);
        let reply = self.inbound.sms(&hook).await;
        assert!(reply.messages.len() == 1, "{reply:?}");
        reply.messages[0].clone()
    }

    /// The fields of every incident created.
    pub fn created(&self) -> Vec<IncidentFields> {
        self.directory.created.lock().unwrap().clone()
    }

    /// The incident created for a call or message.
    pub async fn incident(&self, correlation: &str) -> Option<IncidentRecord> {
        self.directory
            .find_incident_by_correlation(correlation)
            .await
            .unwrap()
    }

    /// Whether the engine holds an escalation of the incident `sys_id`.
    pub async fn escalated(&self, sys_id: &SysId) -> bool {
        self.inbound.engine.find(sys_id).await.unwrap().is_some()
    }

    /// The inbound line's queued notes (every copy, in order).
    pub fn inbound_notes(&self) -> Vec<IncidentUpdate> {
        self.mem
            .outbox
            .all()
            .into_iter()
            .filter(|u| u.key.starts_with("inbound:"))
            .collect()
    }

    /// Everything queued goes through the updater, copies included (as redeliveries would):
    /// the work notes ServiceNow ends up with on `sys_id`.
    pub async fn written_notes(&self, sys_id: &SysId) -> Vec<String> {
        let applier = self.mem.applier();
        for update in self.mem.outbox.drain() {
            applier.apply(&update, true).await.unwrap();
        }
        self.mem.servicenow.notes(sys_id)
    }
}

/// The step and the webhook Twilio sends to `url` with form `params`.
pub fn webhook(url: &str, params: &[(&str, &str)]) -> (String, Webhook) {
    let path = url.strip_prefix(BASE).unwrap_or(url);
    let (step, query) = path.split_once('?').unwrap_or((path, ""));
    let params: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let hook = Webhook {
        base: BASE.into(),
        state: CallState::from_query(query).unwrap(),
        params,
    };
    (step.to_string(), hook)
}

/// The parameters of a webhook of call `call` from `from` to the line, plus `extra`.
pub fn call<'a>(
    call: &'a str,
    from: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![("CallSid", call), ("From", from), ("To", LINE)];
    p.extend_from_slice(extra);
    p
}

fn gather(r: &VoiceResponse) -> Option<&Gather> {
    r.verbs.iter().find_map(|v| match v {
        Verb::Gather(g) => Some(g),
        _ => None,
    })
}

/// Where the caller's answer goes: the `<Gather>`, `<Record>` or `<Dial>` action.
pub fn action(r: &VoiceResponse) -> String {
    r.verbs
        .iter()
        .find_map(|v| match v {
            Verb::Gather(g) => Some(g.action.clone()),
            Verb::Record(rec) => Some(rec.action.clone()),
            Verb::Dial(d) => Some(d.action.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no action in {}", r.to_xml()))
}

/// Everything said, in order, inside gathers too.
pub fn said(r: &VoiceResponse) -> String {
    let mut out = Vec::new();
    let mut push = |p: &Prompt| {
        if let Prompt::Say { text, .. } = p {
            out.push(text.clone());
        }
    };
    for v in &r.verbs {
        match v {
            Verb::Prompt(p) => push(p),
            Verb::Gather(g) => g.prompts.iter().for_each(&mut push),
            _ => {}
        }
    }
    out.join(" ")
}

pub fn hangs_up(r: &VoiceResponse) -> bool {
    r.verbs.iter().any(|v| matches!(v, Verb::Hangup))
}

pub fn has_gather(r: &VoiceResponse) -> bool {
    gather(r).is_some()
}

/// Ring, choose "report" and team `team`, record `secs` seconds as `rec`: the
/// confirmation prompt, and the transcription callback handed out with the `<Record>`.
pub async fn record_report(
    t: &Line,
    call_sid: &str,
    from: &str,
    team: &str,
    rec: &str,
    secs: &str,
) -> (VoiceResponse, String) {
    let menu = t.ring(call_sid, from).await;
    let teams = t.answer(&menu, call_sid, from, &[("Digits", "1")]).await;
    let record = t.answer(&teams, call_sid, from, &[("Digits", team)]).await;
    let transcribe = record
        .verbs
        .iter()
        .find_map(|v| match v {
            Verb::Record(r) => r.transcribe_callback.clone(),
            _ => None,
        })
        .expect("a <Record> with a transcription callback");
    let confirm = t
        .recorded(&record, call_sid, from, rec, secs, Some("#"))
        .await;
    (confirm, transcribe)
}
