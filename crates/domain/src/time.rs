//! Instants, local times and how a local time becomes an instant.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, NaiveDateTime, Offset, SecondsFormat,
    TimeZone, Utc,
};
use chrono_tz::Tz;
use std::fmt;

/// A time as written in a plan: an instant with an offset, or a local time
/// without one, read in the object's zone.
#[derive(Debug, Clone, Copy)]
pub enum TimeValue {
    /// RFC 3339 with an offset. The offset is kept for display; equality is by instant.
    Instant(DateTime<FixedOffset>),
    /// A wall-clock time in some zone.
    Local(NaiveDateTime),
}

impl PartialEq for TimeValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Instant(a), Self::Instant(b)) => a == b,
            (Self::Local(a), Self::Local(b)) => a == b,
            _ => false,
        }
    }
}
impl Eq for TimeValue {}

/// The first year a time may fall in: earlier ones are typos.
pub const MIN_YEAR: i32 = 1900;
/// The last year a time may fall in: chrono-tz's daylight-saving tables end
/// with 2099, and a verdict that ignored DST would be wrong. Recurring
/// freezes and windows have no occurrence after it either.
pub const MAX_YEAR: i32 = 2099;

/// Refuses a year outside [`MIN_YEAR`]..=[`MAX_YEAR`], saying why; every time
/// a plan, a command line or a query names goes through this.
pub fn check_year(year: i32) -> Result<(), String> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(format!(
            "the year must be between {MIN_YEAR} and {MAX_YEAR} (time zone rules are known up to {MAX_YEAR})"
        ))
    }
}

/// The first wall-clock time after the supported years: no occurrence starts
/// at or after it, and no search looks past it.
pub fn end_of_supported_years() -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(MAX_YEAR + 1, 1, 1)
        .unwrap_or(chrono::NaiveDate::MAX)
        .and_time(chrono::NaiveTime::MIN)
}

const LOCAL_FORMATS: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"];

impl TimeValue {
    /// Parses `2026-12-01T14:00:00Z`, `2026-12-01T15:00:00+01:00` or a local
    /// `2026-12-20T00:00:00`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parsed = DateTime::parse_from_rfc3339(text)
            .map(Self::Instant)
            .ok()
            .or_else(|| {
                LOCAL_FORMATS
                    .iter()
                    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
                    .map(Self::Local)
            });
        if let Some(parsed) = parsed {
            let year = match parsed {
                Self::Instant(t) => t.year(),
                Self::Local(t) => t.year(),
            };
            check_year(year).map_err(|why| format!("`{text}`: {why}"))?;
            return Ok(parsed);
        }
        Err(format!(
            "`{text}` is not a time: write an instant with an offset (2026-12-01T14:00:00Z) \
             or a local time (2026-12-01T14:00:00)"
        ))
    }

    /// The instant this time denotes when local times are read in `zone`.
    pub fn resolve(&self, zone: Tz) -> DateTime<Utc> {
        match self {
            Self::Instant(instant) => instant.with_timezone(&Utc),
            Self::Local(local) => resolve_local(*local, zone),
        }
    }

    /// The wall-clock time in `zone`.
    pub fn wall_time(&self, zone: Tz) -> NaiveDateTime {
        match self {
            Self::Instant(instant) => instant.with_timezone(&zone).naive_local(),
            Self::Local(local) => *local,
        }
    }

    /// The same kind of time moved by an exact amount (local times move on the wall clock).
    pub fn shifted(&self, by: Duration) -> Self {
        match self {
            Self::Instant(instant) => Self::Instant(*instant + by),
            Self::Local(local) => Self::Local(*local + by),
        }
    }
}

impl fmt::Display for TimeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Instant(instant) => {
                f.write_str(&instant.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            }
            Self::Local(local) => write!(f, "{}", local.format("%Y-%m-%dT%H:%M:%S%.f")),
        }
    }
}

/// Reads a wall-clock time in `zone` as the spec says: a time in a
/// daylight-saving gap moves forward by the length of the gap, and a time that
/// occurs twice takes the first (earlier) instant.
pub fn resolve_local(local: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, second) => first.min(second).with_timezone(&Utc),
        LocalResult::None => {
            // In a gap the offset in force before the gap applies: 02:30 at
            // +01:00 is 01:30Z, which the zone shows as 03:30 (+02:00).
            let before = local.and_utc() - Duration::days(1);
            let offset = zone.offset_from_utc_datetime(&before.naive_utc()).fix();
            (local - Duration::seconds(i64::from(offset.local_minus_utc()))).and_utc()
        }
    }
}

/// A half-open interval `[start, end)` of instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    /// First instant inside.
    pub start: DateTime<Utc>,
    /// First instant after.
    pub end: DateTime<Utc>,
}

impl Interval {
    /// True when the two intervals share an instant. Touching intervals do not overlap.
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// A time from a plan together with the instant it resolved to when the plan
/// was parsed (in the zone that applies to its object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanTime {
    /// As written.
    pub value: TimeValue,
    /// As resolved.
    pub utc: DateTime<Utc>,
}

