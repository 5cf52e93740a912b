//! Shared fixed-point text handling for [`crate::Money`], [`crate::Quantity`]
//! and [`crate::Percent`]: one grammar, one parser, one formatter and one
//! serde bridge, parameterised by the number of decimal places (`scale`).
//!
//! Everything works on decimal digits and integers; no binary floating point
//! is involved at any step, so what is written is exactly what is stored.

use serde::de::{Error as _, Unexpected};
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::Value;

use crate::error::MoneyError;
use crate::rounding::div_round_half_away;

/// How to treat digits beyond the type's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Reject extra decimals and exponents: the text must be exact as written.
    Strict,
    /// Accept any number of decimals and an exponent; round half away from zero.
    Rounded,
}

/// The pieces of `-?DIGITS(.DIGITS)?([eE][+-]?DIGITS)?`, borrowed from the input.
struct Lexed<'a> {
    negative: bool,
    integer: &'a str,
    fraction: &'a str,
    /// Sign and digits of the exponent, if one was written.
    exponent: Option<(bool, &'a str)>,
}

/// Splits off the longest prefix of ASCII digits.
fn take_digits(s: &str) -> (&str, &str) {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    s.split_at(end)
}

/// Checks the grammar and returns its pieces; any deviation is [`MoneyError::Invalid`].
fn lex(text: &str) -> Result<Lexed<'_>, MoneyError> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (integer, rest) = take_digits(rest);
    if integer.is_empty() {
        return Err(MoneyError::Invalid);
    }
    let (fraction, rest) = match rest.strip_prefix('.') {
        Some(after_point) => {
            let (fraction, rest) = take_digits(after_point);
            if fraction.is_empty() {
                return Err(MoneyError::Invalid);
            }
            (fraction, rest)
        }
        None => ("", rest),
    };
    let (exponent, rest) = match rest.strip_prefix(['e', 'E']) {
        Some(after_e) => {
            let (exponent_negative, after_sign) = match after_e.strip_prefix(['+', '-']) {
                Some(digits) => (after_e.starts_with('-'), digits),
                None => (false, after_e),
            };
            let (digits, rest) = take_digits(after_sign);
            if digits.is_empty() {
                return Err(MoneyError::Invalid);
            }
            (Some((exponent_negative, digits)), rest)
        }
        None => (None, rest),
    };
    if !rest.is_empty() {
        return Err(MoneyError::Invalid);
    }
    Ok(Lexed {
        negative,
        integer,
        fraction,
        exponent,
    })
}

/// Reads exponent digits, saturating far beyond any meaningful value.
///
/// Any exponent above 10^20 already pushes every non-zero digit either past
/// the i64 range or below the rounding position, so clamping there keeps the
/// later position arithmetic small without changing any result.
fn exponent_value(negative: bool, digits: &str) -> i128 {
    const CLAMP: i128 = 100_000_000_000_000_000_000;
    let magnitude = digits
        .bytes()
        .fold(0i128, |acc, b| (acc * 10 + i128::from(b - b'0')).min(CLAMP));
    if negative { -magnitude } else { magnitude }
}

/// Parses `text` into an integer count of `10^-scale` units.
pub(crate) fn parse_scaled(text: &str, scale: u32, mode: Mode) -> Result<i64, MoneyError> {
    let lexed = lex(text)?;
    let exponent = match (mode, lexed.exponent) {
        (_, None) => 0,
        (Mode::Strict, Some(_)) => return Err(MoneyError::Invalid),
        (Mode::Rounded, Some((negative, digits))) => exponent_value(negative, digits),
    };
    if mode == Mode::Strict && lexed.fraction.len() > scale as usize {
        return Err(MoneyError::TooManyDecimals);
    }
    let magnitude = scaled_magnitude(lexed.integer, lexed.fraction, exponent, scale)?;
    let signed = if lexed.negative {
        -magnitude
    } else {
        magnitude
    };
    i64::try_from(signed).map_err(|_| MoneyError::Overflow)
}

