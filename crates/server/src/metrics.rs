//! Prometheus metrics: requests by route and status, a latency histogram, index gauges.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Counts {
    /// (method, route, status) → requests.
    requests: BTreeMap<(String, String, u16), u64>,
    /// Cumulative counts per bucket (plus +Inf = `count`).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// Request counters; one per server.
#[derive(Default)]
pub(crate) struct Metrics {
    counts: Mutex<Counts>,
}

impl Metrics {
    pub(crate) fn record(&self, method: &str, route: &str, status: u16, took: Duration) {
        let Ok(mut c) = self.counts.lock() else {
            return;
        };
        *c.requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        let secs = took.as_secs_f64();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                c.buckets[i] += 1;
            }
        }
        c.count += 1;
        c.sum_seconds += secs;
    }

    /// The Prometheus text exposition, with the index gauges given.
    pub(crate) fn render(&self, cases: u64, generation: u64, dense: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP leian_http_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE leian_http_requests_total counter");
        if let Ok(c) = self.counts.lock() {
            for ((method, route, status), n) in &c.requests {
                let _ = writeln!(
                    out,
                    "leian_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    route.replace('\\', "\\\\").replace('"', "\\\"")
                );
            }
            let _ = writeln!(
                out,
                "# HELP leian_http_request_duration_seconds Request latency."
            );
            let _ = writeln!(out, "# TYPE leian_http_request_duration_seconds histogram");
            for (le, n) in BUCKETS.iter().zip(c.buckets) {
                let _ = writeln!(
                    out,
                    "leian_http_request_duration_seconds_bucket{{le=\"{le}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "leian_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
                c.count
            );
            let _ = writeln!(
                out,
                "leian_http_request_duration_seconds_sum {}",
                c.sum_seconds
            );
            let _ = writeln!(out, "leian_http_request_duration_seconds_count {}", c.count);
        }
        let _ = writeln!(out, "# HELP leian_index_cases Cases in the index.");
        let _ = writeln!(out, "# TYPE leian_index_cases gauge");
        let _ = writeln!(out, "leian_index_cases {cases}");
        let _ = writeln!(
            out,
            "# HELP leian_index_generation Index generation number."
        );
        let _ = writeln!(out, "# TYPE leian_index_generation gauge");
        let _ = writeln!(out, "leian_index_generation {generation}");
        let _ = writeln!(
            out,
            "# HELP leian_dense_enabled 1 when dense/hybrid search is available."
        );
        let _ = writeln!(out, "# TYPE leian_dense_enabled gauge");
        let _ = writeln!(out, "leian_dense_enabled {}", u8::from(dense));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.record("GET", "/healthz", 200, Duration::from_millis(3));
        m.record("GET", "/healthz", 200, Duration::from_millis(300));
        let text = m.render(7, 2, false);
        assert!(text.contains(
            "leian_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
        ));
        assert!(text.contains("leian_http_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("leian_http_request_duration_seconds_bucket{le=\"0.5\"} 2"));
        assert!(text.contains("leian_index_cases 7"));
        assert!(text.contains("leian_index_generation 2"));
    }
}
