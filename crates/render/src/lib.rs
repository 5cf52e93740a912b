//! `kassa-render` turns any Kassa document — a fiscal receipt, an X/Z report, a cash
//! placement, a non-fiscal slip (ITKassa `print`/`printQR`/`feed`, Frontol
//! `printingInformation`) — into
//!
//! * text lines of an exact column width for slips and terminals ([`render_text`]), and
//! * a 1-bit black-and-white PNG for thermal printers and `GetDocumentImage`
//!   ([`render_png`], CORE-81): exactly `width_px` wide, content scaled by the scale factor,
//!   a pixel black when its 8-bit luminance is below the threshold.
//!
//! It owns the view model ([`Document`] of [`Block`]s, and [`ReceiptView`] that builds a
//! receipt document from plain fields), line layout (wrapping, alignment, two-column lines),
//! glyph rasterisation with the embedded DejaVu Sans Mono faces (Cyrillic, Kazakh letters,
//! ₽ and ₸), QR codes and EAN-13 barcodes, and PNG encoding. It does not know the fiscal
//! engine's types: callers map their documents onto the view model.
//!
//! Pure: no IO, no clock, no global state; the same document and options always give the same
//! bytes. Every input has a limit ([`limits`]) and every failure is a typed [`RenderError`];
//! rendering never panics on user data.
//!
//! May depend on: kassa-money (amount formatting), ab_glyph + dejavu (text), qrcode,
//! barcoders (EAN-13 bars), png (encoding), thiserror.

mod error;
mod layout;
mod model;
mod raster;
mod receipt;

pub use error::RenderError;
pub use model::{Align, BarcodeText, Block, Document, Ean13, Ean13Block, Pair, Qr, QrEc, Size, Style, Text, Wrap};
pub use raster::{Options, render_png, unsupported_chars};
pub use receipt::{AmountLine, Currency, Field, ItemView, ReceiptView};

/// Upper and lower bounds on every input, so that a hostile or broken document cannot make
/// rendering slow or huge. Breaking one gives a [`RenderError`].
pub mod limits {
    /// Most blocks in one document.
    pub const MAX_BLOCKS: usize = 4096;
    /// Most characters (Unicode scalar values) in one text field of a block.
    pub const MAX_TEXT_CHARS: usize = 4096;
    /// Most lines a document may lay out to, after wrapping.
    pub const MAX_LINES: usize = 8192;
    /// Most lines one blank block may feed (ITK-68 allows 1–100).
    pub const MAX_FEED_LINES: u16 = 100;
    /// Most bytes of a QR payload (well below the QR maximum of 2,953).
    pub const MAX_QR_BYTES: usize = 1024;
    /// Most QR codes and barcodes in one document (each costs an encoding).
    pub const MAX_CODES: usize = 16;
    /// QR module size in printer dots, as ITK-67 `size` (1–16).
    pub const QR_MODULE_DOTS: std::ops::RangeInclusive<u8> = 1..=16;
    /// EAN-13 module (narrowest bar) width in printer dots.
    pub const EAN13_MODULE_DOTS: std::ops::RangeInclusive<u8> = 1..=8;
    /// Text widths in characters accepted by [`crate::render_text`], and the narrowest an image
    /// may lay out to.
    pub const COLUMNS: std::ops::RangeInclusive<usize> = 12..=160;
    /// Image widths in pixels (58 mm tape is 384, 80 mm is 576; CORE-38 default 384).
    pub const WIDTH_PX: std::ops::RangeInclusive<u32> = 128..=1024;
    /// Image scale in thousandths (0.5 – 4.0; CORE-38 default 1.0).
    pub const SCALE_MILLI: std::ops::RangeInclusive<u32> = 500..=4000;
    /// Tallest image in pixels.
    pub const MAX_HEIGHT_PX: u32 = 32_000;
}

/// Renders `doc` as text lines of at most `width_chars` characters (Unicode scalar values;
/// e.g. 32, 42 or 48), for slips and terminals: text wraps, values of two-column lines end
/// exactly at the last column, no line has trailing spaces. Bold and sizes have no effect;
/// QR codes and barcodes print their value as text (LOY-37).
pub fn render_text(doc: &Document, width_chars: usize) -> Result<Vec<String>, RenderError> {
    use layout::{Row, Target};
    layout::layout(doc, width_chars, Target::Text)?
        .into_iter()
        .map(|row| match row {
            Row::Line { text, .. } => Ok(text),
            Row::Blank => Ok(String::new()),
            Row::Qr(_) | Row::Ean13(_) => Err(RenderError::Internal("text layout kept a code".into())),
        })
        .collect()
}