/// Rounds the non-negative decimal `integer.fraction × 10^exponent` to `scale`
/// decimals and returns it as a count of `10^-scale` units.
///
/// Rounding half away from zero in base ten only ever depends on the first
/// dropped digit: a 5..9 there means the dropped tail is at least one half, a
/// 0..4 means it is below one half, whatever follows. So the value is cut
/// after `scale + 1` decimals and that one extra digit is rounded off with the
/// crate's rounding helper — exact for any number of input digits.
fn scaled_magnitude(
    integer: &str,
    fraction: &str,
    exponent: i128,
    scale: u32,
) -> Result<i128, MoneyError> {
    let all_digits = integer.bytes().chain(fraction.bytes());
    let leading_zeros = all_digits.clone().take_while(|&b| b == b'0').count();
    let significant: Vec<u8> = all_digits.skip(leading_zeros).map(|b| b - b'0').collect();
    if significant.is_empty() {
        return Ok(0);
    }
    // Number of significant digits that lie before the point once the value
    // is multiplied by 10^scale, i.e. the digit count of the kept integer.
    // Lengths of in-memory strings fit easily in i128.
    let kept = integer.len() as i128 - leading_zeros as i128 + exponent + i128::from(scale);
    // The first significant digit is non-zero, so 20 kept digits are already
    // at least 10^19, beyond the i64 range.
    if kept > 19 {
        return Err(MoneyError::Overflow);
    }
    let digit_at = |position: i128| -> i128 {
        usize::try_from(position)
            .ok()
            .and_then(|index| significant.get(index))
            .map_or(0, |&digit| i128::from(digit))
    };
    // The kept digits followed by the first dropped digit: at most 20 digits.
    let with_guard_digit = (0..=kept).fold(0i128, |acc, position| acc * 10 + digit_at(position));
    Ok(div_round_half_away(with_guard_digit, 10))
}

/// `value / 10^scale` written with exactly `scale` decimals after `separator`.
pub(crate) fn format_fixed(value: i64, scale: u32, separator: char) -> String {
    let unit = 10u64.pow(scale);
    // `unsigned_abs` is total, so i64::MIN formats correctly too.
    let magnitude = value.unsigned_abs();
    // Written with itoa into one buffer: money is formatted for every response and slip, and
    // `format!` with a padded argument costs several times more.
    let mut digits = itoa::Buffer::new();
    let mut out = String::with_capacity(24);
    if value < 0 {
        out.push('-');
    }
    out.push_str(digits.format(magnitude / unit));
    out.push(separator);
    let fraction = digits.format(magnitude % unit);
    out.extend(std::iter::repeat_n('0', (scale as usize).saturating_sub(fraction.len())));
    out.push_str(fraction);
    out
}

