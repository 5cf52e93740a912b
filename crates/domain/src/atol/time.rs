//! ATOL date-times `dd.mm.yyyy HH:MM:SS` (ATOL-19): checking incoming values, writing server
//! time in the configured local offset (D-9, default UTC+03:00).

/// Moscow time, the default local offset (D-9).
pub const MOSCOW_OFFSET_SECS: i64 = 3 * 3600;

/// ATOL-19: exactly 19 characters, digit ranges of the seed, no calendar check (D-8).
pub fn is_valid_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 19 || b[2] != b'.' || b[5] != b'.' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return false;
    }
    let num = |i: usize, n: usize| -> Option<u32> {
        let part = &b[i..i + n];
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |a, d| a * 10 + u32::from(d - b'0')))
    };
    matches!(
        (num(0, 2), num(3, 2), num(6, 4), num(11, 2), num(14, 2), num(17, 2)),
        (Some(1..=31), Some(1..=12), Some(_), Some(0..=24), Some(0..=59), Some(0..=59))
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Server time as `dd.mm.yyyy HH:MM:SS` in the local offset: a real date, hours 00–23.
pub fn format_local(now_ms: i64, offset_secs: i64) -> String {
    let secs = now_ms.div_euclid(1000) + offset_secs;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{d:02}.{m:02}.{y:04} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The inverse for tests and fixtures: `dd.mm.yyyy HH:MM:SS` local → Unix ms.
pub fn parse_local(s: &str, offset_secs: i64) -> Option<i64> {
    if !is_valid_timestamp(s) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().ok();
    let (d, m, y, hh, mm, ss) = (n(0..2)?, n(3..5)?, n(6..10)?, n(11..13)?, n(14..16)?, n(17..19)?);
    // days_from_civil
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) - offset_secs) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_syntax() {
        // ATOL-19, TV-15 V1..V4
        assert!(is_valid_timestamp("29.05.2017 17:56:18"));
        assert!(is_valid_timestamp("29.05.2017 24:00:00"));
        assert!(is_valid_timestamp("31.02.2017 24:00:00"));
        assert!(!is_valid_timestamp("2017-05-29 17:56:18"));
        assert!(!is_valid_timestamp("29.05.2017 25:00:00"));
        assert!(!is_valid_timestamp("29.5.2017 17:56:18"));
        assert!(!is_valid_timestamp("00.05.2017 17:56:18"));
        assert!(!is_valid_timestamp("29.13.2017 17:56:18"));
        assert!(!is_valid_timestamp("29.05.2017 17:60:18"));
        assert!(!is_valid_timestamp("29.05.2017 17:56:1я"));
    }

    #[test]
    fn local_time_roundtrip() {
        let t0 = parse_local("29.05.2017 10:00:00", MOSCOW_OFFSET_SECS).unwrap();
        assert_eq!(t0, 1_496_041_200_000);
        assert_eq!(format_local(t0, MOSCOW_OFFSET_SECS), "29.05.2017 10:00:00");
        assert_eq!(format_local(t0 + 14 * 3_600_000, MOSCOW_OFFSET_SECS), "30.05.2017 00:00:00");
        assert_eq!(format_local(0, 0), "01.01.1970 00:00:00");
        assert_eq!(format_local(951_782_400_000, 0), "29.02.2000 00:00:00");
    }
}
