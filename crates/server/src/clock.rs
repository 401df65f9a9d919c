//! Wall-clock time as UTC ISO-8601 strings and calendar dates, without a date crate.

use leian_ingest::{calendar, JudgmentDate};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub(crate) use leian_ingest::calendar::iso_utc;

/// Now as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn now_iso() -> String {
    iso_utc(now_unix())
}

/// The date `years` years before `unix` (29 February becomes 28 February).
pub(crate) fn years_before(unix: i64, years: u16) -> Option<JudgmentDate> {
    let (y, m, d) = calendar::civil_from_days(unix.div_euclid(86_400));
    let y = u16::try_from(y).ok()?.checked_sub(years)?;
    let m = m as u8;
    let d = d as u8;
    JudgmentDate::new(y, m, d).or_else(|| JudgmentDate::new(y, m, d - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_years_before_a_leap_day() {
        // 2024-02-29 → 2021-02-28
        let d = years_before(1_709_164_800, 3).expect("date");
        assert_eq!(d.to_string(), "2021-02-28");
    }
}
