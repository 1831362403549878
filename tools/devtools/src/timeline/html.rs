//! The timeline as one self-contained HTML page (`demo --html FILE`): a swim lane per person
//! called (and per caller to the escalation line) and one for ServiceNow; each call a bar from
//! dial to end, coloured by how it ended, with the key pressed; ServiceNow's notes as numbered
//! marks, listed below; the moment of acceptance and the time to accept.
//!
//! Self-contained: inline CSS, no images, no fonts, and a Content-Security-Policy that lets
//! the browser fetch nothing. A few lines of inline script check the page's own layout
//! (every bar inside its lane) and write what they found into `data-rendered` on `<body>`,
//! which the browser test reads.

use std::fmt::Write as _;

use escalation_core::escalation::{AttemptRecord, Escalation, Status};
use escalation_core::model::CallOutcome;
// One escaping for the TwiML and this page: `&`, `<`, `>`, `"` and `'` for text and attribute
// values alike, and characters neither can carry dropped.
use escalation_inbound::twiml::escape as esc;

use super::{RunSummary, plural};

/// What the page shows, collected by the [`super::Timeline`] as it prints.
#[derive(Clone, Debug, Default)]
pub struct Page {
    name: String,
    description: String,
    mode: String,
    lanes: Vec<Lane>,
    service_now: Vec<Mark>,
    /// Moments someone accepted: (seconds, incident, who).
    accepts: Vec<(f64, String, String)>,
}

#[derive(Clone, Debug)]
struct Lane {
    name: String,
    /// Masked number, or "" for a caller's lane.
    phone: String,
    caller: bool,
    bars: Vec<Bar>,
    marks: Vec<Mark>,
}

#[derive(Clone, Debug)]
struct Bar {
    incident: String,
    attempt: u32,
    start: f64,
    /// `None` while the call is still on (it ends at the page's right edge).
    end: Option<f64>,
    outcome: Option<CallOutcome>,
}

#[derive(Clone, Debug)]
struct Mark {
    t: f64,
    incident: String,
    text: String,
}

impl Page {
    pub(super) fn title(&mut self, name: &str, description: &str, mode: &str) {
        self.name = name.to_owned();
        self.description = description.to_owned();
        self.mode = mode.to_owned();
    }

    fn lane(&mut self, name: &str, phone: &str, caller: bool) -> &mut Lane {
        let i = match self
            .lanes
            .iter()
            .position(|l| l.name == name && l.phone == phone)
        {
            Some(i) => i,
            None => {
                self.lanes.push(Lane {
                    name: name.to_owned(),
                    phone: phone.to_owned(),
                    caller,
                    bars: Vec::new(),
                    marks: Vec::new(),
                });
                self.lanes.len() - 1
            }
        };
        &mut self.lanes[i]
    }

    /// A call is placed (its bar stays open until [`Page::call`]).
    pub(super) fn dial(&mut self, incident: &str, name: &str, phone: &str, attempt: u32, t: f64) {
        self.lane(name, phone, false).bars.push(Bar {
            incident: incident.to_owned(),
            attempt,
            start: t,
            end: None,
            outcome: None,
        });
    }

    /// A call ended (`start`/`end` in seconds since the start).
    pub(super) fn call(&mut self, incident: &str, h: &AttemptRecord, start: f64, end: f64) {
        if h.outcome == CallOutcome::Accepted {
            self.accepts
                .push((end, incident.to_owned(), h.name.clone()));
        }
        let lane = self.lane(&h.name, &h.masked_phone, false);
        let bar = match lane
            .bars
            .iter_mut()
            .find(|b| b.incident == incident && b.attempt == h.number && b.end.is_none())
        {
            Some(b) => b,
            None => {
                lane.bars.push(Bar {
                    incident: incident.to_owned(),
                    attempt: h.number,
                    start,
                    end: None,
                    outcome: None,
                });
                lane.bars.last_mut().expect("just pushed")
            }
        };
        bar.start = bar.start.min(start);
        bar.end = Some(end.max(bar.start));
        bar.outcome = Some(h.outcome.clone());
    }

    /// A call was hung up at `t` (the incident was handled elsewhere): its open bar ends
    /// there, with a mark saying so.
    pub(super) fn hang_up(&mut self, incident: &str, name: &str, phone: &str, t: f64, text: &str) {
        let lane = self.lane(name, phone, false);
        if let Some(bar) = lane
            .bars
            .iter_mut()
            .rev()
            .find(|b| b.incident == incident && b.end.is_none())
        {
            bar.end = Some(t.max(bar.start));
        }
        lane.marks.push(Mark {
            t,
            incident: incident.to_owned(),
            text: text.to_owned(),
        });
    }

