//! [`RenderError`]: every way rendering can refuse its input.

/// Why a document or the options could not be rendered. Each variant names the limit broken
/// (see [`crate::limits`]); callers map them onto their protocol's error (cash-core: 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// `image_width` is negative or outside [`crate::limits::WIDTH_PX`] (CORE-38).
    #[error("image width {0} px is outside 128..=1024")]
    Width(i64),
    /// `image_scale` is negative, not a plain decimal, or outside [`crate::limits::SCALE_MILLI`].
    #[error("image scale {0:?} is not a decimal in 0.5..=4.0")]
    Scale(String),
    /// `image_pixel_draw_threshold` is outside 0..=255 (CORE-38).
    #[error("pixel draw threshold {0} is outside 0..=255")]
    Threshold(i64),
    /// A text width outside [`crate::limits::COLUMNS`], or an image so narrow (or scaled so far)
    /// that fewer columns than that fit.
    #[error("{0} text columns is outside 12..=160")]
    Columns(usize),
    /// More blocks than [`crate::limits::MAX_BLOCKS`].
    #[error("document has {0} blocks, more than 4096")]
    TooManyBlocks(usize),
    /// A text field longer than [`crate::limits::MAX_TEXT_CHARS`].
    #[error("text field has {0} characters, more than 4096")]
    TextTooLong(usize),
    /// The document lays out to more than [`crate::limits::MAX_LINES`] lines.
    #[error("document lays out to more than 8192 lines")]
    TooManyLines,
    /// A blank block feeding 0 or more than [`crate::limits::MAX_FEED_LINES`] lines.
    #[error("blank block of {0} lines is outside 1..=100")]
    Feed(u16),
    /// A QR payload that is empty, longer than [`crate::limits::MAX_QR_BYTES`], or does not fit a
    /// QR symbol at the requested error-correction level.
    #[error("QR payload of {0} bytes cannot be encoded")]
    QrData(usize),
    /// More QR codes and barcodes than [`crate::limits::MAX_CODES`].
    #[error("document has {0} codes, more than 16")]
    TooManyCodes(usize),
    /// A QR module size outside [`crate::limits::QR_MODULE_DOTS`].
    #[error("QR module size {0} is outside 1..=16")]
    QrModule(u8),
    /// The QR symbol with its quiet zone is wider than the image even at one pixel per module.
    #[error("QR symbol of {modules} modules does not fit {width_px} px")]
    QrTooWide { modules: u32, width_px: u32 },
    /// EAN-13 data that is not 12 or 13 ASCII digits.
    #[error("EAN-13 data must be 12 or 13 digits")]
    Ean13Format,
    /// EAN-13 data whose 13th digit is not the check digit (the right one is given).
    #[error("EAN-13 check digit is wrong: expected {expected}")]
    Ean13CheckDigit { expected: u8 },
    /// An EAN-13 module width outside [`crate::limits::EAN13_MODULE_DOTS`].
    #[error("EAN-13 module width {0} is outside 1..=8")]
    Ean13Module(u8),
    /// The EAN-13 symbol with its quiet zones is wider than the image.
    #[error("EAN-13 symbol does not fit {0} px")]
    Ean13TooWide(u32),
    /// The image would be taller than [`crate::limits::MAX_HEIGHT_PX`].
    #[error("image would be {0} px tall, more than 32000")]
    TooTall(u64),
    /// The embedded font or the PNG encoder failed (a bug, not bad input).
    #[error("internal rendering error: {0}")]
    Internal(String),
}
