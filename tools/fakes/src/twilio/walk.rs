//! One execution of a Studio flow definition, walked as Studio runs it: from the trigger's
//! `incomingRequest`, widget by widget, with the called person's keys, until a transition
//! without `next`. What the person hears is recorded ([`Heard`]); the widgets' context and
//! the flow's variables are what the execution's Context then shows.
//!
//! Widgets walked: `trigger`, `make-outgoing-call-v2` (answered, busy, no answer, failed;
//! `AnsweredBy` only with `detect_answering_machine: true`), `split-based-on` (the operators
//! below), `gather-input-on-call` (one key per run; without a key it says its text `loop`
//! times and times out), `say-play` (`loop` times), `set-variables`, `add-twiml-redirect`
//! (the call is handed to the widget's `url`, kept in [`Walked::redirected_to`]; with
//! `timeout` "0" Studio does not wait for it to come back, the widget's `timeout` fires at
//! once; otherwise the fake takes `return`). Liquid: `{{a.b.c}}`
//! paths into `flow.data`, `flow.variables`, `flow.channel`, `contact.channel`,
//! `trigger.request.parameters` and `widgets`; filters are not applied. As in Studio, an
//! execution stops after 1,000 steps or when one widget runs 10 times in a row.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::agent::AgentStep;

/// Something said to the person on the call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heard {
    /// The widget that said it.
    pub widget: String,
    /// The text, its Liquid filled in.
    pub text: String,
    /// The widget's `language` (filled in), `""` when it sets none.
    pub language: String,
    /// The widget's `voice` (filled in), `""` when it sets none.
    pub voice: String,
}

/// The call an execution places.
pub(super) struct Call<'a> {
    pub(super) sid: &'a str,
    pub(super) to: &'a str,
    pub(super) from: &'a str,
    pub(super) data: &'a Value,
}

/// What one execution did.
pub(super) struct Walked {
    /// `context.widgets`: each widget's latest run.
    pub(super) widgets: Map<String, Value>,
    /// `context.flow.variables`.
    pub(super) variables: Map<String, Value>,
    pub(super) heard: Vec<Heard>,
    /// The URL an `add-twiml-redirect` widget handed the call to.
    pub(super) redirected_to: Option<String>,
    /// (widget, event, widget type) of the last transition.
    pub(super) last: (String, String, String),
}

const MAX_STEPS: usize = 1000;
const MAX_SAME_WIDGET: usize = 10;

