//! Local wall-clock instants of the cash core (CORE-30, CORE-31, CORE-32): a naive local date-time
//! with millisecond precision, its CORE-30 string form and its CORE-31 `DateTime` object form.
//!
//! The cash core works in the server's local time without a zone, so this is a plain count of
//! milliseconds since 1970-01-01T00:00:00.000 of a proleptic Gregorian calendar; the caller (the
//! engine) reads the clock and passes it in. Calendar arithmetic uses the days-from-civil
//! algorithm (H. Hinnant), integers only.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const MS_PER_SECOND: i64 = 1_000;
const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// The text of an unset date-time (CORE-30: the Delphi zero date).
pub const ZERO_DATE_TEXT: &str = "1899-12-30T00:00:00.000";

/// A local date-time with millisecond precision.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDateTime(i64);

/// A span of time in milliseconds (shift length, autonomous-mode limit).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Millis(pub i64);

impl Millis {
    /// `hours` hours.
    #[must_use]
    pub const fn hours(hours: i64) -> Millis {
        Millis(hours * MS_PER_HOUR)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
const fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 };
    (year, month, day)
}

const fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl LocalDateTime {
    /// The instant at the given calendar fields, or `None` if a field is out of range.
    #[must_use]
    pub fn from_parts(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32, milli: u32) -> Option<Self> {
        let (month, day) = (i64::from(month), i64::from(day));
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 59 || milli > 999 {
            return None;
        }
        let days = days_from_civil(year, month, day);
        Some(LocalDateTime(
            days * MS_PER_DAY
                + i64::from(hour) * MS_PER_HOUR
                + i64::from(minute) * MS_PER_MINUTE
                + i64::from(second) * MS_PER_SECOND
                + i64::from(milli),
        ))
    }

    /// Milliseconds since 1970-01-01T00:00:00.000 (local).
    #[must_use]
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The instant `millis` ms after 1970-01-01T00:00:00.000 (local).
    #[must_use]
    pub const fn from_millis(millis: i64) -> Self {
        LocalDateTime(millis)
    }

    /// `self + span`.
    #[must_use]
    pub const fn plus(self, span: Millis) -> Self {
        LocalDateTime(self.0 + span.0)
    }

    /// `self − earlier`.
    #[must_use]
    pub const fn since(self, earlier: LocalDateTime) -> Millis {
        Millis(self.0 - earlier.0)
    }

    /// Calendar fields: (year, month, day, hour, minute, second, millisecond).
    #[must_use]
    pub fn parts(self) -> (i64, u32, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms = self.0.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        // The remainders are bounded by a day, so the narrowing casts cannot truncate.
        let field = |v: i64| u32::try_from(v).unwrap_or(0);
        (
            y,
            field(m),
            field(d),
            field(ms / MS_PER_HOUR),
            field(ms % MS_PER_HOUR / MS_PER_MINUTE),
            field(ms % MS_PER_MINUTE / MS_PER_SECOND),
            field(ms % MS_PER_SECOND),
        )
    }

    /// Parses the CORE-30 forms `YYYY-MM-DDTHH:MM:SS.mmm`, `YYYY-MM-DDTHH:MM:SS`, `YYYY-MM-DD`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let num = |s: &str| -> Option<u32> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let (date, time) = match text.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (text, None),
        };
        let mut d = date.split('-');
        let (y, mo, da) = (d.next()?, d.next()?, d.next()?);
        if d.next().is_some() || y.len() != 4 || mo.len() != 2 || da.len() != 2 {
            return None;
        }
        let (mut h, mut mi, mut s, mut ms) = (0, 0, 0, 0);
        if let Some(time) = time {
            let (hms, frac) = match time.split_once('.') {
                Some((hms, frac)) => (hms, Some(frac)),
                None => (time, None),
            };
            let mut t = hms.split(':');
            let (th, tm, ts) = (t.next()?, t.next()?, t.next()?);
            if t.next().is_some() || th.len() != 2 || tm.len() != 2 || ts.len() != 2 {
                return None;
            }
            (h, mi, s) = (num(th)?, num(tm)?, num(ts)?);
            if let Some(frac) = frac {
                if frac.len() != 3 {
                    return None;
                }
                ms = num(frac)?;
            }
        }
        LocalDateTime::from_parts(i64::from(num(y)?), num(mo)?, num(da)?, h, mi, s, ms)
    }

    /// The CORE-31 object form (whole seconds).
    #[must_use]
    pub fn object(self) -> DateTimeObject {
        let (year, month, day, hour, minute, second, _) = self.parts();
        DateTimeObject {
            date: DateObject { year: u32::try_from(year).unwrap_or(0), month, day },
            time: TimeObject { hour, minute, second },
        }
    }

    /// The instant a CORE-31 object denotes (`None` for the zero object or invalid fields).
    #[must_use]
    pub fn from_object(object: &DateTimeObject) -> Option<Self> {
        let (d, t) = (object.date, object.time);
        LocalDateTime::from_parts(i64::from(d.year), d.month, d.day, t.hour, t.minute, t.second, 0)
    }

    /// `YYYYMMDDTHHMMSS` (the `t=` parameter of the consumer QR URL, CORE-100).
    #[must_use]
    pub fn compact(self) -> String {
        let (y, mo, d, h, mi, s, _) = self.parts();
        format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}")
    }
}

