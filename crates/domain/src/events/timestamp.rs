//! ISO 8601 timestamps of the event protocol (EVT-10): `YYYY-MM-DDThh:mm:ss[.fff]` followed by
//! `±hh:mm`, `±hhmm` or `Z`. Pure arithmetic on the civil calendar: no clock, no time zone data.

/// The instant of `text` as milliseconds since the Unix epoch (UTC), or `None` when the text
/// is not an ISO 8601 date-time with an offset. Fractions beyond milliseconds are truncated.
pub fn parse_ms(text: &str) -> Option<i64> {
    let t = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = t.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if t.len() < 19 || t[4] != b'-' || t[7] != b'-' || !matches!(t[10], b'T' | b't' | b' ') || t[13] != b':' || t[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if t.get(i) == Some(&b'.') || t.get(i) == Some(&b',') {
        i += 1;
        let start = i;
        while t.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        for (k, d) in t[start..i].iter().take(3).enumerate() {
            millis += i64::from(d - b'0') * [100, 10, 1][k];
        }
    }
    let offset_min = match t.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    let d = [*h1, *h2, *m1, *m2];
                    if !d.iter().all(u8::is_ascii_digit) {
                        return None;
                    }
                    (i64::from((d[0] - b'0') * 10 + d[1] - b'0'), i64::from((d[2] - b'0') * 10 + d[3] - b'0'))
                }
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let sign = if *sign == b'-' { -1 } else { 1 };
            sign * (h * 60 + m)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Some(seconds * 1000 + millis)
}

/// Formats an instant as `YYYY-MM-DDThh:mm:ss.sss±hh:mm` with the given offset (the form the
/// POS-side implementation emits, EVT-10).
pub fn format_ms(ms: i64, offset_min: i32) -> String {
    let local = ms + i64::from(offset_min) * 60_000;
    let (days, rem) = (local.div_euclid(86_400_000), local.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    let sign = if offset_min < 0 { '-' } else { '+' };
    let off = offset_min.unsigned_abs();
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}{sign}{:02}:{:02}", off / 60, off % 60)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tv_e8_evt_10_offsets_and_fractions() {
        let a = parse_ms("2017-10-09T18:31:42.201+0300").unwrap();
        assert_eq!(parse_ms("2017-10-09T18:31:42.201+03:00"), Some(a));
        assert_eq!(parse_ms("2017-10-09T15:31:42.201Z"), Some(a));
        assert_eq!(parse_ms("2017-10-09T18:31:42+03:00"), Some(a - 201));
        assert_eq!(a, 1_507_563_102_201);
        for bad in ["", "2017-10-09", "2017-13-09T18:31:42Z", "2017-10-09T18:31:42", "2017-10-09T18:31:42+3", "2017-02-30T00:00:00Z", "2017-10-09T18:31:42.Z"] {
            assert_eq!(parse_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn evt_10_format_round_trips() {
        let a = parse_ms("2017-10-09T18:31:42.201+03:00").unwrap();
        assert_eq!(format_ms(a, 180), "2017-10-09T18:31:42.201+03:00");
        assert_eq!(format_ms(a, 0), "2017-10-09T15:31:42.201+00:00");
        assert_eq!(parse_ms(&format_ms(-1, -90)), Some(-1));
    }

    proptest::proptest! {
        #[test]
        fn evt_10_format_then_parse_is_identity(ms in -62_000_000_000_000i64..250_000_000_000_000, off in -720i32..840) {
            proptest::prop_assert_eq!(parse_ms(&format_ms(ms, off)), Some(ms));
        }
    }
}
