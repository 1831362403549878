//! The local stack as the scenario player drives it.

use super::{INVOKE_TIMEOUT, LocalStack, SWEEPER, VOICE_INBOUND};
use crate::fixture::AUTH_TOKEN;
use crate::inbound_support::Reply;
use crate::kit;
use crate::play::Driver;
use crate::scenario::ScenarioIncident;
use escalation_core::escalation::Escalation;
use escalation_core::model::SysId;
use escalation_core::ports::EscalationRepo;
use escalation_fakes::servicenow::ServiceNowHandle;
use escalation_fakes::twilio::TwilioHandle;
use serde_json::{Value, json};

impl Driver for LocalStack {
    fn mode(&self) -> &'static str {
        "real Lambda binaries under cargo lambda watch"
    }

    fn sn(&self) -> &ServiceNowHandle {
        &self.sn
    }

    fn twilio(&self) -> &TwilioHandle {
        &self.twilio
    }

    async fn trigger(&self, sys_id: &str, inc: &ScenarioIncident) -> Result<(u16, Value), String> {
        let body = json!({
            "sys_id": sys_id, "number": inc.number, "short_description": inc.short_description,
            "priority": inc.priority, "assignment_group": null,
            "assignment_group_name": inc.group
        });
        self.post_trigger(&body.to_string()).await
    }

    async fn send_to_trigger(&self, body: &str) -> Result<(u16, Value), String> {
        self.post_trigger(body).await
    }

    async fn pump(&self) -> Result<bool, String> {
        let d = self.pump_dials().await?;
        let k = self.pump_kinesis().await?;
        let s = self.pump_sqs().await?;
        Ok(d || k || s)
    }

    async fn sweep(&self) -> Result<(), String> {
        self.invoke(SWEEPER, &kit::scheduled_event())
            .await
            .map(|_| ())
    }

    async fn escalation(&self, sys_id: &str) -> Result<Option<Escalation>, String> {
        let sys_id = SysId::parse(sys_id).map_err(|e| e.to_string())?;
        self.store
            .load(&sys_id)
            .await
            .map(|s| s.map(|s| s.escalation))
            .map_err(|e| e.to_string())
    }

    async fn webhook(&self, url: &str, params: &[(&str, &str)]) -> Result<Reply, String> {
        let url = if url.starts_with("http") {
            url.to_string()
        } else {
            format!(
                "{}/{}",
                self.url_of(VOICE_INBOUND).trim_end_matches('/'),
                url.trim_start_matches('/')
            )
        };
        let call = kit::twilio_webhook(AUTH_TOKEN, &url, params)
            .send(&self.http)
            .timeout(INVOKE_TIMEOUT)
            .send();
        let resp = self.watched(VOICE_INBOUND, call).await?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = resp.text().await.unwrap_or_default();
        Ok(Reply {
            status,
            content_type,
            body,
        })
    }
}
