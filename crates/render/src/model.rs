//! The view model: a [`Document`] is a list of [`Block`]s printed top to bottom, each
//! starting on a new line. It can express a fiscal receipt or report, an ITKassa slip
//! (ITK-66 `print` with `font`, ITK-67 `printQR` with `size`, ITK-68 `feed`) and a Frontol
//! slip (LOY-37: `text`, `pair`, `line`, `br`, `barcode`, `qrcode`).

use crate::error::RenderError;

/// A document to render: blocks top to bottom.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub blocks: Vec<Block>,
}

impl Document {
    /// An empty document.
    #[must_use]
    pub fn new() -> Document {
        Document::default()
    }

    /// Appends a block and returns the document, for chaining.
    #[must_use]
    pub fn with(mut self, block: Block) -> Document {
        self.blocks.push(block);
        self
    }

    /// Appends a block.
    pub fn push(&mut self, block: Block) {
        self.blocks.push(block);
    }
}

/// Horizontal alignment of text within the line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// Where a line too long for the width may break (LOY-37 `wrapping`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Wrap {
    /// At spaces; a word longer than the line is cut (`wordwrap`).
    #[default]
    Word,
    /// After any character (`anywhere`).
    Anywhere,
}

/// Character size. In text output every size is one column per character; in images
/// `Tall` doubles the height, `Large` doubles width and height (half as many columns).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Size {
    #[default]
    Normal,
    Tall,
    Large,
}

/// How text looks: bold face (ITK-66 `font: "bold"`) and size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Style {
    pub bold: bool,
    pub size: Size,
}

/// One or more lines of text (`\n` starts a new line), wrapped to the width and aligned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    pub text: String,
    pub align: Align,
    pub wrap: Wrap,
    pub style: Style,
}

/// Two texts on one line, the left one at the left edge and the right one at the right edge,
/// the gap filled with `fill` (LOY-37 `pair` with `separator`). A left text too long for the
/// line wraps; the right text then ends the last line, or a line of its own if it does not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub left: String,
    pub right: String,
    pub fill: char,
    pub wrap: Wrap,
    pub style: Style,
}

/// QR error-correction level (LOY-37 `correction`: low, medium, high, ultra).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QrEc {
    L,
    #[default]
    M,
    Q,
    H,
}

/// A QR code, centred, with its 4-module quiet zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Qr {
    /// The payload (UTF-8 bytes, byte mode).
    pub data: String,
    pub ec: QrEc,
    /// Module size in printer dots at scale 1.0 (ITK-67 `size` 1–16); `None` picks 4 dots,
    /// shrunk if the symbol would not fit the width. In text output the payload is printed
    /// instead, as LOY-37 says a device that cannot print QR codes does.
    pub module: Option<u8>,
}

/// Where the digits of an EAN-13 barcode are printed in images (LOY-37 `printText`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BarcodeText {
    None,
    #[default]
    Below,
    Above,
    Both,
}

/// A validated EAN-13 code: 13 digits whose last is the check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ean13 {
    digits: [u8; 13],
}

impl Ean13 {
    /// Parses 12 digits (the check digit is added) or 13 digits (the check digit is verified),
    /// as LOY-37 `barcode.data` allows.
    pub fn parse(data: &str) -> Result<Ean13, RenderError> {
        let bytes = data.as_bytes();
        if !(bytes.len() == 12 || bytes.len() == 13) || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(RenderError::Ean13Format);
        }
        let mut digits = [0u8; 13];
        for (slot, byte) in digits.iter_mut().zip(bytes) {
            *slot = byte - b'0';
        }
        let expected = Ean13::check_digit(&digits[..12]);
        if bytes.len() == 13 && digits[12] != expected {
            return Err(RenderError::Ean13CheckDigit { expected });
        }
        digits[12] = expected;
        Ok(Ean13 { digits })
    }

    /// The check digit of 12 digits: weights 1, 3, 1, 3, … from the left; the digit that
    /// brings the weighted sum to a multiple of 10 (GS1 General Specifications §7.9.1).
    fn check_digit(first12: &[u8]) -> u8 {
        let sum: u32 = first12.iter().enumerate().map(|(i, d)| u32::from(*d) * if i % 2 == 0 { 1 } else { 3 }).sum();
        ((10 - sum % 10) % 10) as u8
    }

    /// The 13 digits as a string.
    #[must_use]
    pub fn digits(&self) -> String {
        self.digits.iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// The 95 modules (guards included), `true` for a bar, from barcoders.
    pub(crate) fn modules(&self) -> Result<Vec<bool>, RenderError> {
        let bars = barcoders::sym::ean13::EAN13::new(self.digits())
            .map_err(|e| RenderError::Internal(format!("barcoders: {e:?}")))?
            .encode();
        if bars.len() != 95 {
            return Err(RenderError::Internal(format!("barcoders gave {} EAN-13 modules", bars.len())));
        }
        Ok(bars.into_iter().map(|b| b == 1).collect())
    }
}

