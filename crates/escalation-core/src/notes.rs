//! Every word the product writes into an incident's work notes, in one place. The rules
//! decide what happened; this module says it.

use crate::bridge::BridgeSummary;
use crate::escalation::{Cancel, CancelReason};
use crate::model::{CallOutcome, ListKind, Person};
use crate::time::{format_utc, human_duration};

/// The prefix of every note of one escalation.
pub fn tag(escalation_id: &str) -> String {
    format!("[Phone escalation {escalation_id}]")
}

/// The text that identifies an update among the incident's work notes (appended by the
/// updater, searched for before a retried write).
pub fn reference(key: &str) -> String {
    format!("(ref {key})")
}

fn names(people: &[Person]) -> String {
    people
        .iter()
        .map(|p| format!("{} ({})", p.name, p.phone.masked()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first note: who will be called, in which order.
pub fn started(
    escalation_id: &str,
    priority: &str,
    group_name: Option<&str>,
    agents: &[Person],
    escalation: &[Person],
    rounds: u32,
    source: Option<&str>,
) -> String {
    format!(
        "{} Phone escalation started for priority {priority}{}. Agents: {}; then escalation list: {}{}. Press 1 accepts, 2 passes, 3 escalates.{}",
        tag(escalation_id),
        group_name.map(|g| format!(" ({g})")).unwrap_or_default(),
        names(agents),
        names(escalation),
        if rounds > 1 {
            format!(", repeated for {rounds} rounds")
        } else {
            String::new()
        },
        source
            .map(|s| format!(" Who to call: {s}."))
            .unwrap_or_default()
    )
}

/// Nobody to call: the incident's group has no policy (or its lineup is empty).
pub fn nobody_to_call(group: &str, reason: &str) -> String {
    format!(
        "[Phone escalation] Nobody was called for this incident (group {group}): {reason}. Configure an escalation policy for the group or a default one (escalation-admin policy import), then raise the priority again."
    )
}

/// What happened on one call.
pub struct CallFacts<'a> {
    pub escalation_id: &'a str,
    pub attempt: u32,
    pub list: ListKind,
    pub person: &'a Person,
    pub outcome: &'a CallOutcome,
    pub execution_sid: Option<&'a str>,
    pub duration_ms: u64,
}

/// "Attempt 2: called agent Bob (+1******0002) — pressed 2 (pass to the next agent). …"
pub fn attempt(f: &CallFacts<'_>) -> String {
    format!(
        "{} Attempt {}: {} {} {} ({}) — {}. Twilio execution {}; {}.",
        tag(f.escalation_id),
        f.attempt,
        if f.outcome.was_placed() {
            "called"
        } else {
            "could not call"
        },
        f.list.label(),
        f.person.name,
        f.person.phone.masked(),
        outcome(f.outcome),
        f.execution_sid.unwrap_or("none"),
        human_duration(f.duration_ms),
    )
}

/// The call was about several incidents at once (a bundle call): " One call about 3
/// incidents (bundle …): INC0010001, INC0010002, INC0010003; the key pressed applies to
/// each."
pub fn bundled(bundle_id: &str, incidents: &[String]) -> String {
    format!(
        " One call about {} incidents (bundle {bundle_id}): {}; the key pressed applies to each.",
        incidents.len(),
        incidents.join(", ")
    )
}

pub fn accepted(name: &str, at_ms: u64, since_start_ms: u64) -> String {
    format!(
        " ACCEPTED by {name} at {}, {} after the escalation started.",
        format_utc(at_ms),
        human_duration(since_start_ms)
    )
}

pub fn busy_retry(busy: usize, wait_secs: u32, retry: u32, max_retries: u32) -> String {
    format!(
        " {busy} of the people to call {} on other escalation calls; calling them again in {wait_secs} s (busy retry {retry} of {max_retries}).",
        if busy == 1 { "was" } else { "were" },
    )
}

pub fn exhausted(calls: usize, people: usize, rounds: u32, fallback_group: Option<&str>) -> String {
    format!(
        " NOBODY ACCEPTED: {calls} calls to {people} people over {rounds} round(s) without an answer that accepted.{} Please assign this incident by hand.",
        match fallback_group {
            Some(g) => format!(" Reassigned to fallback group {g}."),
            None => String::new(),
        }
    )
}

pub fn redial(name: &str, redial: u32) -> String {
    format!(" Calling {name} again (redial {redial}).")
}

pub fn next(list: ListKind, person: &Person) -> String {
    format!(
        " Next: {} {} ({}).",
        list.label(),
        person.name,
        person.phone.masked()
    )
}

/// A ring-all step starts: everyone named is called at once.
pub fn ring_all(people: &[&Person]) -> String {
    let names: Vec<String> = people
        .iter()
        .map(|p| format!("{} ({})", p.name, p.phone.masked()))
        .collect();
    format!(
        " Next: calling {} at once; the first to accept wins.",
        names.join(", ")
    )
}

/// A call of a ring-all step ended while others of the step still ring.
pub fn ring_waits(still: &[&str]) -> String {
    format!(" Still ringing: {}.", still.join(", "))
}

/// The calls hung up because someone of the same ring-all step accepted first.
pub fn ring_hung_up(names: &[&str]) -> String {
    format!(
        " Hung up the other calls of the step: {}.",
        names.join(", ")
    )
}

/// A text message offered the incident to a person whose call was not answered.
pub fn sms_sent(escalation_id: &str, attempt: u32, person: &Person) -> String {
    format!(
        "{} Text message sent to {} ({}) after unanswered attempt {attempt}: reply 1 accepts, 2 passes.",
        tag(escalation_id),
        person.name,
        person.phone.masked()
    )
}

/// The text message could not be sent (the calls go on as before).
pub fn sms_failed(escalation_id: &str, attempt: u32, person: &Person, why: &str) -> String {
    format!(
        "{} Text message to {} ({}) after unanswered attempt {attempt} could not be sent: {why}. The calls go on.",
        tag(escalation_id),
        person.name,
        person.phone.masked()
    )
}

/// A person accepted by replying 1 to the text about their unanswered call.
pub fn accepted_by_text(
    escalation_id: &str,
    attempt: u32,
    person: &Person,
    ringing: Option<&str>,
) -> String {
    format!(
        "{} {} ({}) replied 1 (accept) to the text message sent after attempt {attempt}.{}",
        tag(escalation_id),
        person.name,
        person.phone.masked(),
        ringing
            .map(|r| format!(" The call ringing {r} was hung up."))
            .unwrap_or_default()
    )
}

/// The note of a call that ended because its person replied to the text about their
/// previous, unanswered call (a redial skipped or taken): the call's outcome is told as
/// the reply.
pub fn decided_by_text(note: &str, outcome: &CallOutcome, attempt: u32, hung_up: bool) -> String {
    let key = if *outcome == CallOutcome::Accepted {
        "1 (accept)"
    } else {
        "2 (pass)"
    };
    let how = if hung_up {
        "; this call was hung up"
    } else {
        ", before this call was placed"
    };
    note.replacen(
        &self::outcome(outcome),
        &format!("replied {key} to the text message sent after attempt {attempt}{how}"),
        1,
    )
}

/// An accept by text after the escalation had ended with nobody accepting.
pub fn accepted_after_exhaustion(back_to_group: bool) -> String {
    format!(
        " The escalation had ended with nobody accepting; the offer of the text message was still open, so the incident is theirs{}.",
        if back_to_group {
            ", back in its own assignment group"
        } else {
            ""
        }
    )
}

/// A person passed by replying 2; the walk had already moved on.
pub fn passed_by_text(escalation_id: &str, attempt: u32, name: &str, masked: &str) -> String {
    format!(
        "{} {name} ({masked}) replied 2 (pass) to the text message sent after attempt {attempt}. The escalation goes on.",
        tag(escalation_id),
    )
}

/// The escalation was cancelled because the incident was handled in ServiceNow.
pub fn cancelled(escalation_id: &str, cancel: &Cancel, ringing: Option<&str>) -> String {
    let what = match (cancel.reason, cancel.detail.as_deref()) {
        (CancelReason::Assigned, Some(to)) => format!("assigned to {to}"),
        (CancelReason::Assigned, None) => "assigned".into(),
        (CancelReason::Resolved, _) => "resolved".into(),
        (CancelReason::Closed, _) => "closed".into(),
        (CancelReason::Canceled, _) => "canceled".into(),
        (CancelReason::PriorityLowered, Some(p)) => {
            format!("lowered to priority {p}, which does not escalate")
        }
        (CancelReason::PriorityLowered, None) => {
            "lowered to a priority that does not escalate".into()
        }
    };
    format!(
        "{} Phone escalation CANCELLED: the incident was {what}{} at {}. {}No further calls.",
        tag(escalation_id),
        cancel
            .by
            .as_deref()
            .map(|b| format!(" by {b}"))
            .unwrap_or_default(),
        format_utc(cancel.at),
        ringing
            .map(|name| format!("The ringing call to {name} was hung up. "))
            .unwrap_or_default(),
    )
}

/// Added by the updater when a person's ServiceNow user does not exist.
pub fn user_not_found(user: &str) -> String {
    format!(
        " Note: roster user {user:?} was not found in ServiceNow (sys_user), so assigned_to was not set."
    )
}

/// Added by the updater when the incident was resolved or closed before an update that
/// would have reopened or reassigned it.
pub fn not_reopened() -> String {
    " The incident is already resolved or closed in ServiceNow, so it was neither reopened nor reassigned.".into()
}

/// Added by the updater when ServiceNow accepted a write but did not keep some fields.
pub fn fields_not_kept(fields: &[&str], reference: &str) -> String {
    format!(
        "Phone escalation: ServiceNow accepted the update {reference} but did not keep {} (an ACL or a data policy of the integration user?). Please set {} by hand.",
        fields.join(", "),
        if fields.len() == 1 { "it" } else { "them" }
    )
}

/// How a call ended, in words.
pub fn outcome(outcome: &CallOutcome) -> String {
    match outcome {
        CallOutcome::Accepted => "pressed 1 (accept)".into(),
        CallOutcome::Passed => "pressed 2 (pass to the next agent)".into(),
        CallOutcome::Declined(reason) => format!(
            "pressed 2 (pass to the next agent), reason: {} (pressed {})",
            reason.label(),
            reason.key()
        ),
        CallOutcome::Escalated => "pressed 3 (escalate)".into(),
        CallOutcome::InvalidKey(k) => format!("pressed {k:?}, which is not an option"),
        CallOutcome::NoKeypress => "answered but pressed no key".into(),
        CallOutcome::NoAnswer => "no answer".into(),
        CallOutcome::Busy => "line busy".into(),
        CallOutcome::Failed => "call failed".into(),
        CallOutcome::Machine => "answered by a machine".into(),
        CallOutcome::Unreachable(why) => format!("could not be dialled ({why})"),
        CallOutcome::OnAnotherCall => "already on another escalation call".into(),
        CallOutcome::HungUp(by) => format!("hung up: {by} accepted first"),
    }
}

/// The bridge opened: who asked, who is being called in (masked number).
pub fn bridge_opened(
    escalation_id: &str,
    by: &str,
    callee: Option<&Person>,
    conference: &str,
) -> String {
    let calling = match callee {
        Some(p) => format!("calling {} ({}) in", p.name, p.phone.masked()),
        None => "nobody is left in the lineup to call in".to_owned(),
    };
    format!(
        "{} {by} pressed 4 and opened conference bridge {conference}; {calling}.",
        tag(escalation_id)
    )
}

/// The bridge ended: how long it ran, who was on it and for how long.
pub fn bridge_ended(escalation_id: &str, conference: &str, summary: &BridgeSummary) -> String {
    let on = if summary.participants.is_empty() {
        "nobody joined".to_owned()
    } else {
        summary
            .participants
            .iter()
            .map(|(name, ms)| format!("{name} {}", human_duration(*ms)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{} Conference bridge {conference} ended after {}. On the bridge: {on}.",
        tag(escalation_id),
        human_duration(summary.duration_ms)
    )
}
