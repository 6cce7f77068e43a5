//! Times on the command line: a calendar date (`2026-12-31`, the end of that day in UTC, or its
//! start for lower bounds) or an RFC 3339 instant (`2026-12-31T18:00:00Z`).

use anyhow::Context;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

/// Which end of a bare date a time stands for.
#[derive(Clone, Copy, Debug)]
pub enum DayEnd {
    /// 00:00:00 UTC: `--since 2026-11-01` includes that whole day.
    Start,
    /// 23:59:59 UTC: `--until 2026-12-31` lasts through that day.
    End,
}

/// Unix seconds for `text`.
pub fn parse_unix(text: &str, end: DayEnd) -> anyhow::Result<u64> {
    let text = text.trim();
    let at = match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(at) => at,
        Err(_) => {
            let date = Date::parse(text, format_description!("[year]-[month]-[day]")).with_context(|| {
                format!("'{text}' is not a date (YYYY-MM-DD) or an RFC 3339 time (YYYY-MM-DDTHH:MM:SSZ)")
            })?;
            let time = match end {
                DayEnd::Start => Time::MIDNIGHT,
                DayEnd::End => Time::from_hms(23, 59, 59).expect("a valid time"),
            };
            date.with_time(time).assume_utc()
        }
    };
    u64::try_from(at.unix_timestamp()).with_context(|| format!("'{text}' is before 1970"))
}

pub use medkey_protocol::clock::now_ms;

/// RFC 3339 for Unix milliseconds, to the second (the raw number if out of range).
pub fn rfc3339_ms(at_ms: u64) -> String {
    OffsetDateTime::from_unix_timestamp((at_ms / 1_000) as i64)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| at_ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants() {
        assert_eq!(parse_unix("2026-12-31", DayEnd::Start).unwrap(), 1_798_675_200);
        assert_eq!(parse_unix("2026-12-31", DayEnd::End).unwrap(), 1_798_761_599);
        assert_eq!(parse_unix("2026-12-31T00:00:00Z", DayEnd::End).unwrap(), 1_798_675_200);
        assert_eq!(parse_unix("2026-12-31T01:00:00+01:00", DayEnd::End).unwrap(), 1_798_675_200);
        for bad in ["", "tomorrow", "2026-13-01", "31/12/2026", "1969-12-31"] {
            assert!(parse_unix(bad, DayEnd::Start).is_err(), "{bad}");
        }
        assert_eq!(rfc3339_ms(1_798_675_200_123), "2026-12-31T00:00:00Z");
    }
}
