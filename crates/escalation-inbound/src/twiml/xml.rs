//! The TwiML document writer: a minimal element tree, written with every text node and
//! attribute value escaped.

use super::{MessagingResponse, Prompt, Verb, VoiceResponse};
use std::fmt::Write;

/// A voice response's document.
pub(super) fn voice(response: &VoiceResponse) -> String {
    let root = Element::new("Response").children(response.verbs.iter().map(verb).collect());
    document(&root)
}

/// A messaging response's document.
pub(super) fn messaging(response: &MessagingResponse) -> String {
    let root = Element::new("Response").children(
        response
            .messages
            .iter()
            .map(|m| Node::Element(Element::new("Message").text(m)))
            .collect(),
    );
    document(&root)
}

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
        Verb::Conference(c) => Node::Element(Element::new("Dial").children(vec![Node::Element(
                Element::new("Conference")
                    .attr("startConferenceOnEnter", "true")
                    .attr("endConferenceOnExit", c.end_on_exit)
                    .attr("beep", "true")
                    .attr("statusCallback", &c.status_callback)
                    .attr("statusCallbackMethod", "POST")
                    .attr("statusCallbackEvent", "start end join leave")
                    .text(&c.name),
            )])),
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

    #[test]
    fn drops_characters_xml_cannot_carry() {
        assert_eq!(escape("a\u{0}b\u{1b}c\td\ne\u{FFFF}f😀"), "abc\td\nef😀");
    }
}
