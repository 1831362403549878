//! A small typed TwiML writer: the verbs the inbound line uses, nothing more.
//!
//! Every text node and attribute value is XML-escaped, and characters XML 1.0 cannot carry
//! (control characters other than tab, newline and carriage return) are dropped, so text
//! from configuration, ServiceNow or callers can never break out of the document.
//!
//! ```
//! use escalation::twiml::{Gather, Speech, VoiceResponse};
//! let speech = Speech::default();
//! let xml = VoiceResponse::new()
//!     .gather(
//!         Gather::digits("https://example.com/voice/menu?g=1", 1)
//!             .say(&speech, "Press 1 & wait"),
//!     )
//!     .say(&speech, "Goodbye.")
//!     .hangup()
//!     .to_xml();
//! assert!(xml.contains("Press 1 &amp; wait"));
//! ```

use std::fmt::Write;

/// Voice and language of `<Say>`; both optional (Twilio's defaults apply).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Speech {
    pub voice: Option<String>,
    pub language: Option<String>,
}

/// Something a caller hears (also allowed inside `<Gather>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    Say { text: String, speech: Speech },
    Play { url: String },
    Pause { seconds: u32 },
}

/// `<Gather>` collecting keypad digits (never speech).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gather {
    pub action: String,
    pub num_digits: Option<u32>,
    /// Seconds of silence after the prompt (and between digits) before giving up.
    pub timeout_secs: u32,
    /// `Some("")` disables the finish key; `None` keeps Twilio's default (`#`).
    pub finish_on_key: Option<String>,
    /// Request the action also when nothing was pressed (Digits empty).
    pub action_on_empty_result: bool,
    pub prompts: Vec<Prompt>,
}

impl Gather {
    /// A DTMF gather of up to `num_digits` digits that posts to `action`.
    pub fn digits(action: impl Into<String>, num_digits: u32) -> Self {
        Gather {
            action: action.into(),
            num_digits: Some(num_digits),
            timeout_secs: 6,
            finish_on_key: None,
            action_on_empty_result: false,
            prompts: Vec::new(),
        }
    }

    /// Any number of digits, ended by `#` (a PIN).
    pub fn until_pound(action: impl Into<String>) -> Self {
        Gather {
            num_digits: None,
            finish_on_key: Some("#".into()),
            ..Gather::digits(action, 1)
        }
    }

    pub fn timeout(mut self, secs: u32) -> Self {
        self.timeout_secs = secs;
        self
    }

    /// Post to the action with empty `Digits` when the caller pressed nothing.
    pub fn on_empty(mut self) -> Self {
        self.action_on_empty_result = true;
        self
    }

    pub fn say(mut self, speech: &Speech, text: impl Into<String>) -> Self {
        self.prompts.push(Prompt::Say {
            text: text.into(),
            speech: speech.clone(),
        });
        self
    }

    pub fn pause(mut self, seconds: u32) -> Self {
        self.prompts.push(Prompt::Pause { seconds });
        self
    }
}

/// `<Record>`: the caller's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub action: String,
    pub max_length_secs: u32,
    /// Seconds of silence that end the recording.
    pub timeout_secs: u32,
    pub finish_on_key: String,
    pub play_beep: bool,
    pub trim_silence: bool,
    /// Ask Twilio to transcribe (recordings of at most 120 s) and post the text here.
    pub transcribe_callback: Option<String>,
}

impl Record {
    pub fn new(action: impl Into<String>, max_length_secs: u32) -> Self {
        Record {
            action: action.into(),
            max_length_secs,
            timeout_secs: 5,
            finish_on_key: "#".into(),
            play_beep: true,
            trim_silence: true,
            transcribe_callback: None,
        }
    }

    pub fn transcribe(mut self, callback: impl Into<String>) -> Self {
        self.transcribe_callback = Some(callback.into());
        self
    }
}

/// One `<Number>` of a `<Dial>`; `whisper_url` runs on the called party's leg before the
/// parties are connected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialNumber {
    pub number: String,
    pub whisper_url: Option<String>,
}

/// `<Dial>`: put the caller through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dial {
    pub action: String,
    pub timeout_secs: u32,
    pub caller_id: Option<String>,
    pub numbers: Vec<DialNumber>,
}

/// A verb of a voice response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verb {
    Prompt(Prompt),
    Gather(Gather),
    Record(Record),
    Dial(Dial),
    Redirect(String),
    Hangup,
}

/// A voice `<Response>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VoiceResponse {
    pub verbs: Vec<Verb>,
}

impl VoiceResponse {
    pub fn new() -> Self {
        VoiceResponse::default()
    }

    pub fn say(mut self, speech: &Speech, text: impl Into<String>) -> Self {
        self.verbs.push(Verb::Prompt(Prompt::Say {
            text: text.into(),
            speech: speech.clone(),
        }));
        self
    }

    pub fn pause(mut self, seconds: u32) -> Self {
        self.verbs.push(Verb::Prompt(Prompt::Pause { seconds }));
        self
    }