impl fmt::Display for LocalDateTime {
    /// CORE-30: `YYYY-MM-DDTHH:MM:SS.mmm`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s, ms) = self.parts();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}")
    }
}

impl Serialize for LocalDateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalDateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        LocalDateTime::parse(&text).ok_or_else(|| serde::de::Error::custom(format_args!("invalid date-time {text:?}")))
    }
}

/// `Option<LocalDateTime>` as the CORE-30 string with the zero date for `None`
/// (`#[serde(with = "crate::kz::time::optional")]`).
pub mod optional {
    use super::{LocalDateTime, ZERO_DATE_TEXT};
    use serde::{Deserialize, Deserializer, Serializer};

    /// `None` → `"1899-12-30T00:00:00.000"`.
    pub fn serialize<S: Serializer>(value: &Option<LocalDateTime>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(at) => serializer.collect_str(at),
            None => serializer.serialize_str(ZERO_DATE_TEXT),
        }
    }

    /// The zero date (or `null`) → `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<LocalDateTime>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) if text.starts_with("1899-12-30") => Ok(None),
            Some(text) => LocalDateTime::parse(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format_args!("invalid date-time {text:?}"))),
        }
    }
}

/// CORE-31 `DateTime` object of ticket, report and money-placement bodies.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateTimeObject {
    pub date: DateObject,
    pub time: TimeObject,
}

/// `Date` of [`DateTimeObject`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateObject {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

/// `Time` of [`DateTimeObject`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeObject {
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl DateTimeObject {
    /// The all-zero object of an unset value (CORE-31).
    pub const ZERO: DateTimeObject =
        DateTimeObject { date: DateObject { year: 0, month: 0, day: 0 }, time: TimeObject { hour: 0, minute: 0, second: 0 } };

    /// The object of an optional instant (zeros for `None`).
    #[must_use]
    pub fn of(at: Option<LocalDateTime>) -> DateTimeObject {
        at.map_or(DateTimeObject::ZERO, LocalDateTime::object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_30_string_form_round_trips() {
        // CORE-30: the three accepted input forms and the emitted form with milliseconds.
        let at = LocalDateTime::parse("2024-12-23T17:07:05.000").unwrap();
        assert_eq!(at.to_string(), "2024-12-23T17:07:05.000");
        assert_eq!(LocalDateTime::parse("2024-12-23T17:07:05").unwrap(), at);
        assert_eq!(LocalDateTime::parse("2024-12-23").unwrap().to_string(), "2024-12-23T00:00:00.000");
        assert_eq!(LocalDateTime::parse(ZERO_DATE_TEXT).unwrap().to_string(), ZERO_DATE_TEXT);
        for bad in ["2024-13-01", "2024-02-30", "2024-1-01", "x", "2024-12-23T25:00:00", "2024-12-23T10:00:00.5"] {
            assert_eq!(LocalDateTime::parse(bad), None, "{bad}");
        }
        assert!(LocalDateTime::parse("2024-02-29").is_some());
    }

    #[test]
    fn core_31_object_form() {
        // CORE-31: whole seconds; unset is all zeros.
        let at = LocalDateTime::parse("2025-01-17T13:34:37.999").unwrap();
        let json = serde_json::to_string(&at.object()).unwrap();
        assert_eq!(json, r#"{"date":{"year":2025,"month":1,"day":17},"time":{"hour":13,"minute":34,"second":37}}"#);
        let zero = serde_json::to_string(&DateTimeObject::of(None)).unwrap();
        assert_eq!(zero, r#"{"date":{"year":0,"month":0,"day":0},"time":{"hour":0,"minute":0,"second":0}}"#);
        assert_eq!(at.compact(), "20250117T133437");
    }

    #[test]
    fn calendar_matches_day_counts() {
        let a = LocalDateTime::parse("2021-01-01").unwrap();
        let b = LocalDateTime::parse("2022-02-24").unwrap();
        assert_eq!(b.since(a).0, 419 * MS_PER_DAY);
        for days in -800_000..-799_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
