//! The HTTP client every outbound adapter shares (built once per container).

use std::time::Duration;

/// 3 s to connect, 10 s per request (retries come on top, bounded by each caller).
pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(10))
        .user_agent(concat!(
            "servicenow-phone-escalation/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| e.to_string())
}
