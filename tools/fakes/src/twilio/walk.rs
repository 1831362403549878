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
//! once; otherwise the fake takes `return`), `make-http-request` (a form POST to its URL:
//! `success` or `failed`, see `http_widget`). Liquid: `{{a.b.c}}`
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
    /// The execution's SID (`flow.sid`).
    pub(super) execution_sid: &'a str,
    /// How long a `make-http-request` waits for its answer.
    pub(super) http_timeout: std::time::Duration,
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
            "make-http-request" => {
                let form: Vec<(String, String)> = props
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|p| (text(p, "key"), render(&text(p, "value"), &w, call)))
                    .collect();
                let url = render(&text(&props, "url"), &w, call);
                let answer = super::http_widget::post(&url, &form, call.http_timeout);
                w.widgets.insert(name.clone(), answer.context);
                answer.event.to_owned()
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
        ["flow", "sid"] => Some(Value::String(call.execution_sid.to_owned())),
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
#[path = "walk_tests.rs"]
mod tests;