/// An EAN-13 barcode block, centred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ean13Block {
    pub code: Ean13,
    pub text: BarcodeText,
    /// Narrowest bar in printer dots at scale 1.0; `None` is 2, shrunk to fit the width.
    pub module: Option<u8>,
}

/// One element of a document; each starts on a new line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Text(Text),
    Pair(Pair),
    /// A line of `symbol` across the whole width (LOY-37 `line`).
    Separator {
        symbol: char,
        style: Style,
    },
    /// `lines` empty lines (LOY-37 `br` is 1, ITK-68 `feed` is `count`).
    Blank {
        lines: u16,
    },
    Qr(Qr),
    Ean13(Ean13Block),
}

impl Block {
    /// Left-aligned text, word-wrapped.
    #[must_use]
    pub fn text(text: impl Into<String>) -> Block {
        Block::Text(Text { text: text.into(), ..Text::default() })
    }

    /// Centred text, word-wrapped.
    #[must_use]
    pub fn center(text: impl Into<String>) -> Block {
        Block::Text(Text { text: text.into(), align: Align::Center, ..Text::default() })
    }

    /// Right-aligned text, word-wrapped.
    #[must_use]
    pub fn right(text: impl Into<String>) -> Block {
        Block::Text(Text { text: text.into(), align: Align::Right, ..Text::default() })
    }

    /// A label at the left and a value (an amount) at the right, spaces between.
    #[must_use]
    pub fn pair(left: impl Into<String>, right: impl Into<String>) -> Block {
        Block::Pair(Pair {
            left: left.into(),
            right: right.into(),
            fill: ' ',
            wrap: Wrap::Word,
            style: Style::default(),
        })
    }

    /// A line of `symbol` across the width.
    #[must_use]
    pub fn separator(symbol: char) -> Block {
        Block::Separator { symbol, style: Style::default() }
    }

    /// One empty line.
    #[must_use]
    pub fn blank() -> Block {
        Block::Blank { lines: 1 }
    }

    /// A QR code of `data` at error-correction level M and the default size.
    #[must_use]
    pub fn qr(data: impl Into<String>) -> Block {
        Block::Qr(Qr { data: data.into(), ..Qr::default() })
    }

    /// An EAN-13 barcode with its digits below.
    #[must_use]
    pub fn ean13(code: Ean13) -> Block {
        Block::Ean13(Ean13Block { code, text: BarcodeText::Below, module: None })
    }

    /// The same block in bold (text, pair and separator blocks; others are unchanged).
    #[must_use]
    pub fn bold(self) -> Block {
        self.map_style(|s| s.bold = true)
    }

    /// The same block at `size` (text, pair and separator blocks; others are unchanged).
    #[must_use]
    pub fn size(self, size: Size) -> Block {
        self.map_style(|s| s.size = size)
    }

    fn map_style(mut self, f: impl FnOnce(&mut Style)) -> Block {
        match &mut self {
            Block::Text(Text { style, .. }) | Block::Pair(Pair { style, .. }) | Block::Separator { style, .. } => {
                f(style);
            }
            Block::Blank { .. } | Block::Qr(_) | Block::Ean13(_) => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ean13_adds_and_checks_the_check_digit() {
        // LOY-37/LOY-39: 12 digits get the check digit; 13 digits must carry the right one.
        assert_eq!(Ean13::parse("123456789012").unwrap().digits(), "1234567890128");
        assert_eq!(Ean13::parse("1234567890128").unwrap().digits(), "1234567890128");
        assert_eq!(Ean13::parse("4600000000008").unwrap().digits(), "4600000000008");
        assert_eq!(Ean13::parse("460123456789").unwrap().digits(), "4601234567893");
        assert_eq!(Ean13::parse("1234567890127"), Err(RenderError::Ean13CheckDigit { expected: 8 }));
        assert_eq!(Ean13::parse("8801051294881"), Err(RenderError::Ean13CheckDigit { expected: 0 }));
        for bad in [
            "",
            "12345678901",
            "12345678901234",
            "12345678901a",
            "１２３４５６７８９０１２",
            "-23456789012",
            " 123456789012",
        ] {
            assert_eq!(Ean13::parse(bad), Err(RenderError::Ean13Format), "{bad:?}");
        }
    }

    #[test]
    fn ean13_check_digit_agrees_with_barcoders_for_every_last_digit() {
        for last in 0..10u8 {
            let data = format!("40123456789{last}");
            let code = Ean13::parse(&data).unwrap();
            // barcoders verifies the 13-digit form itself, so a disagreement errors here.
            let modules = code.modules().unwrap();
            assert_eq!(modules.len(), 95);
            assert_eq!(&modules[..3], &[true, false, true], "left guard");
            assert_eq!(&modules[45..50], &[false, true, false, true, false], "middle guard");
        }
    }

    #[test]
    fn style_helpers_touch_only_styled_blocks() {
        let b = Block::center("X").bold().size(Size::Tall);
        assert_eq!(
            b,
            Block::Text(Text {
                text: "X".into(),
                align: Align::Center,
                wrap: Wrap::Word,
                style: Style { bold: true, size: Size::Tall }
            })
        );
        assert_eq!(Block::blank().bold(), Block::blank());
    }
}