/// Walks `definition` for one execution whose person does `step`.
pub(super) fn walk(definition: &Value, step: &AgentStep, call: &Call<'_>) -> Walked {
    let mut w = Walked {
        widgets: Map::new(),
        variables: Map::new(),
        heard: Vec::new(),
        redirected_to: None,
        last: ("Trigger".into(), "incomingRequest".into(), "trigger".into()),
    };
    let mut keys = step.keys().into_iter();
    let states = definition
        .get("states")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let find = |name: &str| {
        states
            .iter()
            .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
    };
    let Some(mut state) = states
        .iter()
        .find(|s| s.get("type").and_then(Value::as_str) == Some("trigger"))
    else {
        return w;
    };
    let (mut previous, mut in_a_row) = (String::new(), 0);
    for _ in 0..MAX_STEPS {
        let name = text(state, "name");
        in_a_row = if name == previous { in_a_row + 1 } else { 1 };
        if in_a_row > MAX_SAME_WIDGET {
            break;
        }
        previous.clone_from(&name);
        let kind = text(state, "type");
        let props = state.get("properties").cloned().unwrap_or(json!({}));
        let event = match kind.as_str() {
            "trigger" => "incomingRequest".to_owned(),
            "make-outgoing-call-v2" => w.call(&name, &props, step, call),
            "split-based-on" => {
                let chosen = split(state, &w, call);
                w.last = (name, text(chosen.unwrap_or(&Value::Null), "event"), kind);
                match chosen
                    .and_then(|t| t.get("next"))
                    .and_then(Value::as_str)
                    .and_then(find)
                {
                    Some(s) => {
                        state = s;
                        continue;
                    }
                    None => break,
                }
            }
            "gather-input-on-call" => {
                let said = w.say(&name, &props, call);
                match keys.next() {
                    Some(key) => {
                        w.heard.push(said);
                        w.widgets.insert(
                            name.clone(),
                            json!({"Digits": key, "CallStatus": "in-progress", "CallSid": call.sid}),
                        );
                        "keypress".to_owned()
                    }
                    None => {
                        for _ in 0..loops(&props) {
                            w.heard.push(said.clone());
                        }
                        w.widgets.insert(
                            name.clone(),
                            json!({"CallStatus": "in-progress", "CallSid": call.sid}),
                        );
                        "timeout".to_owned()
                    }
                }
            }
            "say-play" => {
                let said = w.say(&name, &props, call);
                for _ in 0..loops(&props) {
                    w.heard.push(said.clone());
                }
                "audioComplete".to_owned()
            }
            "set-variables" => {
                for v in props
                    .get("variables")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let value = render(&text(v, "value"), &w, call);
                    w.variables.insert(text(v, "key"), Value::String(value));
                }
                "next".to_owned()
            }
            "add-twiml-redirect" => {
                w.redirected_to = Some(render(&text(&props, "url"), &w, call));
                w.widgets.insert(
                    name.clone(),
                    json!({"CallSid": call.sid, "CallStatus": "in-progress"}),
                );
                if text(&props, "timeout") == "0" {
                    "timeout".to_owned()
                } else {
                    "return".to_owned()
                }
            }
            // A widget the fake does not run ends the execution.
            _ => {
                w.last = (name, "unsupported".into(), kind);
                break;
            }
        };
        w.last = (name, event.clone(), kind);
        let next = state
            .get("transitions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|t| t.get("event").and_then(Value::as_str) == Some(event.as_str()))
            .and_then(|t| t.get("next"))
            .and_then(Value::as_str);
        match next.and_then(find) {
            Some(s) => state = s,
            None => break,
        }
    }
    w
}

impl Walked {
    /// Places the call; the event the widget transitions on.
    fn call(&mut self, name: &str, props: &Value, step: &AgentStep, call: &Call<'_>) -> String {
        let amd = props.get("detect_answering_machine") == Some(&Value::Bool(true));
        let (event, status, answered_by) = match step {
            AgentStep::NoAnswer { .. } => ("noAnswer", "no-answer", None),
            AgentStep::Busy { .. } => ("busy", "busy", None),
            AgentStep::Failed { .. } => ("failed", "failed", None),
            AgentStep::Machine { .. } => ("answered", "completed", Some("machine_start")),
            _ => ("answered", "completed", Some("human")),
        };
        let mut ctx = Map::new();
        ctx.insert("CallSid".into(), call.sid.into());
        ctx.insert("CallStatus".into(), status.into());
        if let Some(a) = answered_by.filter(|_| amd) {
            ctx.insert("AnsweredBy".into(), a.into());
        }
        ctx.insert("To".into(), call.to.into());
        ctx.insert("From".into(), call.from.into());
        self.widgets.insert(name.to_owned(), Value::Object(ctx));
        event.to_owned()
    }

