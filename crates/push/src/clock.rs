//! Wall-clock time: Unix milliseconds for scheduling, ISO-8601 UTC for display.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `2025-03-04T05:06:07Z` for Unix milliseconds.
pub fn iso_utc(ms: i64) -> String {
    leian_ingest::calendar::iso_utc(ms.div_euclid(1000))
}

pub(crate) fn now_iso() -> String {
    iso_utc(now_ms())
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_a_known_instant() {
        assert_eq!(super::iso_utc(1_700_000_000_123), "2023-11-14T22:13:20Z");
    }
}
