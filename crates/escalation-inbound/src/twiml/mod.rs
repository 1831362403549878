//! A small typed TwiML writer: the verbs the inbound line uses, nothing more.
//!
//! Every text node and attribute value is XML-escaped, and characters XML 1.0 cannot carry
//! (control characters other than tab, newline and carriage return) are dropped, so text
//! from configuration, ServiceNow or callers can never break out of the document.
//!
//! ```
//! use escalation_inbound::twiml::{Gather, Speech, VoiceResponse};
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

mod xml;

pub use xml::escape;

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

/// `<Dial><Conference>`: join the call to a named conference, whose start, end, joins and
/// leaves Twilio posts to `status_callback`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conference {
    pub name: String,
    pub status_callback: String,
    /// The conference ends when this participant leaves.
    pub end_on_exit: bool,
}

/// A verb of a voice response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verb {
    Prompt(Prompt),
    Gather(Gather),
    Record(Record),
    Dial(Dial),
    Conference(Conference),
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

    pub fn conference(mut self, conference: Conference) -> Self {
        self.verbs.push(Verb::Conference(conference));
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
        xml::voice(self)
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
        xml::messaging(self)
    }
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
    fn conference() {
        let xml = VoiceResponse::new()
            .conference(Conference {
                name: "INC0010042-ESC-1".into(),
                status_callback: "https://h/bridge/status?e=ESC-1&c=ab".into(),
                end_on_exit: true,
            })
            .to_xml();
        assert_eq!(
            xml,
            format!(
                "{DECL}<Response><Dial><Conference startConferenceOnEnter=\"true\" endConferenceOnExit=\"true\" beep=\"true\" statusCallback=\"https://h/bridge/status?e=ESC-1&amp;c=ab\" statusCallbackMethod=\"POST\" statusCallbackEvent=\"start end join leave\">INC0010042-ESC-1</Conference></Dial></Response>"
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
