//! The steps of a policy document: who each calls, rotations and their overrides.

use super::parse::Check;
use super::{CatchAll, Contact, Override, Period, Plan, Rotation, Step, Who, time_zone};
use jiff::Timestamp;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub(super) fn parse_plan(
    c: &mut Check,
    at: &str,
    m: &Map<String, Value>,
    people: &BTreeMap<String, Contact>,
) -> Option<Plan> {
    let rounds = c.number(&format!("{at}.rounds"), m.get("rounds"), (1, 10));
    let ring_all = parse_ring(c, at, m.get("ring"));
    let catch_all = m.get("catch_all").and_then(|v| {
        let cat = format!("{at}.catch_all");
        let cm = c.object(&cat, v, &["group", "person"])?;
        match (cm.get("group"), cm.get("person")) {
            (Some(_), None) => c
                .string(&format!("{cat}.group"), cm.get("group"), true)
                .map(CatchAll::Group),
            (None, Some(_)) => person_ref(c, &format!("{cat}.person"), cm.get("person"), people)
                .map(CatchAll::Person),
            _ => c.fail(
                &cat,
                "give either \"group\" (a sys_id to reassign to) or \"person\"",
            ),
        }
    });
    let steps = match m.get("steps") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(Value::Array(_)) | None => {
            return c.fail(
                &format!("{at}.steps"),
                "no steps; a policy needs at least one step that calls someone",
            );
        }
        Some(_) => return c.fail(&format!("{at}.steps"), "must be a list of steps"),
    };
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        if let Some(step) = parse_step(c, &format!("{at}.steps[{i}]"), s, people) {
            out.push(step);
        }
    }
    (out.len() == steps.len()).then_some(Plan {
        steps: out,
        rounds,
        catch_all,
        ring_all,
    })
}

fn person_ref(
    c: &mut Check,
    at: &str,
    v: Option<&Value>,
    people: &BTreeMap<String, Contact>,
) -> Option<String> {
    let id = c.string(at, v, true)?;
    if people.contains_key(&id) {
        return Some(id);
    }
    let known: Vec<&str> = people.keys().map(String::as_str).collect();
    c.fail(
        at,
        format!("unknown person {id:?}; people has: {}", known.join(", ")),
    )
}

fn parse_step(
    c: &mut Check,
    at: &str,
    v: &Value,
    people: &BTreeMap<String, Contact>,
) -> Option<Step> {
    let m = c.object(
        at,
        v,
        &[
            "person",
            "people",
            "rotation",
            "escalation",
            "ring_timeout_secs",
            "redials",
            "sms",
            "ring",
            "comment",
        ],
    )?;
    let kinds = ["person", "people", "rotation"]
        .iter()
        .filter(|k| m.contains_key(**k))
        .count();
    if kinds != 1 {
        return c.fail(
            at,
            "a step names exactly one of \"person\", \"people\" or \"rotation\"",
        );
    }
    let escalation = match m.get("escalation") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return c.fail(
                &format!("{at}.escalation"),
                format!("must be true or false, not {other}"),
            );
        }
    };
    let sms = match m.get("sms") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return c.fail(
                &format!("{at}.sms"),
                format!("must be true or false, not {other}"),
            );
        }
    };
    let ring_timeout_secs = c.number(
        &format!("{at}.ring_timeout_secs"),
        m.get("ring_timeout_secs"),
        (5, 600),
    );
    let redials = c.number(&format!("{at}.redials"), m.get("redials"), (0, 5));
    let ring_all = parse_ring(c, at, m.get("ring"));
    let who = if m.contains_key("person") {
        Who::Person(person_ref(
            c,
            &format!("{at}.person"),
            m.get("person"),
            people,
        )?)
    } else if let Some(list) = m.get("people") {
        let Some(list) = list.as_array().filter(|l| !l.is_empty()) else {
            return c.fail(
                &format!("{at}.people"),
                "must be a non-empty list of person ids",
            );
        };
        let ids: Vec<Option<String>> = list
            .iter()
            .enumerate()
            .map(|(j, id)| person_ref(c, &format!("{at}.people[{j}]"), Some(id), people))
            .collect();
        Who::People(ids.into_iter().collect::<Option<Vec<_>>>()?)
    } else {
        Who::Rotation(parse_rotation(
            c,
            &format!("{at}.rotation"),
            &m["rotation"],
            people,
        )?)
    };
    Some(Step {
        who,
        escalation,
        ring_timeout_secs,
        redials,
        sms,
        ring_all,
    })
}

