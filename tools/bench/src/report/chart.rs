//! The batch-time chart (SVG, no dependencies): flow-events' batch wall time against the
//! injected latency, measured and ideal, per concurrency.

use crate::flow::FlowRun;
use crate::stats::{human, sig3};
use std::fmt::Write;
use std::time::Duration;

const COLORS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

/// Round up to 1, 2 or 5 × 10^n.
fn nice(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|v| *v >= x)
        .unwrap_or(10.0 * p)
}

/// Batch wall time against injected latency, one solid line per concurrency, the ideal
/// `relevant / concurrency × latency` dashed in the same colour.
pub fn chart(flow: &[FlowRun]) -> String {
    let (w, h) = (760.0, 460.0);
    let (left, right, top, bottom) = (70.0, 190.0, 50.0, 60.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let mut conc: Vec<u32> = flow.iter().map(|f| f.concurrency).collect();
    conc.sort_unstable();
    conc.dedup();
    let xmax = flow.iter().map(|f| f.latency_ms).max().unwrap_or(1).max(1) as f64;
    let ymax_raw = flow
        .iter()
        .map(|f| f.wall.as_secs_f64().max(f.ideal().as_secs_f64()))
        .fold(0.0, f64::max);
    let ystep = nice(ymax_raw / 5.0);
    let ymax = (ymax_raw / ystep).ceil().max(1.0) * ystep;
    let x = |ms: f64| left + ms / xmax * pw;
    let y = |s: f64| top + ph - s / ymax * ph;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let records = flow.first().map_or(0, |f| f.records);
    let relevant = flow.first().map_or(0, |f| f.relevant);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" font-size="15" font-weight="bold">flow-events: wall time of one {records}-record batch ({relevant} relevant)</text>"#,
        left
    );
    // Grid and y ticks.
    let mut v = 0.0;
    while v <= ymax + 1e-9 {
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#e0e0e0"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            left + pw,
            left - 8.0,
            yy + 4.0,
            sig3(v).trim_end_matches('0').trim_end_matches('.')
        );
        v += ystep;
    }
    let mut lat: Vec<u64> = flow.iter().map(|f| f.latency_ms).collect();
    lat.sort_unstable();
    lat.dedup();
    for l in &lat {
        let xx = x(*l as f64);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{top}" x2="{xx:.1}" y2="{:.1}" stroke="#f0f0f0"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{l}</text>"##,
            top + ph,
            top + ph + 18.0
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">injected latency on Twilio Context GET (ms)</text>"#,
        left + pw / 2.0,
        h - 18.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(20 {:.1}) rotate(-90)" text-anchor="middle">batch wall time (s)</text>"#,
        top + ph / 2.0
    );
    for (i, c) in conc.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut runs: Vec<&FlowRun> = flow.iter().filter(|f| f.concurrency == *c).collect();
        runs.sort_by_key(|f| f.latency_ms);
        // The polyline of one time of each run against its latency.
        let points = |time: fn(&FlowRun) -> Duration| -> String {
            runs.iter()
                .map(|f| {
                    let (px, py) = (x(f.latency_ms as f64), y(time(f).as_secs_f64()));
                    format!("{px:.1},{py:.1}")
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let measured = points(|f| f.wall);
        let ideal = points(FlowRun::ideal);
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="6 4"/>"#,
            ideal
        );
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2.5"/>"#,
            measured
        );
        for f in &runs {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{color}"><title>concurrency {c}, {} ms: {}</title></circle>"#,
                x(f.latency_ms as f64),
                y(f.wall.as_secs_f64()),
                f.latency_ms,
                human(f.wall)
            );
        }
        let ly = top + 20.0 + i as f64 * 40.0;
        let lx = left + pw + 20.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="2.5"/><text x="{}" y="{}">concurrency {c}: measured</text>"#,
            lx + 28.0,
            lx + 34.0,
            ly + 4.0
        );
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{}" x2="{}" y2="{}" stroke="{color}" stroke-width="2" stroke-dasharray="6 4"/><text x="{}" y="{}">ideal</text>"#,
            ly + 16.0,
            lx + 28.0,
            ly + 16.0,
            lx + 34.0,
            ly + 20.0
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="11" fill="#555">ideal = relevant / concurrency × latency</text>"##,
        left + pw + 20.0,
        top + 20.0 + conc.len() as f64 * 40.0 + 10.0
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::run;

    #[test]
    fn chart_has_a_measured_and_an_ideal_line_per_concurrency() {
        let runs = [
            run(1, 0, 2000),
            run(1, 50, 7000),
            run(8, 0, 1500),
            run(8, 50, 2500),
        ];
        let svg = chart(&runs);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert_eq!(
            svg.matches("stroke-dasharray").count(),
            2 + 2,
            "ideal lines + legend"
        );
        assert_eq!(svg.matches("<circle").count(), 4);
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice(0.7), 1.0);
        assert_eq!(nice(1.3), 2.0);
        assert_eq!(nice(3.0), 5.0);
        assert_eq!(nice(12.0), 20.0);
    }
}
