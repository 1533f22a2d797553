//! Where to start (or stop) reading a partition, as the tools' `--offset`,
//! `--until` and `--to-datetime` take it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::error::{ClientError, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetSpec {
    Earliest,
    Latest,
    /// An absolute offset.
    At(i64),
    /// This many records before the end.
    FromEnd(i64),
    /// The first record at or after this time (milliseconds since the epoch).
    Timestamp(i64),
}

impl OffsetSpec {
    /// Parses `earliest`, `latest`, `N`, `-N`, `@<epoch ms>`, `@<RFC 3339
    /// time>` or `@-<duration>` (that long ago, e.g. `@-10m`); `now_ms` is
    /// the reference for relative times.
    pub fn parse(s: &str, now_ms: i64) -> Result<OffsetSpec> {
        let invalid = |why: String| {
            ClientError::Invalid(format!(
                "'{s}' is not an offset ({why}); use earliest, latest, N, -N, @TIMESTAMP or @-DURATION"
            ))
        };
        match s {
            "earliest" | "beginning" => return Ok(OffsetSpec::Earliest),
            "latest" | "end" => return Ok(OffsetSpec::Latest),
            _ => {}
        }
        if let Some(time) = s.strip_prefix('@') {
            return parse_time(time, now_ms)
                .map(OffsetSpec::Timestamp)
                .map_err(invalid);
        }
        match s.parse::<i64>() {
            Ok(n) if n < 0 => Ok(OffsetSpec::FromEnd(-n)),
            Ok(n) => Ok(OffsetSpec::At(n)),
            Err(e) => Err(invalid(e.to_string())),
        }
    }
}

/// A point in time: epoch milliseconds, an RFC 3339 time in UTC
/// (`2026-11-25T10:00:00Z`, the Z and fractions of seconds optional), or
/// `-DURATION` before `now_ms` (`-10m`, `-1h 30m`, `-PT10M`).
pub fn parse_time(s: &str, now_ms: i64) -> std::result::Result<i64, String> {
    if let Some(ago) = s.strip_prefix('-') {
        return Ok(now_ms - parse_duration(ago)?.as_millis() as i64);
    }
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let t: SystemTime = humantime::parse_rfc3339_weak(s).map_err(|e| e.to_string())?;
    Ok(t.duration_since(UNIX_EPOCH)
        .map_err(|_| "before 1970".to_string())?
        .as_millis() as i64)
}

/// A duration as Kafka's tools write it in ISO 8601 (`PT10M`, `P1DT2H`) or
/// as people do (`10m`, `1h 30m`).
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    if s.starts_with(['P', 'p']) {
        let d = iso8601::duration(&s.to_ascii_uppercase())
            .map_err(|_| format!("'{s}' is not an ISO 8601 duration such as PT10M"))?;
        Ok(d.into())
    } else {
        humantime::parse_duration(s).map_err(|e| format!("'{s}' is not a duration: {e}"))
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses() {
        let now = 1_700_000_000_000;
        assert_eq!(
            OffsetSpec::parse("earliest", now).unwrap(),
            OffsetSpec::Earliest
        );
        assert_eq!(
            OffsetSpec::parse("latest", now).unwrap(),
            OffsetSpec::Latest
        );
        assert_eq!(OffsetSpec::parse("42", now).unwrap(), OffsetSpec::At(42));
        assert_eq!(
            OffsetSpec::parse("-5", now).unwrap(),
            OffsetSpec::FromEnd(5)
        );
        assert_eq!(
            OffsetSpec::parse("@1600000000000", now).unwrap(),
            OffsetSpec::Timestamp(1_600_000_000_000)
        );
        assert_eq!(
            OffsetSpec::parse("@-10m", now).unwrap(),
            OffsetSpec::Timestamp(now - 600_000)
        );
        assert_eq!(
            OffsetSpec::parse("@2020-09-13T12:26:40Z", now).unwrap(),
            OffsetSpec::Timestamp(1_600_000_000_000)
        );
        assert_eq!(
            OffsetSpec::parse("@-PT1H", now).unwrap(),
            OffsetSpec::Timestamp(now - 3_600_000)
        );
        for bad in ["", "soon", "@yesterday", "@-10 parsecs", "1.5", "@-PXYZ"] {
            let e = OffsetSpec::parse(bad, now).unwrap_err().to_string();
            assert!(e.contains("is not an offset"), "{bad}: {e}");
        }
    }

    #[test]
    fn durations_in_both_notations() {
        assert_eq!(parse_duration("PT10M").unwrap(), Duration::from_secs(600));
        assert_eq!(
            parse_duration("P1DT2H").unwrap(),
            Duration::from_secs(26 * 3600)
        );
        assert_eq!(parse_duration("pt30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("P").is_err());
        assert!(parse_duration("ten minutes").is_err());
    }
}