    /// Something ServiceNow sent or received (the trigger, a write).
    pub(super) fn service_now(&mut self, t: f64, incident: &str, text: &str) {
        self.service_now.push(Mark {
            t,
            incident: incident.to_owned(),
            text: text.to_owned(),
        });
    }

    /// A turn of a call to the escalation line.
    pub(super) fn phone(&mut self, t: f64, who: &str, text: &str) {
        self.lane(who, "", true).marks.push(Mark {
            t,
            incident: String::new(),
            text: text.to_owned(),
        });
    }

    /// The last moment shown, in seconds (at least 1).
    fn end(&self) -> f64 {
        let lanes = self.lanes.iter().flat_map(|l| {
            l.bars
                .iter()
                .map(|b| b.end.unwrap_or(b.start))
                .chain(l.marks.iter().map(|m| m.t))
        });
        lanes
            .chain(self.service_now.iter().map(|m| m.t))
            .fold(1.0_f64, f64::max)
    }
}

/// The page for a run of many escalations at once (the bench's storm): every call of every
/// escalation in its person's lane; `headline` says what the run came to and `ok` whether
/// that is what it promises. `t0_ms` is the moment shown as 0 s.
pub fn many(
    name: &str,
    headline: &str,
    ok: bool,
    escalations: &[Escalation],
    t0_ms: u64,
) -> String {
    let mut page = Page::default();
    page.title(
        name,
        "Many incidents at once; each call in the lane of the person called.",
        "in-process handlers",
    );
    let secs = |ms: u64| ms.saturating_sub(t0_ms) as f64 / 1000.0;
    let mut calls = 0;
    for esc in escalations {
        for h in esc.history() {
            page.call(
                &esc.incident().number,
                h,
                secs(h.started_at),
                secs(h.ended_at),
            );
            calls += 1;
        }
    }
    let run = RunSummary {
        scenario: name.to_owned(),
        mode: "in-process handlers".to_owned(),
        expect: headline.to_owned(),
        incidents: Vec::new(),
        calls_placed: calls,
        ok,
        error: None,
    };
    render(&page, &run)
}

/// CSS class and short label of an outcome.
fn outcome(o: Option<&CallOutcome>) -> (&'static str, String) {
    match o {
        None => ("ringing", "calling…".into()),
        Some(CallOutcome::Accepted) => ("accepted", "pressed 1 · accepted".into()),
        Some(CallOutcome::Passed) => ("passed", "pressed 2 · passed on".into()),
        Some(CallOutcome::Declined(r)) => {
            ("passed", format!("pressed 2 · passed on ({})", r.label()))
        }
        Some(CallOutcome::Escalated) => ("escalated", "pressed 3 · escalated".into()),
        Some(CallOutcome::InvalidKey(k)) => ("invalid", format!("pressed {k}")),
        Some(CallOutcome::NoKeypress) => ("hangup", "answered, hung up without a key".into()),
        Some(CallOutcome::NoAnswer) => ("noanswer", "no answer".into()),
        Some(CallOutcome::Busy) => ("busy", "busy".into()),
        Some(CallOutcome::OnAnotherCall) => ("busy", "on another escalation's call".into()),
        Some(CallOutcome::Machine) => ("machine", "voicemail".into()),
        Some(CallOutcome::Failed) => ("failed", "call failed".into()),
        Some(CallOutcome::Unreachable(_)) => ("failed", "could not be dialled".into()),
        Some(CallOutcome::HungUp(by)) => ("hangup", format!("hung up · {by} accepted first")),
    }
}

/// Above this many acceptances the page draws none (a storm would be a wall of lines).
const ACCEPT_LINES: usize = 12;

