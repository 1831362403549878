//! The SMS path in memory: a messenger that records every text (and can be told to fail),
//! and the offers keyed by phone number.

use crate::messaging::{MessagingError, MessagingErrorKind, Messenger, SmsOffer, SmsOffers};
use crate::model::{E164, EscalationId};
use crate::ports::RepoError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// One text sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentText {
    pub to: String,
    pub body: String,
}

/// Records texts; [`RecordingMessenger::fail_with`] makes the next sends fail.
#[derive(Debug, Default)]
pub struct RecordingMessenger {
    sent: Mutex<Vec<SentText>>,
    fail: Mutex<Option<MessagingErrorKind>>,
}

impl RecordingMessenger {
    pub fn sent(&self) -> Vec<SentText> {
        self.sent.lock().unwrap().clone()
    }
    pub fn fail_with(&self, kind: Option<MessagingErrorKind>) {
        *self.fail.lock().unwrap() = kind;
    }
}

#[async_trait]
impl Messenger for RecordingMessenger {
    async fn send(&self, to: &E164, body: &str) -> Result<String, MessagingError> {
        if let Some(kind) = *self.fail.lock().unwrap() {
            return Err(MessagingError {
                kind,
                message: "told to fail".into(),
            });
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push(SentText {
            to: to.as_str().to_owned(),
            body: body.to_owned(),
        });
        Ok(format!("SM{:032x}", sent.len()))
    }
}

/// Open offers by phone number.
#[derive(Debug, Default)]
pub struct MemoryOffers(Mutex<HashMap<String, SmsOffer>>);

impl MemoryOffers {
    pub fn all(&self) -> Vec<SmsOffer> {
        self.0.lock().unwrap().values().cloned().collect()
    }
}

#[async_trait]
impl SmsOffers for MemoryOffers {
    async fn open(&self, offer: &SmsOffer, now_ms: u64) -> Result<bool, RepoError> {
        let mut all = self.0.lock().unwrap();
        let key = offer.phone.as_str().to_owned();
        if all
            .get(&key)
            .is_some_and(|o| o.escalation_id == offer.escalation_id && o.expires_at > now_ms)
        {
            return Ok(false);
        }
        all.insert(key, offer.clone());
        Ok(true)
    }
    async fn find(&self, phone: &E164, now_ms: u64) -> Result<Option<SmsOffer>, RepoError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(phone.as_str())
            .filter(|o| o.expires_at > now_ms)
            .cloned())
    }
    async fn close(&self, phone: &E164, escalation_id: &EscalationId) -> Result<(), RepoError> {
        let mut all = self.0.lock().unwrap();
        if all
            .get(phone.as_str())
            .is_some_and(|o| &o.escalation_id == escalation_id)
        {
            all.remove(phone.as_str());
        }
        Ok(())
    }
}