    fn say(&self, name: &str, props: &Value, call: &Call<'_>) -> Heard {
        let field = |k: &str| render(&text(props, k), self, call);
        Heard {
            widget: name.to_owned(),
            text: field("say"),
            language: field("language"),
            voice: field("voice"),
        }
    }
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn loops(props: &Value) -> u64 {
    props
        .get("loop")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .clamp(1, 99)
}

/// The first `match` transition whose conditions all hold, else the `noMatch` one.
fn split<'s>(state: &'s Value, w: &Walked, call: &Call<'_>) -> Option<&'s Value> {
    let transitions = state.get("transitions").and_then(Value::as_array)?;
    let event = |t: &Value| t.get("event").and_then(Value::as_str).map(str::to_owned);
    transitions
        .iter()
        .filter(|t| event(t).as_deref() == Some("match"))
        .find(|t| {
            t.get("conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| !cs.is_empty() && cs.iter().all(|c| holds(c, w, call)))
        })
        .or_else(|| {
            transitions
                .iter()
                .find(|t| event(t).as_deref() == Some("noMatch"))
        })
}

fn holds(condition: &Value, w: &Walked, call: &Call<'_>) -> bool {
    let argument = condition
        .get("arguments")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .unwrap_or("");
    let input = render(argument, w, call);
    let value = text(condition, "value");
    match text(condition, "type").as_str() {
        "equal_to" => input == value,
        "not_equal_to" => input != value,
        "starts_with" => input.starts_with(&value),
        "does_not_start_with" => !input.starts_with(&value),
        "contains" => input.contains(&value),
        "does_not_contain" => !input.contains(&value),
        "matches_any_of" => value.split(',').any(|v| v.trim() == input),
        "does_not_match_any_of" => !value.split(',').any(|v| v.trim() == input),
        "is_blank" => input.trim().is_empty(),
        "is_not_blank" => !input.trim().is_empty(),
        _ => false,
    }
}

/// `template` with each `{{path}}` replaced by its value (`""` when absent).
fn render(template: &str, w: &Walked, call: &Call<'_>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let expr = &rest[start + 2..start + len];
        let path = expr.split('|').next().unwrap_or("").trim();
        out.push_str(&lookup(path, w, call));
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

fn lookup(path: &str, w: &Walked, call: &Call<'_>) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    let value = match parts.as_slice() {
        ["flow", "data", rest @ ..] | ["trigger", "request", "parameters", rest @ ..] => {
            dig(call.data, rest)
        }
        ["flow", "variables", rest @ ..] => dig(&Value::Object(w.variables.clone()), rest),
        ["flow", "channel", "address"] => Some(Value::String(call.from.to_owned())),
        ["contact", "channel", "address"] => Some(Value::String(call.to.to_owned())),
        ["widgets", rest @ ..] => dig(&Value::Object(w.widgets.clone()), rest),
        _ => None,
    };
    match value {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn dig(root: &Value, path: &[&str]) -> Option<Value> {
    let mut v = root;
    for p in path {
        v = v.get(*p)?;
    }
    Some(v.clone())
}

#[cfg(test)]
mod tests {
    use super::super::flows::shipped_flow;
    use super::*;

    fn params() -> Value {
        json!({
            "language": "de-DE", "voice": "Polly.Marlene",
            "say_details": "Details.", "say_menu": "Menu.", "say_full": "Full.",
            "say_accepted": "Accepted.", "say_passed": "Passed.", "say_escalated": "Escalated.",
            "say_invalid": "Invalid.", "say_use_keypad": "Keypad.", "say_reason": "Why?",
            "say_bridge_offer": "Press 4.", "bridge_url": "",
        })
    }

    fn run(definition: &Value, step: AgentStep) -> Walked {
        let data = params();
        walk(
            definition,
            &step,
            &Call {
                sid: "CA1",
                to: "+15550100001",
                from: "+15550109999",
                data: &data,
            },
        )
    }

    fn texts(w: &Walked) -> Vec<&str> {
        w.heard.iter().map(|h| h.text.as_str()).collect()
    }

    fn keys(keys: &str) -> AgentStep {
        AgentStep::Keys {
            keys: keys.into(),
            after_ms: 0,
        }
    }

    #[test]
    fn the_shipped_flow_repeats_reads_the_full_description_and_confirms() {
        let flow = shipped_flow();
        let w = run(&flow, keys("*91"));
        assert_eq!(
            texts(&w),
            [
                "Details. Menu.",
                "Details. Menu.",
                "Full. Menu.",
                "Accepted."
            ]
        );
        assert!(
            w.heard
                .iter()
                .all(|h| h.language == "de-DE" && h.voice == "Polly.Marlene")
        );
        assert_eq!(w.widgets["gather_digit"]["Digits"], "1");
        assert_eq!(w.widgets["call_agent"]["AnsweredBy"], "human");
        assert_eq!(w.variables["heading"], "Full.");
        assert_eq!(
            w.last,
            (
                "check_bridge".into(),
                "noMatch".into(),
                "split-based-on".into()
            )
        );

        let w = run(&flow, keys("72"));
        assert_eq!(
            texts(&w),
            [
                "Details. Menu.",
                "Invalid.",
                "Details. Menu.",
                "Why?",
                "Passed."
            ]
        );
        assert!(w.widgets["gather_reason"].get("Digits").is_none());
        // A reason after the pass is one more key, kept in the reason widget.
        let w = run(&flow, keys("21"));
        assert_eq!(texts(&w), ["Details. Menu.", "Why?", "Passed."]);
        assert_eq!(w.widgets["gather_digit"]["Digits"], "2");
        assert_eq!(w.widgets["gather_reason"]["Digits"], "1");
        let w = run(&flow, keys("3"));
        assert_eq!(texts(&w).last(), Some(&"Escalated."));
    }

    #[test]
    fn with_a_bridge_url_an_accept_offers_4_which_hands_the_call_over() {
        let flow = shipped_flow();
        let mut data = params();
        data["bridge_url"] = json!("https://in.example/bridge/open?e=ESC-1&c=ab");
        let run_keys = |k: &str| {
            walk(
                &flow,
                &keys(k),
                &Call {
                    sid: "CA1",
                    to: "+15550100001",
                    from: "+15550109999",
                    data: &data,
                },
            )
        };
        let w = run_keys("14");
        assert_eq!(texts(&w), ["Details. Menu.", "Accepted.", "Press 4."]);
        assert_eq!(
            w.redirected_to.as_deref(),
            Some("https://in.example/bridge/open?e=ESC-1&c=ab")
        );
        assert_eq!(
            w.widgets["gather_digit"]["Digits"], "1",
            "the accept is read as before"
        );
        assert_eq!(w.last.0, "open_bridge");
        let w = run_keys("1");
        assert_eq!(texts(&w), ["Details. Menu.", "Accepted.", "Press 4."]);
        assert!(w.redirected_to.is_none());
        let w = run_keys("15");
        assert!(w.redirected_to.is_none(), "another key ends the call");
        // Without the URL there is no offer.
        let w = run(&flow, keys("14"));
        assert_eq!(texts(&w), ["Details. Menu.", "Accepted."]);
    }

    #[test]
    fn silence_hears_the_prompt_twice_and_times_out() {
        let w = run(&shipped_flow(), AgentStep::Hangup { after_ms: 0 });
        assert_eq!(texts(&w), ["Details. Menu.", "Details. Menu."]);
        assert!(w.widgets["gather_digit"].get("Digits").is_none());
        assert_eq!(w.last.1, "timeout");
    }

    #[test]
    fn the_switch_and_not_the_mode_turns_detection_on() {
        let flow = shipped_flow();
        let w = run(&flow, AgentStep::Machine { after_ms: 0 });
        assert_eq!(w.widgets["call_agent"]["AnsweredBy"], "machine_start");
        assert!(w.heard.is_empty(), "a detected mailbox hears nothing");

        let mut off = flow.clone();
        for s in off["states"].as_array_mut().unwrap() {
            if s["name"] == "call_agent" {
                s["properties"]["detect_answering_machine"] = json!(false);
            }
        }
        let w = run(&off, AgentStep::Machine { after_ms: 0 });
        assert!(w.widgets["call_agent"].get("AnsweredBy").is_none());
        assert_eq!(
            w.heard.len(),
            2,
            "an undetected mailbox is read the incident"
        );
        assert!(w.widgets["gather_digit"].get("Digits").is_none());

        let w = run(&flow, AgentStep::Busy { after_ms: 0 });
        assert_eq!(w.widgets["call_agent"]["CallStatus"], "busy");
        assert!(w.widgets.get("gather_digit").is_none());
    }

    #[test]
    fn a_widget_that_loops_on_itself_is_stopped() {
        let flow = json!({"states": [
            {"name": "T", "type": "trigger", "transitions": [{"event": "incomingRequest", "next": "s"}]},
            {"name": "s", "type": "say-play", "properties": {"say": "{{flow.data.say_menu}} {{flow.data.nothing}}x"},
             "transitions": [{"event": "audioComplete", "next": "s"}]},
        ]});
        let w = run(&flow, keys(""));
        assert_eq!(w.heard.len(), 10);
        assert_eq!(w.heard[0].text, "Menu. x");
        assert_eq!(w.heard[0].language, "");
    }
}