const LEGEND: [(&str, &str); 9] = [
    ("accepted", "pressed 1: accepted"),
    ("passed", "pressed 2: passed on"),
    ("escalated", "pressed 3: escalated"),
    ("hangup", "answered, no key"),
    ("noanswer", "no answer"),
    ("busy", "busy"),
    ("machine", "voicemail"),
    ("failed", "failed"),
    ("ringing", "still ringing"),
];

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.desc{margin:0;color:#444}.mode{margin:2px 0 16px;color:#777;font-size:12px}
.summary li{margin:2px 0}.tta{display:inline-block;margin-left:8px;padding:0 6px;border-radius:8px;background:#e3f5e6;color:#11612a;font-weight:600}
.chart{position:relative;border:1px solid #d5d9e0;border-radius:6px;padding:8px 0}
.lane{display:flex;align-items:center;min-height:44px;border-bottom:1px solid #eef0f3}
.lane:last-child{border-bottom:0}
.lane-name{flex:0 0 190px;padding:0 12px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.lane-name small{display:block;font-weight:400;color:#777}
.track{position:relative;flex:1 1 auto;height:34px;margin-right:16px}
.axis .track{height:18px;border-bottom:1px solid #c9ced6}
.tick{position:absolute;bottom:0;font-size:11px;color:#777;transform:translateX(-50%)}
.bar{position:absolute;top:4px;height:26px;min-width:4px;border-radius:4px;color:#fff;font-size:11px;line-height:26px;white-space:nowrap;overflow:hidden;box-sizing:border-box;padding:0 6px}
.bar .key{position:absolute;right:2px;top:3px;width:20px;height:20px;line-height:20px;border-radius:10px;background:#fff;color:#1d2330;text-align:center;font-weight:700}
.accepted{background:#1e8e3e}.passed{background:#1967d2}.escalated{background:#8430ce}.invalid{background:#b06000}
.hangup{background:#e37400}.noanswer{background:#80868b}.busy{background:#a50e0e}.machine{background:#c26401}
.failed{background:#5f1111}.ringing{background:repeating-linear-gradient(45deg,#9aa0a6,#9aa0a6 6px,#bdc1c6 6px,#bdc1c6 12px)}
.mark{position:absolute;top:7px;width:20px;height:20px;margin-left:-10px;border-radius:4px;background:#293a7a;color:#fff;font-size:11px;line-height:20px;text-align:center}
.caller .mark{background:#6a4c93}
.accept-line{position:absolute;top:0;bottom:0;border-left:2px dashed #1e8e3e;pointer-events:none}
.accept-line span{position:absolute;top:-2px;left:4px;background:#e3f5e6;color:#11612a;font-size:11px;padding:0 4px;border-radius:4px;white-space:nowrap}
.accept-line.late span{left:auto;right:4px}
.legend{display:flex;flex-wrap:wrap;gap:12px;margin-top:10px;font-size:12px}
.legend i{display:inline-block;width:14px;height:10px;border-radius:2px;margin-right:4px;vertical-align:middle}
.notes{font-size:13px}.notes li{margin:2px 0}.notes time{color:#777;margin-right:6px}
";

/// The layout check the browser test reads (see the module docs).
const SELF_CHECK: &str = "(function(){var bars=document.querySelectorAll('.bar'),out=0;\
bars.forEach(function(b){var r=b.getBoundingClientRect(),t=b.parentElement.getBoundingClientRect();\
if(r.width<1||r.height<1||r.left<t.left-1||r.right>t.right+1){out++;}});\
document.body.setAttribute('data-rendered',JSON.stringify({lanes:document.querySelectorAll('.lane[data-lane]').length,\
bars:bars.length,outside:out,resources:performance.getEntriesByType('resource').length}));})();";

/// The whole page.
pub fn render(page: &Page, run: &RunSummary) -> String {
    let end = page.end() * 1.04;
    let pct = |t: f64| (t / end * 100.0).clamp(0.0, 100.0);
    let at = |t: f64| format!("+{t:.1} s");
    let mut h = String::new();
    let title = format!("Scenario {}", page.name);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{} — phone escalation</title>\
         <style>{STYLE}</style></head>\n<body>\n<h1>{}</h1><p class=\"desc\">{}</p>\
         <p class=\"mode\">{} · {}</p>\n",
        esc(&title),
        esc(&title),
        esc(&page.description),
        esc(&page.mode),
        esc(&match (&run.error, run.ok) {
            (Some(e), _) => format!("did not finish: {e}"),
            (None, true) => format!("outcome as promised ({})", run.expect),
            (None, false) => format!("outcome NOT as promised ({})", run.expect),
        })
    );
    h.push_str("<ul class=\"summary\">");
    for r in &run.incidents {
        let tta = match (r.status, r.ms_to_accept) {
            (Some(Status::Accepted), Some(ms)) => format!(
                "<span class=\"tta\">time to accept {:.1} s</span>",
                ms as f64 / 1000.0
            ),
            _ => String::new(),
        };
        let _ = write!(
            h,
            "<li class=\"incident\" data-incident=\"{}\"><b>{}</b> {}{tta}</li>",
            esc(&r.number),
            esc(&r.number),
            esc(&super::summary_text(r))
        );
    }
    let _ = write!(
        h,
        "</ul>\n<div class=\"chart\">\n<div class=\"lane axis\"><div class=\"lane-name\">{}</div>\
         <div class=\"track\">",
        esc(&plural(run.calls_placed, "call", "calls"))
    );
    let step = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0]
        .into_iter()
        .find(|s| end / s <= 12.0)
        .unwrap_or(600.0);
    let mut tick = 0.0;
    while tick <= end {
        let _ = write!(
            h,
            "<span class=\"tick\" style=\"left:{:.3}%\">{tick:.0} s</span>",
            pct(tick)
        );
        tick += step;
    }
    h.push_str("</div></div>\n");
    for lane in &page.lanes {
        let kind = if lane.caller { "caller" } else { "person" };
        let _ = write!(
            h,
            "<div class=\"lane {kind}\" data-lane=\"{kind}\"><div class=\"lane-name\" title=\"{}\">{}<small>{}</small></div><div class=\"track\">",
            esc(&lane.name),
            esc(&lane.name),
            esc(if lane.caller {
                "escalation line"
            } else {
                &lane.phone
            })
        );
        for b in &lane.bars {
            let (class, label) = outcome(b.outcome.as_ref());
            let stop = b.end.unwrap_or(end);
            let key = b
                .outcome
                .as_ref()
                .and_then(CallOutcome::digit)
                .map(|d| format!("<b class=\"key\">{}</b>", esc(d)))
                .unwrap_or_default();
            let _ = write!(
                h,
                "<div class=\"bar {class}\" data-incident=\"{}\" style=\"left:{:.3}%;width:{:.3}%\" \
                 title=\"{} attempt {}: {} — {label} ({}–{})\"><span>{} · {}</span>{key}</div>",
                esc(&b.incident),
                pct(b.start),
                (pct(stop) - pct(b.start)).max(0.0),
                esc(&b.incident),
                b.attempt,
                esc(&lane.name),
                at(b.start),
                at(stop),
                esc(&b.incident),
                esc(&label)
            );
        }
        for m in &lane.marks {
            let _ = write!(
                h,
                "<div class=\"mark\" style=\"left:{:.3}%\" title=\"{} {}\">☎</div>",
                pct(m.t),
                at(m.t),
                esc(&m.text)
            );
        }
        h.push_str("</div></div>\n");
    }
    h.push_str("<div class=\"lane servicenow\" data-lane=\"servicenow\"><div class=\"lane-name\">ServiceNow<small>trigger and writes</small></div><div class=\"track\">");
    for (i, m) in page.service_now.iter().enumerate() {
        let _ = write!(
            h,
            "<div class=\"mark\" style=\"left:{:.3}%\" title=\"{} {} {}\">{}</div>",
            pct(m.t),
            at(m.t),
            esc(&m.incident),
            esc(&m.text),
            i + 1
        );
    }
    h.push_str("</div></div>\n");
    // One line per acceptance, while there are few enough to tell apart.
    let accepts = if page.accepts.len() <= ACCEPT_LINES {
        page.accepts.as_slice()
    } else {
        &[]
    };
    for (t, incident, who) in accepts {
        // The lanes start after the 190 px name column; the line sits on the time axis.
        // Late in the run, the label goes to the line's left so it stays on the page.
        let late = if pct(*t) > 60.0 { " late" } else { "" };
        let _ = write!(
            h,
            "<div class=\"accept-line{late}\" style=\"left:calc(190px + (100% - 206px) * {:.5})\"><span>{} accepted by {} at {}</span></div>",
            pct(*t) / 100.0,
            esc(incident),
            esc(who),
            at(*t)
        );
    }
    h.push_str("</div>\n<div class=\"legend\">");
    for (class, label) in LEGEND {
        let _ = write!(h, "<span><i class=\"{class}\"></i>{label}</span>");
    }
    h.push_str("</div>\n");
    if !page.service_now.is_empty() {
        h.push_str("<h2>ServiceNow</h2>");
    }
    h.push_str("<ol class=\"notes\">");
    for m in &page.service_now {
        let _ = write!(
            h,
            "<li><time>{}</time><b>{}</b> {}</li>",
            at(m.t),
            esc(&m.incident),
            esc(&m.text)
        );
    }
    let _ = write!(h, "</ol>\n<script>{SELF_CHECK}</script>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn text_from_notes_and_names_cannot_open_tags() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }
}