/// `value / 10^scale` in its shortest exact form: no trailing fractional zeros
/// and no point when the value is whole ("1", "0.5", "2.125").
pub(crate) fn format_shortest(value: i64, scale: u32) -> String {
    let fixed = format_fixed(value, scale, '.');
    // `fixed` always contains a '.', so trimming zeros stops at it at the latest.
    fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// serde_json's private name for an `arbitrary_precision` number: a struct of this name with one
/// field of this name is a number written (or read) as its exact text.
pub const SERDE_JSON_NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Serializes decimal text as a JSON number token, keeping it verbatim.
///
/// With serde_json's `arbitrary_precision` a `serde_json::Number` carries its
/// text, so `12.50` reaches the output as `12.50` and never passes through a
/// binary float. `text` is always this crate's own formatting of a value, so it
/// is handed to serde_json's number token as it is, the way a `Number` serializes
/// itself — without parsing it into a `Number` first (twice the cost of writing
/// it). Non-JSON serializers see serde_json's private number wrapper instead,
/// so this is meant for JSON.
pub(crate) fn serialize_number<S: Serializer>(
    text: &str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut number = serializer.serialize_struct(SERDE_JSON_NUMBER_TOKEN, 1)?;
    number.serialize_field(SERDE_JSON_NUMBER_TOKEN, text)?;
    number.end()
}

/// Deserializes a JSON number or string into a count of `10^-scale` units.
///
/// Going through `serde_json::Value` lets serde_json handle every way a number
/// can arrive (its raw text from `from_str`/`from_slice`, or a `Value` built
/// elsewhere); with `arbitrary_precision` the number's `to_string` is the
/// exact decimal text, which is then parsed here with integer arithmetic.
pub(crate) fn deserialize_scaled<'de, D: Deserializer<'de>>(
    deserializer: D,
    scale: u32,
    mode: Mode,
    what: &'static str,
) -> Result<i64, D::Error> {
    let text = match Value::deserialize(deserializer)? {
        Value::Number(number) => number.to_string(),
        Value::String(text) => text,
        Value::Null => return Err(D::Error::invalid_type(Unexpected::Unit, &what)),
        Value::Bool(flag) => return Err(D::Error::invalid_type(Unexpected::Bool(flag), &what)),
        Value::Array(_) => return Err(D::Error::invalid_type(Unexpected::Seq, &what)),
        Value::Object(_) => return Err(D::Error::invalid_type(Unexpected::Map, &what)),
    };
    parse_scaled(&text, scale, mode)
        .map_err(|error| D::Error::custom(format_args!("invalid {what} {text:?}: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict2(text: &str) -> Result<i64, MoneyError> {
        parse_scaled(text, 2, Mode::Strict)
    }

    fn rounded2(text: &str) -> Result<i64, MoneyError> {
        parse_scaled(text, 2, Mode::Rounded)
    }

    #[test]
    fn grammar_rejects_malformed_text() {
        for text in [
            "", "-", "+1", ".5", "1.", "-.5", "1..2", "1.2.3", " 1", "1 ", "1,5", "--1", "0x10",
            "1e", "1e+", "e2", "1.e2", "NaN", "inf", "１", "1_000",
        ] {
            assert_eq!(strict2(text), Err(MoneyError::Invalid), "strict {text:?}");
            assert_eq!(rounded2(text), Err(MoneyError::Invalid), "rounded {text:?}");
        }
    }

    #[test]
    fn strict_rejects_exponent_and_extra_decimals() {
        assert_eq!(strict2("1e2"), Err(MoneyError::Invalid));
        assert_eq!(strict2("1.234"), Err(MoneyError::TooManyDecimals));
        assert_eq!(strict2("1.230"), Err(MoneyError::TooManyDecimals));
    }

    #[test]
    fn rounded_handles_exponents_exactly() {
        assert_eq!(rounded2("1e2"), Ok(10_000));
        assert_eq!(rounded2("1E+2"), Ok(10_000));
        assert_eq!(rounded2("1.5E-1"), Ok(15));
        assert_eq!(rounded2("100.5e-2"), Ok(101));
        assert_eq!(rounded2("-100.5e-2"), Ok(-101));
        assert_eq!(rounded2("5e-3"), Ok(1));
        assert_eq!(rounded2("4.99e-3"), Ok(0));
        assert_eq!(rounded2("1e-400"), Ok(0));
        assert_eq!(rounded2("1e400"), Err(MoneyError::Overflow));
        assert_eq!(rounded2("0e400"), Ok(0));
        assert_eq!(
            rounded2("1e99999999999999999999999999999999999999999"),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            rounded2("1e-99999999999999999999999999999999999999999"),
            Ok(0)
        );
    }

    #[test]
    fn long_inputs_are_exact() {
        let many_zeros = format!("0.{}1", "0".repeat(500));
        assert_eq!(rounded2(&many_zeros), Ok(0));
        let just_half = format!("0.00{}", "5".repeat(300));
        assert_eq!(rounded2(&just_half), Ok(1));
        let leading = format!("{}12.345", "0".repeat(300));
        assert_eq!(rounded2(&leading), Ok(1235));
        assert_eq!(strict2(&format!("{}12.34", "0".repeat(300))), Ok(1234));
    }

    #[test]
    fn range_limits() {
        assert_eq!(strict2("92233720368547758.07"), Ok(i64::MAX));
        assert_eq!(strict2("-92233720368547758.08"), Ok(i64::MIN));
        assert_eq!(strict2("92233720368547758.08"), Err(MoneyError::Overflow));
        assert_eq!(
            strict2("99999999999999999999999"),
            Err(MoneyError::Overflow)
        );
        assert_eq!(rounded2("92233720368547758.074"), Ok(i64::MAX));
        assert_eq!(rounded2("92233720368547758.075"), Err(MoneyError::Overflow));
        assert_eq!(rounded2("-92233720368547758.084"), Ok(i64::MIN));
        assert_eq!(
            rounded2("-92233720368547758.085"),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn formatting() {
        assert_eq!(format_fixed(1250, 2, '.'), "12.50");
        assert_eq!(format_fixed(-1, 2, ','), "-0,01");
        assert_eq!(format_fixed(0, 3, '.'), "0.000");
        assert_eq!(format_fixed(i64::MIN, 2, '.'), "-92233720368547758.08");
        assert_eq!(format_shortest(1000, 3), "1");
        assert_eq!(format_shortest(500, 3), "0.5");
        assert_eq!(format_shortest(-2125, 3), "-2.125");
        assert_eq!(format_shortest(0, 3), "0");
        assert_eq!(format_shortest(10_000, 3), "10");
    }
}
