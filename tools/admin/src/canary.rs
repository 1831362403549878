//! The canary's answering application: the TwiML the canary's test number answers with, so
//! the scheduled test call is accepted the way a person would accept it (a short greeting,
//! then key 1 while the flow reads the incident). Twilio has no API for TwiML Bins, so
//! `escalation-admin twilio canary-twiml` prints it, to be pasted into a TwiML Bin (or
//! served by any web server as the number's Voice URL).
//!
//! Only documented TwiML: `<Say>`, `<Pause length>` and `<Play digits>`, whose `digits` are
//! DTMF tones (0–9; `w` would be half a second of silence) sent on the call.

/// What the answering application does, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Speak: the flow's answering-machine detection hears a short greeting and then
    /// silence, which it scores as a person (silence alone can be "unknown" or a machine).
    Say(&'static str),
    /// Wait this many seconds.
    Pause(u32),
    /// Send these keys.
    Press(&'static str),
}

/// The greeting; a pause long enough for the flow to start reading; 1; another 1 in case
/// the flow started slowly (a second 1 after the accept is no choice and changes nothing);
/// then silence while the flow confirms the accept and hangs up.
pub const STEPS: [Step; 6] = [
    Step::Say("Hello."),
    Step::Pause(6),
    Step::Press("1"),
    Step::Pause(8),
    Step::Press("1"),
    Step::Pause(20),
];

/// The TwiML document for [`STEPS`].
pub fn answering_twiml() -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n");
    for step in STEPS {
        let line = match step {
            Step::Say(text) => format!("  <Say>{text}</Say>\n"),
            Step::Pause(secs) => format!("  <Pause length=\"{secs}\"/>\n"),
            Step::Press(keys) => format!("  <Play digits=\"{keys}\"/>\n"),
        };
        out.push_str(&line);
    }
    out.push_str("</Response>\n");
    out
}
