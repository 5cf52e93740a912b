//! Exact decimal checks of JSON numbers (ATOL-21, D-11): digit limits are checked on the value
//! as written, never through a binary float; exponents and trailing zeros are accepted.

/// Why a number does not fit its type; the text goes into error 8's description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberError {
    Negative,
    IntegerDigits(u32),
    FractionDigits(u32),
    Malformed,
}

impl NumberError {
    pub fn reason(&self) -> String {
        match self {
            Self::Negative => "отрицательное значение".into(),
            Self::IntegerDigits(k) => format!("целая часть более {k} знаков"),
            Self::FractionDigits(f) => format!("дробная часть более {f} знаков"),
            Self::Malformed => "некорректное число".into(),
        }
    }
}

/// Reads the JSON number text `text` as `value × 10^scale` when its integer part has at most
/// `int_digits` digits and its fraction at most `scale` significant digits.
pub fn fixed(text: &str, int_digits: u32, scale: u32) -> Result<i64, NumberError> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => {
            let e = &rest[i + 1..];
            let e = e.strip_prefix('+').unwrap_or(e);
            // Exponents beyond any sane size make the value either 0-ish or huge: bound them.
            let exp: i64 = if e.trim_start_matches('-').len() > 6 {
                if e.starts_with('-') { -1_000_000 } else { 1_000_000 }
            } else {
                e.parse().map_err(|_| NumberError::Malformed)?
            };
            (&rest[..i], exp)
        }
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumberError::Malformed);
    }
    // The significant digits, and where the decimal point sits counted from their start.
    let all = format!("{int}{frac}");
    let digits = all.trim_start_matches('0');
    let lead_trimmed = (all.len() - digits.len()) as i64;
    let point = int.len() as i64 + exp - lead_trimmed;
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if negative {
        return Err(NumberError::Negative);
    }
    let int_len = point.max(0);
    if int_len > i64::from(int_digits) {
        return Err(NumberError::IntegerDigits(int_digits));
    }
    let frac_len = digits.len() as i64 - point;
    if frac_len > i64::from(scale) {
        return Err(NumberError::FractionDigits(scale));
    }
    // value × 10^scale = digits × 10^(scale − frac_len); at most int_digits + scale digits.
    let mut v: i64 = 0;
    for b in digits.bytes() {
        v = v * 10 + i64::from(b - b'0');
    }
    for _ in 0..(i64::from(scale) - frac_len) {
        v *= 10;
    }
    Ok(v)
}

/// A JSON number that must be an integer value in `0..=max` (`1` and `1.0` pass, `1.5` not).
pub fn small_int(text: &str, max: i64) -> Option<i64> {
    match fixed(text, 18, 0) {
        Ok(v) if v <= max => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_limits_are_exact() {
        // ATOL-21
        assert_eq!(fixed("5000.0", 8, 2), Ok(500_000));
        assert_eq!(fixed("5000.00", 8, 2), Ok(500_000));
        assert_eq!(fixed("1.500", 8, 2), Ok(150));
        assert_eq!(fixed("5e3", 8, 2), Ok(500_000));
        assert_eq!(fixed("0.5", 8, 2), Ok(50));
        assert_eq!(fixed("0", 8, 2), Ok(0));
        assert_eq!(fixed("0.000", 8, 2), Ok(0));
        assert_eq!(fixed("99999999.99", 8, 2), Ok(9_999_999_999));
        assert_eq!(fixed("100000000", 8, 2), Err(NumberError::IntegerDigits(8)));
        assert_eq!(fixed("1456.215", 8, 2), Err(NumberError::FractionDigits(2)));
        assert_eq!(fixed("-1", 8, 2), Err(NumberError::Negative));
        assert_eq!(fixed("1.2345e2", 8, 2), Ok(12_345));
        assert_eq!(fixed("12345e-2", 8, 2), Ok(12_345));
        assert_eq!(fixed("1e-3", 8, 2), Err(NumberError::FractionDigits(2)));
        assert_eq!(fixed("1e99999999999", 8, 2), Err(NumberError::IntegerDigits(8)));
        assert_eq!(fixed("1e-99999999999", 8, 2), Err(NumberError::FractionDigits(2)));
        assert_eq!(fixed("0e99999999999", 8, 2), Ok(0));
        assert_eq!(fixed("1.0005", 5, 3), Err(NumberError::FractionDigits(3)));
        assert_eq!(fixed("99999.999", 5, 3), Ok(99_999_999));
        assert_eq!(small_int("1.0", 9), Some(1));
        assert_eq!(small_int("1.5", 9), None);
        assert_eq!(small_int("10", 9), None);
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_integer_arithmetic(kop in 0i64..10_000_000_000, zeros in 0usize..4, exp in -3i32..3) {
            // Write kop/100 with trailing zeros and an exponent shift; it must read back exactly.
            let text = format!("{}.{:02}{}", kop / 100, kop % 100, "0".repeat(zeros));
            proptest::prop_assert_eq!(fixed(&text, 8, 2), Ok(kop));
            let shifted = if exp >= 0 {
                format!("{}e{}", kop as i128 * 10i128.pow(exp as u32), -2 - exp)
            } else {
                format!("{}e{}", kop, -2)
            };
            proptest::prop_assert_eq!(fixed(&shifted, 8, 2), Ok(kop));
        }
    }
}
