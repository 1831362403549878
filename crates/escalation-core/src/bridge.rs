//! The conference bridge an agent opens after accepting (key 4): who is in it, whom it
//! calls, and what its status callbacks add up to. Pure: the inbound line's webhooks feed
//! it, the notes say it (`notes::bridge_opened`, `notes::bridge_ended`).

use crate::model::{EscalationId, Person};

/// What the bridge needs to know about one accepted call of an escalation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeParties {
    /// Who accepted (and opens the bridge).
    pub acceptor: String,
    /// The acceptor's language, when the roster names one.
    pub language: Option<String>,
    /// The next person of the lineup after the acceptor; `None`: nobody is left.
    pub callee: Option<Person>,
}

/// The Twilio conference of one escalation's bridge, named after the incident.
pub fn conference_name(incident_number: &str, escalation_id: &EscalationId) -> String {
    let number: String = incident_number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(40)
        .collect();
    format!("{number}-{escalation_id}")
}

/// One conference status callback, as the bridge keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeEvent {
    /// Twilio's `SequenceNumber`: the same callback delivered again has the same one.
    pub seq: u64,
    pub kind: BridgeEventKind,
    /// The participant's call (`CallSid`); empty for conference-start/-end.
    pub call_sid: String,
    /// When it happened (Twilio's `Timestamp`), milliseconds since the epoch.
    pub at_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BridgeEventKind {
    Start,
    End,
    Join,
    Leave,
}

impl BridgeEventKind {
    /// Twilio's `StatusCallbackEvent`; `None` for the events the bridge does not keep.
    pub fn from_twilio(event: &str) -> Option<Self> {
        match event {
            "conference-start" => Some(Self::Start),
            "conference-end" => Some(Self::End),
            "participant-join" => Some(Self::Join),
            "participant-leave" => Some(Self::Leave),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::End => "end",
            Self::Join => "join",
            Self::Leave => "leave",
        }
    }

    pub fn from_label(label: &str) -> Option<Self> {
        [Self::Start, Self::End, Self::Join, Self::Leave]
            .into_iter()
            .find(|k| k.label() == label)
    }
}

/// Who was on the bridge and for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeSummary {
    /// From the conference's start to its end (0 when either is missing).
    pub duration_ms: u64,
    /// Each participant (by name, else "another caller") and their time on the bridge, in
    /// the order they joined.
    pub participants: Vec<(String, u64)>,
}

/// Sum up a bridge's callbacks. `names` maps call SIDs to people. Repeated callbacks (same
/// sequence number) count once; a participant who never left is counted to the end.
pub fn summarize(events: &[BridgeEvent], names: &[(String, String)]) -> BridgeSummary {
    let mut events: Vec<&BridgeEvent> = events.iter().collect();
    events.sort_by_key(|e| (e.seq, e.at_ms));
    events.dedup_by_key(|e| e.seq);
    let at = |kind| events.iter().find(|e| e.kind == kind).map(|e| e.at_ms);
    let end = at(BridgeEventKind::End)
        .or_else(|| events.iter().map(|e| e.at_ms).max())
        .unwrap_or(0);
    let duration_ms = match (at(BridgeEventKind::Start), at(BridgeEventKind::End)) {
        (Some(s), Some(e)) => e.saturating_sub(s),
        _ => 0,
    };
    let mut participants: Vec<(String, u64)> = Vec::new();
    let mut sids: Vec<&str> = Vec::new();
    let mut open: Vec<(usize, u64)> = Vec::new();
    for e in &events {
        let index = match sids.iter().position(|s| *s == e.call_sid) {
            Some(i) => i,
            None if e.kind == BridgeEventKind::Join => {
                sids.push(&e.call_sid);
                let name = names
                    .iter()
                    .find(|(sid, _)| *sid == e.call_sid)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_else(|| "another caller".to_owned());
                participants.push((name, 0));
                sids.len() - 1
            }
            None => continue,
        };
        match e.kind {
            BridgeEventKind::Join => open.push((index, e.at_ms)),
            BridgeEventKind::Leave => {
                if let Some(pos) = open.iter().position(|(i, _)| *i == index) {
                    let (_, since) = open.remove(pos);
                    participants[index].1 += e.at_ms.saturating_sub(since);
                }
            }
            _ => {}
        }
    }
    for (index, since) in open {
        participants[index].1 += end.saturating_sub(since);
    }
    BridgeSummary {
        duration_ms,
        participants,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64, kind: BridgeEventKind, sid: &str, at_ms: u64) -> BridgeEvent {
        BridgeEvent {
            seq,
            kind,
            call_sid: sid.into(),
            at_ms,
        }
    }

    #[test]
    fn sums_each_participant_and_the_bridge_once_however_often_callbacks_come() {
        use BridgeEventKind::*;
        let events = [
            ev(1, Join, "CAa", 1_000),
            ev(2, Start, "", 1_000),
            ev(3, Join, "CAb", 21_000),
            ev(3, Join, "CAb", 21_000),
            ev(4, Leave, "CAb", 81_000),
            ev(5, Leave, "CAa", 96_000),
            ev(6, End, "", 96_000),
            ev(6, End, "", 96_000),
        ];
        let names = [("CAa".into(), "Alice".into()), ("CAb".into(), "Bob".into())];
        let s = summarize(&events, &names);
        assert_eq!(s.duration_ms, 95_000);
        assert_eq!(
            s.participants,
            [("Alice".into(), 95_000), ("Bob".into(), 60_000)]
        );
    }

    #[test]
    fn a_participant_without_a_leave_counts_to_the_end_and_strangers_are_unnamed() {
        use BridgeEventKind::*;
        let s = summarize(
            &[
                ev(1, Start, "", 0),
                ev(2, Join, "CAx", 0),
                ev(3, End, "", 30_000),
            ],
            &[],
        );
        assert_eq!(s.participants, [("another caller".into(), 30_000)]);
        assert_eq!(
            conference_name("INC 0010042", &EscalationId::new("ESC-1")),
            "INC0010042-ESC-1"
        );
    }
}