    pub fn play(mut self, url: impl Into<String>) -> Self {
        self.verbs
            .push(Verb::Prompt(Prompt::Play { url: url.into() }));
        self
    }

    pub fn gather(mut self, gather: Gather) -> Self {
        self.verbs.push(Verb::Gather(gather));
        self
    }

    pub fn record(mut self, record: Record) -> Self {
        self.verbs.push(Verb::Record(record));
        self
    }

    pub fn dial(mut self, dial: Dial) -> Self {
        self.verbs.push(Verb::Dial(dial));
        self
    }

    pub fn redirect(mut self, url: impl Into<String>) -> Self {
        self.verbs.push(Verb::Redirect(url.into()));
        self
    }

    pub fn hangup(mut self) -> Self {
        self.verbs.push(Verb::Hangup);
        self
    }

    /// This response followed by `next`'s verbs.
    pub fn then(mut self, next: VoiceResponse) -> Self {
        self.verbs.extend(next.verbs);
        self
    }

    /// The document, with the XML declaration.
    pub fn to_xml(&self) -> String {
        let root = Element::new("Response").children(self.verbs.iter().map(verb).collect());
        document(&root)
    }
}

/// A messaging `<Response>` (the reply to an incoming SMS); no messages = no reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessagingResponse {
    pub messages: Vec<String>,
}

impl MessagingResponse {
    pub fn new() -> Self {
        MessagingResponse::default()
    }

    pub fn message(mut self, body: impl Into<String>) -> Self {
        self.messages.push(body.into());
        self
    }

    pub fn to_xml(&self) -> String {
        let root = Element::new("Response").children(
            self.messages
                .iter()
                .map(|m| Node::Element(Element::new("Message").text(m)))
                .collect(),
        );
        document(&root)
    }
}

// ---------------------------------------------------------------------------------------
// A minimal element tree and its writer.

enum Node {
    Element(Element),
    Text(String),
}

