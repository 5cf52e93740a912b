//! Exact money arithmetic for the Kassa fiscalization server.
//!
//! This crate owns everything numeric that ends up on a fiscal receipt:
//!
//! - [`Money`]: amounts as integer minor units (kopecks, tiyn), two decimals;
//! - [`Quantity`]: quantities in thousandths, three decimals;
//! - [`Percent`]: percentages in basis points, two decimals, and the Russian
//!   and Kazakh VAT rates ([`VatRate`]);
//! - the single rounding policy — half away from zero — applied wherever a
//!   fraction of a minor unit appears (products, percentages, VAT, parsing
//!   with rounding);
//! - exact proportional splits ([`split_proportional`],
//!   [`split_proportional_capped`]) whose parts always add up to the total.
//!
//! Binary floating point is never used, not even to parse or print: decimal
//! text is read digit by digit into integers and written back from integers,
//! and JSON numbers travel through serde_json's `arbitrary_precision` text
//! representation. Overflow is reported (`Option`/`Result`) rather than
//! wrapped.
//!
//! The crate depends only on `serde`, `serde_json` and `thiserror`, does no
//! IO and has no async code, so every protocol and storage crate can use it.
//!
//! ```
//! use kassa_money::{split_proportional, Money, Percent, Quantity, VatRate};
//!
//! let price = Money::parse("10.00")?;
//! let line = price.mul_quantity(Quantity::parse("0.333")?).expect("fits");
//! assert_eq!(line.to_string(), "3.33");
//! assert_eq!(VatRate::Vat20.vat_of(Money::parse("120")?).to_string(), "20.00");
//! assert_eq!(Percent::parse("10")?.of(Money::parse("12.35")?).to_string(), "1.24");
//!
//! // A 1.00 discount over three equal lines: the parts add up exactly.
//! let weights = [line, line, line];
//! let parts = split_proportional(Money::parse("1")?, &weights)?;
//! assert_eq!(parts, [Money::from_minor(34), Money::from_minor(33), Money::from_minor(33)]);
//!
//! // JSON numbers are read from their exact text, never through a binary float.
//! let sum: Money = serde_json::from_str("0.1")?;
//! assert_eq!(sum, Money::from_minor(10));
//! assert_eq!(serde_json::to_string(&sum)?, "0.10");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod error;
pub mod money;
pub mod percent;
pub mod quantity;
pub mod split;

mod decimal;
mod rounding;

pub use decimal::SERDE_JSON_NUMBER_TOKEN;
pub use error::{MoneyError, SplitError};
pub use money::Money;
pub use percent::{Percent, VatRate};
pub use quantity::Quantity;
pub use split::{split_proportional, split_proportional_capped};

#[cfg(test)]
mod tests {
    /// Every source file of the crate, checked by `no_binary_floats`.
    const SOURCES: [(&str, &str); 8] = [
        ("lib.rs", include_str!("lib.rs")),
        ("money.rs", include_str!("money.rs")),
        ("quantity.rs", include_str!("quantity.rs")),
        ("percent.rs", include_str!("percent.rs")),
        ("split.rs", include_str!("split.rs")),
        ("error.rs", include_str!("error.rs")),
        ("decimal.rs", include_str!("decimal.rs")),
        ("rounding.rs", include_str!("rounding.rs")),
    ];

    /// Money must never pass through binary floating point. The needles are
    /// assembled with `concat!` so this file does not contain them itself.
    #[test]
    fn no_binary_floats() {
        let needles = [concat!("f", "64"), concat!("f", "32")];
        for (file, source) in SOURCES {
            for needle in needles {
                assert!(!source.contains(needle), "{file} mentions {needle}");
            }
        }
    }

    /// Guards `SOURCES` against a module being added without being checked.
    #[test]
    fn every_module_is_checked() {
        let lib = SOURCES[0].1;
        for line in lib.lines() {
            // Only `mod name;` declarations load a file; inline `mod name {` do not.
            let Some(name) = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))
                .and_then(|rest| rest.strip_suffix(';'))
            else {
                continue;
            };
            let file = format!("{name}.rs");
            assert!(
                SOURCES.iter().any(|(checked, _)| *checked == file),
                "{file} is not in SOURCES"
            );
        }
    }
}
