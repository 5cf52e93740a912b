//! Error types. Messages are written for the person reading a log line or an
//! API response: they say what was wrong and what would be accepted instead.

use crate::money::Money;

/// Why a decimal text could not become a [`Money`], [`crate::Quantity`] or
/// [`crate::Percent`].
///
/// The same three causes apply to every fixed-point type in the crate, so they
/// share one error type; the message names the limits of each type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum MoneyError {
    /// The text is not a plain decimal number.
    #[error(
        "not a decimal number: expected an optional '-', digits, and optionally '.' followed by \
         at least one digit (no '+', spaces, thousands separators, leading '.', or exponent \
         outside the rounding parser)"
    )]
    Invalid,
    /// The text has more decimal places than the type stores.
    #[error(
        "too many decimal places: money amounts and percentages allow at most 2, quantities at \
         most 3; round the value first or use the rounding parser"
    )]
    TooManyDecimals,
    /// The value does not fit in the 64-bit integer of minor units behind the type.
    #[error(
        "value out of range: it does not fit in a signed 64-bit count of minor units \
         (about ±92 quadrillion for money)"
    )]
    Overflow,
}

/// Why a proportional split could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SplitError {
    /// No positions were given, so there is nowhere to put the total.
    #[error("cannot split an amount over an empty list of positions")]
    Empty,
    /// Every weight is zero, so no proportion exists.
    #[error(
        "all weights are zero, so there is no proportion to split by; give at least one \
         position a positive weight"
    )]
    ZeroWeights,
    /// A weight is below zero; proportions of negative weights are meaningless.
    #[error("weight at position {index} is negative; weights must be zero or positive")]
    NegativeWeight {
        /// Index of the first negative weight.
        index: usize,
    },
    /// A cap is below zero; caps limit the magnitude of a part.
    #[error("cap at position {index} is negative; caps must be zero or positive")]
    NegativeCap {
        /// Index of the first negative cap.
        index: usize,
    },
    /// `weights` and `caps` must describe the same positions.
    #[error("got {weights} weights but {caps} caps; pass exactly one cap per position")]
    LengthMismatch {
        /// Number of weights passed.
        weights: usize,
        /// Number of caps passed.
        caps: usize,
    },
    /// The total is larger (in magnitude) than all positions can absorb.
    #[error(
        "cannot place {total} within the caps: the positions with a positive weight can absorb \
         at most {capacity} in total; lower the total or raise the caps"
    )]
    ExceedsCaps {
        /// The total that was to be split.
        total: Money,
        /// Sum of the caps of the positions with a positive weight.
        capacity: Money,
    },
}