struct Element {
    name: &'static str,
    attrs: Vec<(&'static str, String)>,
    children: Vec<Node>,
}

impl Element {
    fn new(name: &'static str) -> Self {
        Element {
            name,
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    fn attr(mut self, name: &'static str, value: impl ToString) -> Self {
        self.attrs.push((name, value.to_string()));
        self
    }

    fn attr_opt(self, name: &'static str, value: Option<&String>) -> Self {
        match value {
            Some(v) => self.attr(name, v),
            None => self,
        }
    }

    fn text(mut self, text: &str) -> Self {
        self.children.push(Node::Text(text.to_string()));
        self
    }

    fn children(mut self, children: Vec<Node>) -> Self {
        self.children.extend(children);
        self
    }
}

fn bool_attr(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn prompt(p: &Prompt) -> Node {
    Node::Element(match p {
        Prompt::Say { text, speech } => Element::new("Say")
            .attr_opt("voice", speech.voice.as_ref())
            .attr_opt("language", speech.language.as_ref())
            .text(text),
        Prompt::Play { url } => Element::new("Play").text(url),
        Prompt::Pause { seconds } => Element::new("Pause").attr("length", seconds),
    })
}

fn verb(v: &Verb) -> Node {
    match v {
        Verb::Prompt(p) => prompt(p),
        Verb::Gather(g) => {
            let mut e = Element::new("Gather")
                .attr("input", "dtmf")
                .attr("action", &g.action)
                .attr("method", "POST")
                .attr("timeout", g.timeout_secs);
            if let Some(n) = g.num_digits {
                e = e.attr("numDigits", n);
            }
            e = e.attr_opt("finishOnKey", g.finish_on_key.as_ref());
            if g.action_on_empty_result {
                e = e.attr("actionOnEmptyResult", "true");
            }
            Node::Element(e.children(g.prompts.iter().map(prompt).collect()))
        }
        Verb::Record(r) => {
            let mut e = Element::new("Record")
                .attr("action", &r.action)
                .attr("method", "POST")
                .attr("maxLength", r.max_length_secs)
                .attr("timeout", r.timeout_secs)
                .attr("finishOnKey", &r.finish_on_key)
                .attr("playBeep", bool_attr(r.play_beep))
                .attr(
                    "trim",
                    if r.trim_silence {
                        "trim-silence"
                    } else {
                        "do-not-trim"
                    },
                );
            if let Some(cb) = &r.transcribe_callback {
                e = e.attr("transcribe", "true").attr("transcribeCallback", cb);
            }
            Node::Element(e)
        }
        Verb::Dial(d) => {
            let numbers = d
                .numbers
                .iter()
                .map(|n| {
                    let mut e = Element::new("Number");
                    if let Some(url) = &n.whisper_url {
                        e = e.attr("url", url).attr("method", "POST");
                    }
                    Node::Element(e.text(&n.number))
                })
                .collect();
            Node::Element(
                Element::new("Dial")
                    .attr("action", &d.action)
                    .attr("method", "POST")
                    .attr("timeout", d.timeout_secs)
                    .attr_opt("callerId", d.caller_id.as_ref())
                    .children(numbers),
            )
        }
        Verb::Redirect(url) => {
            Node::Element(Element::new("Redirect").attr("method", "POST").text(url))
        }
        Verb::Hangup => Node::Element(Element::new("Hangup")),
    }
}

fn document(root: &Element) -> String {
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    write_element(&mut out, root);
    out
}

fn write_element(out: &mut String, e: &Element) {
    out.push('<');
    out.push_str(e.name);
    for (name, value) in &e.attrs {
        let _ = write!(out, " {name}=\"");
        escape_into(out, value);
        out.push('"');
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for child in &e.children {
        match child {
            Node::Element(c) => write_element(out, c),
            Node::Text(t) => escape_into(out, t),
        }
    }
    let _ = write!(out, "</{}>", e.name);
}

/// Whether XML 1.0 allows the character at all.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
        || ('\u{20}'..='\u{D7FF}').contains(&c)
        || ('\u{E000}'..='\u{FFFD}').contains(&c)
        || c >= '\u{10000}'
}

/// Escape for both text and double- or single-quoted attribute values.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

/// XML-escape a string (exposed for tests and callers that build their own markup).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

    #[test]
    fn escapes_text_and_attributes() {
        let s = Speech {
            voice: Some("Polly.Joanna\"><Hangup/>".into()),
            language: None,
        };
        let xml = VoiceResponse::new()
            .say(&s, "Tom & Jerry <script> 'quoted' \"double\"")
            .redirect("https://x.example/voice?a=1&b=<2>")
            .to_xml();
        assert_eq!(
            xml,
            format!(
                "{DECL}<Response><Say voice=\"Polly.Joanna&quot;&gt;&lt;Hangup/&gt;\">Tom &amp; Jerry &lt;script&gt; &apos;quoted&apos; &quot;double&quot;</Say><Redirect method=\"POST\">https://x.example/voice?a=1&amp;b=&lt;2&gt;</Redirect></Response>"
            )
        );
    }

    #[test]
    fn drops_characters_xml_cannot_carry() {
        assert_eq!(escape("a\u{0}b\u{1b}c\td\ne\u{FFFF}f😀"), "abc\td\nef😀");
    }

    #[test]
    fn gather_record_dial_hangup() {
        let s = Speech {
            voice: None,
            language: Some("en-GB".into()),
        };
        let xml = VoiceResponse::new()
            .gather(
                Gather::digits("https://h/voice/menu?t=1&g=2", 1)
                    .timeout(7)
                    .on_empty()
                    .say(&s, "Press 1.")
                    .pause(1),
            )
            .record(
                Record::new("https://h/voice/recorded", 120)
                    .transcribe("https://h/voice/transcription?x=1"),
            )
            .dial(Dial {
                action: "https://h/voice/dialed?i=0".into(),
                timeout_secs: 20,
                caller_id: Some("+15550109999".into()),
                numbers: vec![DialNumber {
                    number: "+15550100001".into(),
                    whisper_url: Some("https://h/voice/whisper?p=CA1&i=0".into()),
                }],
            })
            .hangup()
            .to_xml();
        assert_eq!(
            xml,
            format!(
                "{DECL}<Response>\
<Gather input=\"dtmf\" action=\"https://h/voice/menu?t=1&amp;g=2\" method=\"POST\" timeout=\"7\" numDigits=\"1\" actionOnEmptyResult=\"true\"><Say language=\"en-GB\">Press 1.</Say><Pause length=\"1\"/></Gather>\
<Record action=\"https://h/voice/recorded\" method=\"POST\" maxLength=\"120\" timeout=\"5\" finishOnKey=\"#\" playBeep=\"true\" trim=\"trim-silence\" transcribe=\"true\" transcribeCallback=\"https://h/voice/transcription?x=1\"/>\
<Dial action=\"https://h/voice/dialed?i=0\" method=\"POST\" timeout=\"20\" callerId=\"+15550109999\"><Number url=\"https://h/voice/whisper?p=CA1&amp;i=0\" method=\"POST\">+15550100001</Number></Dial>\
<Hangup/></Response>"
            )
        );
    }

    #[test]
    fn pin_gather_has_finish_key_and_no_digit_count() {
        let xml = VoiceResponse::new()
            .gather(Gather::until_pound("https://h/voice/pin"))
            .to_xml();
        assert!(xml.contains("finishOnKey=\"#\""), "{xml}");
        assert!(!xml.contains("numDigits"), "{xml}");
    }

    #[test]
    fn messaging() {
        assert_eq!(
            MessagingResponse::new()
                .message("INC0010001 <created> & assigned")
                .to_xml(),
            format!(
                "{DECL}<Response><Message>INC0010001 &lt;created&gt; &amp; assigned</Message></Response>"
            )
        );
        assert_eq!(
            MessagingResponse::new().to_xml(),
            format!("{DECL}<Response/>")
        );
    }
}
