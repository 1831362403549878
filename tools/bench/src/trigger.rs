//! incident-trigger: handler latency (signature check, replay mark, conditional write,
//! outbox message, Studio create at the fake, state write) for many signed requests.
//!
//! `lanes` requests run at once, each lane with its own app (as separate Lambda
//! containers would have) whose roster starts with its own agent, so no request finds
//! its agent busy. All lanes share one thread with a current-thread runtime, so the
//! thread's CPU time divided by the request count is the handler's CPU cost per request.
//! The Twilio fake's rate limit is off and `TWILIO_CREATES_PER_SEC` is at its maximum
//! (1000), so this measures the handler, not the limiter.

use crate::flow::on_own_thread;
use crate::rig::{Rig, lane_phone, press_1, sys_id, twilio_fake};
use crate::sys::thread_cpu;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct TriggerRun {
    pub requests: usize,
    pub lanes: usize,
    pub latencies: Vec<Duration>,
    pub wall: Duration,
    pub cpu: Duration,
    /// HTTP status → count.
    pub statuses: BTreeMap<u16, usize>,
    /// Studio creates answered 409 / 429 by the fake (both should be 0).
    pub conflicts: usize,
    pub throttled: usize,
    /// Reference: round trip of one DynamoDB GetItem to moto, p50 over 200 calls.
    pub moto_get_p50: Duration,
}

pub async fn run(rig: Arc<Rig>, requests: usize, lanes: usize) -> TriggerRun {
    rig.settle_queue().await;
    let twilio = twilio_fake(0, true).await;
    let base_url = twilio.base_url();
    for lane in 0..lanes {
        twilio.script(&lane_phone(lane), press_1(0));
    }
    let rig2 = rig.clone();
    let (latencies, statuses, wall, cpu, moto_get_p50) = on_own_thread(move || async move {
        let rig = rig2;
        let mut apps = Vec::new();
        for lane in 0..lanes {
            let roster = rig.roster_file(&format!("trigger{lane}"), &lane_phone(lane));
            let env = rig.env(
                &base_url,
                &[
                    ("ROSTER_PATH", roster.display().to_string()),
                    ("TWILIO_CREATES_PER_SEC", "1000".into()),
                ],
            );
            apps.push(rig.functions(&env).await);
        }
        // Reference round trip to moto from this thread (connections warm).
        let mut gets = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let _ = escalation_core::ports::Marks::has(
                &*apps[0].parts.repo,
                &escalation_core::ports::Mark::Event("bench#probe".into()),
            )
            .await
            .expect("moto GetItem");
            gets.push(t.elapsed());
        }
        let moto_get_p50 = crate::stats::percentile(&gets, 50.0);

        let per_lane = requests.div_ceil(lanes);
        let cpu0 = thread_cpu();
        let t0 = Instant::now();
        let work = apps.iter().enumerate().map(|(lane, app)| {
            let rig = &rig;
            async move {
                let mut out = Vec::new();
                for i in 0..per_lane {
                    let n = lane * per_lane + i;
                    if n >= requests {
                        break;
                    }
                    // The business rule's side (signing, JSON) is not the handler's cost.
                    let b0 = thread_cpu();
                    let event = rig.trigger_event(&sys_id(), &format!("INC{n:07}"));
                    let client_cpu = thread_cpu() - b0;
                    let req =
                        lambda_http::request::from_str(&event.to_string()).expect("URL event");
                    let t = Instant::now();
                    let resp = app.trigger.handle(req).await.expect("trigger");
                    out.push((t.elapsed(), resp.status().as_u16(), client_cpu));
                }
                out
            }
        });
        let results: Vec<(Duration, u16, Duration)> = futures::future::join_all(work)
            .await
            .into_iter()
            .flatten()
            .collect();
        let wall = t0.elapsed();
        let client: Duration = results.iter().map(|r| r.2).sum();
        let cpu = (thread_cpu() - cpu0).saturating_sub(client);
        let mut statuses = BTreeMap::new();
        for (_, s, _) in &results {
            *statuses.entry(*s).or_insert(0) += 1;
        }
        let latencies = results.into_iter().map(|(d, _, _)| d).collect::<Vec<_>>();
        (latencies, statuses, wall, cpu, moto_get_p50)
    })
    .await;
    let creates = twilio
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Executions"))
        .collect::<Vec<_>>();
    rig.settle_queue().await;
    TriggerRun {
        requests,
        lanes,
        latencies,
        wall,
        cpu,
        statuses,
        conflicts: creates.iter().filter(|r| r.status == 409).count(),
        throttled: creates.iter().filter(|r| r.status == 429).count(),
        moto_get_p50,
    }
}