impl PlanTime {
    /// Resolves `value` in `zone`.
    pub fn new(value: TimeValue, zone: Tz) -> Self {
        Self {
            value,
            utc: value.resolve(zone),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        match TimeValue::parse(s) {
            Ok(TimeValue::Local(l)) => l,
            other => panic!("not a local time: {other:?}"),
        }
    }

    #[test]
    fn spring_forward_gap_moves_forward_berlin() {
        // 2026-03-29 02:30 does not exist in Berlin: it is 03:30 CEST = 01:30Z.
        let t = resolve_local(local("2026-03-29T02:30:00"), chrono_tz::Europe::Berlin);
        assert_eq!(t.to_rfc3339(), "2026-03-29T01:30:00+00:00");
    }

    #[test]
    fn spring_forward_gap_moves_forward_new_york() {
        // 2026-03-08 02:15 does not exist in New York: it is 03:15 EDT = 07:15Z.
        let t = resolve_local(local("2026-03-08T02:15:00"), chrono_tz::America::New_York);
        assert_eq!(t.to_rfc3339(), "2026-03-08T07:15:00+00:00");
    }

    #[test]
    fn fall_back_takes_first_instant_london() {
        // 2026-10-25 01:30 happens twice in London: first at BST (00:30Z).
        let t = resolve_local(local("2026-10-25T01:30:00"), chrono_tz::Europe::London);
        assert_eq!(t.to_rfc3339(), "2026-10-25T00:30:00+00:00");
    }

    #[test]
    fn fall_back_takes_first_instant_new_york() {
        // 2026-11-01 01:30 happens twice in New York: first at EDT (05:30Z).
        let t = resolve_local(local("2026-11-01T01:30:00"), chrono_tz::America::New_York);
        assert_eq!(t.to_rfc3339(), "2026-11-01T05:30:00+00:00");
    }

    #[test]
    fn instants_compare_by_instant_not_offset() {
        let a = TimeValue::parse("2026-12-01T15:00:00+01:00").unwrap();
        let b = TimeValue::parse("2026-12-01T14:00:00Z").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, TimeValue::parse("2026-12-01T14:00:00").unwrap());
    }

    #[test]
    fn rejects_garbage_with_a_helpful_message() {
        let err = TimeValue::parse("next tuesday").unwrap_err();
        assert!(err.contains("`next tuesday` is not a time"), "{err}");
        assert!(TimeValue::parse("2026-13-01T00:00:00").is_err());
    }

    #[test]
    fn touching_intervals_do_not_overlap() {
        let t = |s: &str| TimeValue::parse(s).unwrap().resolve(Tz::UTC);
        let a = Interval {
            start: t("2026-01-01T10:00:00Z"),
            end: t("2026-01-01T11:00:00Z"),
        };
        let b = Interval {
            start: t("2026-01-01T11:00:00Z"),
            end: t("2026-01-01T12:00:00Z"),
        };
        let c = Interval {
            start: t("2026-01-01T10:59:59Z"),
            end: t("2026-01-01T12:00:00Z"),
        };
        assert!(!a.overlaps(&b));
        assert!(a.overlaps(&c));
    }
}

/// An instant as RFC 3339 UTC to the second, as every report writes it.
pub fn utc_text(t: DateTime<Utc>) -> String {
    use chrono::Timelike;
    // `to_rfc3339_opts(Secs, true)` by hand for four-digit years: a view
    // writes two per release, thousands at a time, and the formatter's
    // generality was a fifth of the work.
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return t.to_rfc3339_opts(SecondsFormat::Secs, true);
    }
    let y = year as u32;
    let fields = [
        y / 100,
        y % 100,
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    ];
    let mut out = [0u8; 20];
    // Where each field's two digits go in `YYYY-MM-DDTHH:MM:SSZ`.
    for (n, at) in fields.into_iter().zip([0, 2, 5, 8, 11, 14, 17]) {
        out[at] = b'0' + (n / 10 % 10) as u8;
        out[at + 1] = b'0' + (n % 10) as u8;
    }
    for (at, c) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'Z'),
    ] {
        out[at] = c;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod utc_tests {
    use super::*;
    use chrono::SecondsFormat;

    #[test]
    fn utc_writes_what_chrono_writes() {
        for text in [
            "1900-01-01T00:00:00Z",
            "1999-12-31T23:59:59Z",
            "2026-03-29T01:00:00Z",
            "2099-12-31T23:59:59Z",
            "0001-02-03T04:05:06Z",
            "2027-06-01T09:30:07.900Z",
        ] {
            let t = DateTime::parse_from_rfc3339(text).unwrap().to_utc();
            assert_eq!(
                utc_text(t),
                t.to_rfc3339_opts(SecondsFormat::Secs, true),
                "{text}"
            );
        }
        let far = DateTime::<Utc>::MAX_UTC;
        assert_eq!(
            utc_text(far),
            far.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
    }
}