/// `"ring"`: `"all"` (every person of the step at once) or `"in_turn"` (one after the
/// other, the default). `None` when not given or wrong (a wrong one is reported).
pub(super) fn parse_ring(c: &mut Check, at: &str, v: Option<&Value>) -> Option<bool> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "all" => Some(true),
        Some(Value::String(s)) if s == "in_turn" => Some(false),
        Some(other) => c.fail(
            &format!("{at}.ring"),
            format!(
                "must be \"all\" (call every person of the step at once, the first to accept wins) or \"in_turn\" (one after the other), not {other}"
            ),
        ),
    }
}

fn parse_rotation(
    c: &mut Check,
    at: &str,
    v: &Value,
    people: &BTreeMap<String, Contact>,
) -> Option<Rotation> {
    let m = c.object(
        at,
        v,
        &[
            "name",
            "members",
            "handoff",
            "time_zone",
            "period",
            "overrides",
            "comment",
        ],
    )?;
    let name = c.string(&format!("{at}.name"), m.get("name"), false);
    let tz_name = c.string(&format!("{at}.time_zone"), m.get("time_zone"), true);
    let tz = tz_name.as_deref().and_then(|n| match time_zone(n) {
        Some(tz) => Some(tz),
        None => c.fail(&format!("{at}.time_zone"), format!("unknown time zone {n:?}; use an IANA name such as Europe/Berlin or America/New_York")),
    });
    let handoff = c
        .string(&format!("{at}.handoff"), m.get("handoff"), true)
        .and_then(|h| {
            h.parse::<jiff::civil::DateTime>()
                .map_err(|e| {
                    c.fail::<()>(
                        &format!("{at}.handoff"),
                        format!(
                            "{h:?} is not a wall-clock date and time like 2026-11-30T09:00 ({e})"
                        ),
                    )
                })
                .ok()
        });
    let pat = format!("{at}.period");
    // `Some(None)`: no period; `None`: a bad one (reported).
    let period: Option<Option<Period>> = match m.get("period") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s == "daily" => Some(Some(Period { days: 1 })),
        Some(Value::String(s)) if s == "weekly" => Some(Some(Period { days: 7 })),
        Some(p @ Value::Object(_)) => c
            .object(&pat, p, &["every_days"])
            .and_then(|pm| c.number(&format!("{pat}.every_days"), pm.get("every_days"), (1, 366)))
            .map(|days| Some(Period { days })),
        Some(other) => c.fail(
            &pat,
            format!("{other} is not a period; use \"daily\", \"weekly\" or {{\"every_days\": N}}"),
        ),
    };
    let members: Vec<Option<String>> = match m.get("members") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(j, id)| person_ref(c, &format!("{at}.members[{j}]"), Some(id), people))
            .collect(),
        Some(_) => return c.fail(&format!("{at}.members"), "must be a list of person ids"),
    };
    let mut overrides = Vec::new();
    if let Some(list) = m.get("overrides") {
        let Some(list) = list.as_array() else {
            return c.fail(&format!("{at}.overrides"), "must be a list");
        };
        for (j, o) in list.iter().enumerate() {
            let oat = format!("{at}.overrides[{j}]");
            let Some(om) = c.object(&oat, o, &["person", "from", "until", "comment"]) else {
                continue;
            };
            let person = person_ref(c, &format!("{oat}.person"), om.get("person"), people);
            let mut when = |field: &str| {
                let s = c.string(&format!("{oat}.{field}"), om.get(field), true)?;
                instant_of(&s, tz.as_ref()).or_else(|| c.fail(&format!("{oat}.{field}"), format!("{s:?} is not an instant like 2026-12-01T08:00Z or a wall-clock time like 2026-12-01T09:00 in the rotation's time zone")))
            };
            let (from, until) = (when("from"), when("until"));
            if let (Some(from), Some(until)) = (from, until)
                && until <= from
            {
                c.fail::<()>(&format!("{oat}.until"), "must be after from");
                continue;
            }
            if let (Some(person), Some(from), Some(until)) = (person, from, until) {
                overrides.push(Override {
                    person,
                    from,
                    until,
                });
            }
        }
    }
    let members: Vec<String> = members.into_iter().collect::<Option<_>>()?;
    if members.is_empty() && overrides.is_empty() {
        return c.fail(
            &format!("{at}.members"),
            "is empty and no override covers the rotation; nobody would ever be called",
        );
    }
    Some(Rotation {
        name,
        members,
        handoff: handoff?,
        time_zone: tz?,
        time_zone_name: tz_name?,
        period: period?,
        overrides,
    })
}

/// An instant (`…Z` or with an offset), or a wall-clock time in the rotation's zone.
pub(super) fn instant_of(s: &str, tz: Option<&jiff::tz::TimeZone>) -> Option<Timestamp> {
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts);
    }
    let dt = s.parse::<jiff::civil::DateTime>().ok()?;
    super::rotation::instant(tz?, dt)
}
