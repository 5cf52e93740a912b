//! Image output (CORE-81): the laid-out rows drawn onto an 8-bit grey canvas, thresholded to
//! black and white and encoded as a 1-bit greyscale PNG with no metadata.
//!
//! Geometry: a normal character cell is 12 × 24 px at scale 1.0 (the 12×24 "font A" of
//! thermal printers: 32 columns on 384 px, 48 on 576 px) and scales with the scale factor;
//! the columns that fit are centred. Glyphs come from DejaVu Sans Mono (bold: DejaVu Sans Mono
//! Bold), which covers Cyrillic, the Kazakh letters, ₽ and ₸; a character it lacks is taken
//! from DejaVu Sans, and one neither has is drawn as '?' ([`unsupported_chars`] lists them).

use ab_glyph::{Font, FontRef, GlyphId, PxScale, point};
use qrcode::{Color, EcLevel, QrCode};

use crate::error::RenderError;
use crate::layout::{Row, Target, layout};
use crate::limits::{COLUMNS, MAX_CODES, MAX_HEIGHT_PX, SCALE_MILLI, WIDTH_PX};
use crate::model::{Align, BarcodeText, Block, Document, Ean13Block, Qr, QrEc, Size, Style};

/// Image parameters, as cash-core's `image_width`, `image_scale` and
/// `image_pixel_draw_threshold` (CORE-38, CORE-81).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Exact image width in pixels ([`WIDTH_PX`]; 384 for 58 mm tape, 576 for 80 mm).
    pub width_px: u32,
    /// Content scale in thousandths (1000 = 1.0; [`SCALE_MILLI`]).
    pub scale_milli: u32,
    /// A pixel is black when its 8-bit luminance is below this (CORE-81): 0 draws nothing,
    /// 255 draws every pixel that is not pure white.
    pub threshold: u8,
}

impl Default for Options {
    /// CORE-38 defaults: 384 px, scale 1.0, threshold 128.
    fn default() -> Options {
        Options { width_px: 384, scale_milli: 1000, threshold: 128 }
    }
}

impl Options {
    /// Options from the cash-core request fields (CORE-38): absent or 0 width → 384, absent or
    /// 0 scale → 1.0, absent threshold → 128; a negative width or scale, a threshold outside
    /// 0..=255, or a value outside this crate's limits is an error (cash-core answers 2).
    /// `image_scale` is the JSON number's text (e.g. `serde_json::Number::to_string`), read
    /// exactly as a plain decimal; digits past the thousandths are dropped.
    pub fn from_request(
        image_width: Option<i64>,
        image_scale: Option<&str>,
        image_pixel_draw_threshold: Option<i64>,
    ) -> Result<Options, RenderError> {
        let defaults = Options::default();
        let width_px = match image_width {
            None | Some(0) => defaults.width_px,
            Some(w) => u32::try_from(w).ok().filter(|w| WIDTH_PX.contains(w)).ok_or(RenderError::Width(w))?,
        };
        let scale_milli = match image_scale.map(parse_milli) {
            None | Some(Ok(0)) => defaults.scale_milli,
            Some(Ok(s)) if SCALE_MILLI.contains(&s) => s,
            Some(_) => return Err(RenderError::Scale(image_scale.unwrap_or_default().to_owned())),
        };
        let threshold = match image_pixel_draw_threshold {
            None => defaults.threshold,
            Some(t) => u8::try_from(t).map_err(|_| RenderError::Threshold(t))?,
        };
        Ok(Options { width_px, scale_milli, threshold })
    }

    fn check(&self) -> Result<(), RenderError> {
        if !WIDTH_PX.contains(&self.width_px) {
            return Err(RenderError::Width(i64::from(self.width_px)));
        }
        if !SCALE_MILLI.contains(&self.scale_milli) {
            return Err(RenderError::Scale(format!("{}/1000", self.scale_milli)));
        }
        Ok(())
    }

    /// `dots` printer dots at this scale, rounded, at least 1.
    fn scaled(&self, dots: u32) -> u32 {
        ((dots * self.scale_milli + 500) / 1000).max(1)
    }
}

/// A plain non-negative decimal ("1", "1.3", "0.75", ".5") in thousandths, without floats.
fn parse_milli(text: &str) -> Result<u32, ()> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) || whole.len() > 4 {
        return Err(());
    }
    let whole: u32 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| ())? };
    let milli = frac.bytes().chain(std::iter::repeat(b'0')).take(3).fold(0, |acc, b| acc * 10 + u32::from(b - b'0'));
    Ok(whole * 1000 + milli)
}

/// Renders `doc` as a 1-bit PNG exactly `options.width_px` wide (CORE-81). Same input, same
/// bytes.
pub fn render_png(doc: &Document, options: &Options) -> Result<Vec<u8>, RenderError> {
    options.check()?;
    let fonts = Fonts::load()?;
    let grid = Grid::new(&fonts, options)?;
    let rows = layout(doc, grid.columns, Target::Image)?;
    let mut placed = Vec::with_capacity(rows.len());
    let mut height = u64::from(grid.line_h / 2);
    let codes = rows.iter().filter(|r| matches!(r, Row::Qr(_) | Row::Ean13(_))).count();
    if codes > MAX_CODES {
        return Err(RenderError::TooManyCodes(codes));
    }
    for row in rows {
        let item = Placed::prepare(row, &grid, options)?;
        height += u64::from(item.height(&grid));
        if height > u64::from(MAX_HEIGHT_PX) {
            return Err(RenderError::TooTall(height));
        }
        placed.push(item);
    }
    height += u64::from(grid.line_h);
    if height > u64::from(MAX_HEIGHT_PX) {
        return Err(RenderError::TooTall(height));
    }
    let mut canvas = Canvas::new(options.width_px, height as u32);
    let mut glyphs = Glyphs::new(&fonts, &grid);
    let mut y = grid.line_h / 2;
    for item in &placed {
        item.draw(&mut canvas, &mut glyphs, &grid, y);
        y += item.height(&grid);
    }
    canvas.encode(options.threshold)
}

/// The characters of `doc`'s text that no embedded face has; [`render_png`] draws them as
/// '?'. QR payloads are not text in images and are not checked.
pub fn unsupported_chars(doc: &Document) -> Result<Vec<char>, RenderError> {
    let fonts = Fonts::load()?;
    let mut missing: Vec<char> = Vec::new();
    let mut check = |text: &str, style: Style| {
        for c in text.chars().filter(|c| !c.is_control() && *c != ' ') {
            if fonts.pick(c, style.bold).is_none() {
                missing.push(c);
            }
        }
    };
    for block in &doc.blocks {
        match block {
            Block::Text(t) => check(&t.text, t.style),
            Block::Pair(p) => {
                check(&p.left, p.style);
                check(&p.right, p.style);
                check(&p.fill.to_string(), p.style);
            }
            Block::Separator { symbol, style } => check(&symbol.to_string(), *style),
            Block::Blank { .. } | Block::Qr(_) | Block::Ean13(_) => {}
        }
    }
    missing.sort_unstable();
    missing.dedup();
    Ok(missing)
}

/// The embedded faces.
struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
    fallback: FontRef<'static>,
    fallback_bold: FontRef<'static>,
}

impl Fonts {
    fn load() -> Result<Fonts, RenderError> {
        let parse = |bytes: &'static [u8]| {
            FontRef::try_from_slice(bytes).map_err(|e| RenderError::Internal(format!("font: {e}")))
        };
        Ok(Fonts {
            regular: parse(dejavu::sans_mono::regular())?,
            bold: parse(dejavu::sans_mono::bold())?,
            fallback: parse(dejavu::sans::regular())?,
            fallback_bold: parse(dejavu::sans::bold())?,
        })
    }

    /// The face and glyph for `c`: the monospaced face, else DejaVu Sans, else none.
    fn pick(&self, c: char, bold: bool) -> Option<(&FontRef<'static>, GlyphId)> {
        let (main, fallback) = if bold { (&self.bold, &self.fallback_bold) } else { (&self.regular, &self.fallback) };
        [main, fallback].into_iter().map(|f| (f, f.glyph_id(c))).find(|(_, g)| g.0 != 0)
    }
}

/// Cell geometry at the requested width and scale.
struct Grid {
    /// Normal cell width and line height in pixels.
    cell_w: u32,
    line_h: u32,
    /// Columns of normal cells, and the left margin that centres them.
    columns: usize,
    margin: u32,
    /// Em size in pixels that makes a monospaced advance exactly `cell_w`, and the ascent at it.
    em: f32,
    ascent: f32,
}

impl Grid {
    fn new(fonts: &Fonts, options: &Options) -> Result<Grid, RenderError> {
        let cell_w = options.scaled(12);
        let mono = &fonts.regular;
        let upm = mono.units_per_em().ok_or_else(|| RenderError::Internal("font has no units per em".into()))?;
        let advance = mono.h_advance_unscaled(mono.glyph_id('0'));
        let em = cell_w as f32 * upm / advance;
        let ascent = mono.ascent_unscaled() * em / upm;
        // Cells are twice as tall as wide, as the 12×24 printer font; the face's height
        // (ascent + descent) is 1.93 cell widths, so every glyph fits its line.
        let line_h = 2 * cell_w;
        let columns = ((options.width_px / cell_w) as usize).min(*COLUMNS.end());
        if columns < *COLUMNS.start() {
            return Err(RenderError::Columns(columns));
        }
        let margin = (options.width_px - columns as u32 * cell_w) / 2;
        Ok(Grid { cell_w, line_h, columns, margin, em, ascent })
    }

    /// Horizontal and vertical magnification of a style.
    fn magnify(style: Style) -> (u32, u32) {
        match style.size {
            Size::Normal => (1, 1),
            Size::Tall => (1, 2),
            Size::Large => (2, 2),
        }
    }
}

/// A row with its codes encoded, ready to draw.
enum Placed {
    Line { text: String, style: Style, align: Align },
    Blank,
    Qr { width: u32, colors: Vec<Color>, module: u32 },
    Ean13 { modules: Vec<bool>, digits: String, text: BarcodeText, module: u32, bar_h: u32 },
}

/// Quiet zone around a QR symbol, in modules (ISO/IEC 18004).
const QR_QUIET: u32 = 4;
/// Quiet zones left and right of an EAN-13 symbol, in modules (GS1).
const EAN_QUIET_LEFT: u32 = 11;
const EAN_QUIET_RIGHT: u32 = 7;

impl Placed {
    fn prepare(row: Row<'_>, grid: &Grid, options: &Options) -> Result<Placed, RenderError> {
        Ok(match row {
            Row::Line { text, style, align } => Placed::Line { text, style, align },
            Row::Blank => Placed::Blank,
            Row::Qr(qr) => Placed::qr(qr, options)?,
            Row::Ean13(ean) => Placed::ean13(ean, grid, options)?,
        })
    }

    fn qr(qr: &Qr, options: &Options) -> Result<Placed, RenderError> {
        let level = match qr.ec {
            QrEc::L => EcLevel::L,
            QrEc::M => EcLevel::M,
            QrEc::Q => EcLevel::Q,
            QrEc::H => EcLevel::H,
        };
        let code = QrCode::with_error_correction_level(qr.data.as_bytes(), level)
            .map_err(|_| RenderError::QrData(qr.data.len()))?;
        let width = code.width() as u32;
        let span = width + 2 * QR_QUIET;
        let fit = options.width_px / span;
        if fit == 0 {
            return Err(RenderError::QrTooWide { modules: span, width_px: options.width_px });
        }
        let module = options.scaled(u32::from(qr.module.unwrap_or(4))).min(fit);
        Ok(Placed::Qr { width, colors: code.to_colors(), module })
    }

    fn ean13(ean: &Ean13Block, grid: &Grid, options: &Options) -> Result<Placed, RenderError> {
        let span = EAN_QUIET_LEFT + 95 + EAN_QUIET_RIGHT;
        let fit = options.width_px / span;
        if fit == 0 {
            return Err(RenderError::Ean13TooWide(options.width_px));
        }
        let module = options.scaled(u32::from(ean.module.unwrap_or(2))).min(fit);
        Ok(Placed::Ean13 {
            modules: ean.code.modules()?,
            digits: ean.code.digits(),
            text: ean.text,
            module,
            bar_h: options.scaled(56).max(grid.line_h),
        })
    }

    fn height(&self, grid: &Grid) -> u32 {
        match self {
            Placed::Line { style, .. } => grid.line_h * Grid::magnify(*style).1,
            Placed::Blank => grid.line_h,
            Placed::Qr { width, module, .. } => (width + 2 * QR_QUIET) * module,
            Placed::Ean13 { text, bar_h, module, .. } => {
                let lines = match text {
                    BarcodeText::None => 0,
                    BarcodeText::Above | BarcodeText::Below => 1,
                    BarcodeText::Both => 2,
                };
                // A quarter line of space above and below, one line per text line, a module of
                // space between bars and digits.
                grid.line_h / 2 + bar_h + lines * (grid.line_h + module)
            }
        }
    }

    fn draw(&self, canvas: &mut Canvas, glyphs: &mut Glyphs<'_>, grid: &Grid, top: u32) {
        match self {
            Placed::Line { text, style, align } => {
                let (wx, _) = Grid::magnify(*style);
                let cell = grid.cell_w * wx;
                // Centred and right-aligned lines are placed by pixels, not by their leading
                // spaces: large cells may not divide the line evenly.
                let (body, x0) = match align {
                    Align::Left => (text.as_str(), grid.margin),
                    Align::Center | Align::Right => {
                        let body = text.trim_start();
                        let free =
                            (grid.columns as u32 * grid.cell_w).saturating_sub(body.chars().count() as u32 * cell);
                        (body, grid.margin + if *align == Align::Center { free / 2 } else { free })
                    }
                };
                for (i, c) in body.chars().enumerate() {
                    draw_char(canvas, glyphs, c, *style, x0 + i as u32 * cell, top);
                }
            }
            Placed::Blank => {}
            Placed::Qr { width, colors, module } => {
                let x0 = (canvas.width - (width + 2 * QR_QUIET) * module) / 2 + QR_QUIET * module;
                let y0 = top + QR_QUIET * module;
                for (i, color) in colors.iter().enumerate() {
                    if *color == Color::Dark {
                        let (mx, my) = (i as u32 % width, i as u32 / width);
                        canvas.fill(x0 + mx * module, y0 + my * module, *module, *module);
                    }
                }
            }
            Placed::Ean13 { modules, digits, text, module, bar_h } => {
                let m = *module;
                let x0 = (canvas.width - (EAN_QUIET_LEFT + 95 + EAN_QUIET_RIGHT) * m) / 2 + EAN_QUIET_LEFT * m;
                let mut y = top + grid.line_h / 4;
                if matches!(text, BarcodeText::Above | BarcodeText::Both) {
                    draw_centered(canvas, glyphs, grid, digits, y);
                    y += grid.line_h + m;
                }
                let below = matches!(text, BarcodeText::Below | BarcodeText::Both);
                // Digits under the halves, as on goods, when a digit fits a 7-module symbol.
                let classic = below && 7 * m >= grid.cell_w;
                for (i, bar) in modules.iter().enumerate() {
                    if *bar {
                        let guard = i < 3 || (45..50).contains(&i) || i >= 92;
                        let h = if classic && guard { bar_h + m + grid.line_h / 2 } else { *bar_h };
                        canvas.fill(x0 + i as u32 * m, y, m, h);
                    }
                }
                y += bar_h + m;
                if below {
                    if classic {
                        let style = Style::default();
                        let half = grid.cell_w / 2;
                        for (i, c) in digits.chars().enumerate() {
                            let x = match i {
                                0 => x0.saturating_sub(grid.cell_w + m),
                                1..=6 => x0 + (3 + 7 * (i as u32 - 1)) * m + 7 * m / 2 - half,
                                _ => x0 + (50 + 7 * (i as u32 - 7)) * m + 7 * m / 2 - half,
                            };
                            draw_char(canvas, glyphs, c, style, x, y);
                        }
                    } else {
                        draw_centered(canvas, glyphs, grid, digits, y);
                    }
                }
            }
        }
    }
}

/// `text` in normal style, centred on the whole image width.
fn draw_centered(canvas: &mut Canvas, glyphs: &mut Glyphs<'_>, grid: &Grid, text: &str, top: u32) {
    let len = text.chars().count() as u32;
    let x0 = canvas.width.saturating_sub(len * grid.cell_w) / 2;
    for (i, c) in text.chars().enumerate() {
        draw_char(canvas, glyphs, c, Style::default(), x0 + i as u32 * grid.cell_w, top);
    }
}

/// One character in the cell whose top-left corner is (`x`, `top`).
fn draw_char(canvas: &mut Canvas, glyphs: &mut Glyphs<'_>, c: char, style: Style, x: u32, top: u32) {
    if c == ' ' {
        return;
    }
    let bitmap = glyphs.bitmap(c, style);
    if bitmap.width == 0 {
        return;
    }
    for (row, lums) in bitmap.luminance.chunks_exact(bitmap.width as usize).enumerate() {
        for (col, lum) in lums.iter().enumerate().filter(|(_, lum)| **lum < 255) {
            canvas.darken(i64::from(x) + bitmap.dx + col as i64, i64::from(top) + bitmap.dy + row as i64, *lum);
        }
    }
}

/// A rasterised glyph: grey levels placed relative to its cell's top-left corner.
struct Bitmap {
    dx: i64,
    dy: i64,
    width: u32,
    luminance: Vec<u8>,
}

/// Glyph rasteriser with a cache per character and style. Glyphs are rasterised once, at a
/// cell in the top-left corner, and moved by whole pixels: cheaper, and the same character
/// looks the same everywhere on the image (no float drift far down a long receipt).
struct Glyphs<'f> {
    fonts: &'f Fonts,
    cell_w: u32,
    em: f32,
    ascent: f32,
    cache: std::collections::HashMap<(char, Style), Bitmap>,
}

impl<'f> Glyphs<'f> {
    fn new(fonts: &'f Fonts, grid: &Grid) -> Glyphs<'f> {
        Glyphs { fonts, cell_w: grid.cell_w, em: grid.em, ascent: grid.ascent, cache: std::collections::HashMap::new() }
    }

    fn bitmap(&mut self, c: char, style: Style) -> &Bitmap {
        let (fonts, cell_w, em, ascent) = (self.fonts, self.cell_w, self.em, self.ascent);
        self.cache.entry((c, style)).or_insert_with(|| rasterise(fonts, cell_w, em, ascent, c, style))
    }
}

fn rasterise(fonts: &Fonts, cell_w: u32, em: f32, ascent: f32, c: char, style: Style) -> Bitmap {
    let empty = Bitmap { dx: 0, dy: 0, width: 0, luminance: Vec::new() };
    let (font, id) = match fonts.pick(c, style.bold) {
        Some(found) => found,
        None => (if style.bold { &fonts.bold } else { &fonts.regular }, fonts.regular.glyph_id('?')),
    };
    let (wx, wy) = Grid::magnify(style);
    let Some(upm) = font.units_per_em() else { return empty };
    // ab_glyph scales so that the font's height maps to PxScale; convert from the em size.
    let k = font.height_unscaled() / upm;
    let (em_x, em_y) = (em * wx as f32, em * wy as f32);
    let scale = PxScale { x: em_x * k, y: em_y * k };
    let cell = (cell_w * wx) as f32;
    // Monospaced glyphs fill the cell exactly; a fallback glyph is centred in it.
    let advance = font.h_advance_unscaled(id) * em_x / upm;
    let origin = point((cell - advance) / 2.0, ascent * wy as f32);
    let Some(outline) = font.outline_glyph(id.with_scale_and_position(scale, origin)) else { return empty };
    let bounds = outline.px_bounds();
    let (width, height) = (bounds.width() as u32, bounds.height() as u32);
    let mut luminance = vec![255u8; width as usize * height as usize];
    outline.draw(|gx, gy, coverage| {
        if gx < width && gy < height {
            luminance[(gy * width + gx) as usize] = 255 - (coverage.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
    });
    Bitmap { dx: bounds.min.x as i64, dy: bounds.min.y as i64, width, luminance }
}

/// An 8-bit grey canvas, white to start.
struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Canvas {
        Canvas { width, height, pixels: vec![255; width as usize * height as usize] }
    }

    /// Keeps the darker of the pixel and `luminance`; outside the canvas does nothing.
    fn darken(&mut self, x: i64, y: i64, luminance: u8) {
        if (0..i64::from(self.width)).contains(&x) && (0..i64::from(self.height)).contains(&y) {
            let p = &mut self.pixels[y as usize * self.width as usize + x as usize];
            *p = (*p).min(luminance);
        }
    }

    /// A black rectangle, clipped to the canvas.
    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32) {
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                self.pixels[yy as usize * self.width as usize + xx as usize] = 0;
            }
        }
    }

    /// The canvas as a 1-bit greyscale PNG: black (0) where luminance < `threshold` (CORE-81),
    /// white (1) elsewhere. No ancillary chunks, so the bytes depend on the pixels only.
    fn encode(&self, threshold: u8) -> Result<Vec<u8>, RenderError> {
        let stride = self.width.div_ceil(8) as usize;
        let mut packed = vec![0xFFu8; stride * self.height as usize];
        for (y, row) in self.pixels.chunks_exact(self.width as usize).enumerate() {
            for (x, lum) in row.iter().enumerate() {
                if *lum < threshold {
                    packed[y * stride + x / 8] &= !(0x80 >> (x % 8));
                }
            }
        }
        let internal = |e: png::EncodingError| RenderError::Internal(format!("png: {e}"));
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        encoder.set_compression(png::Compression::Balanced);
        encoder.set_filter(png::Filter::Adaptive);
        let mut writer = encoder.write_header().map_err(internal)?;
        writer.write_image_data(&packed).map_err(internal)?;
        writer.finish().map_err(internal)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_options_follow_core_38() {
        // CORE-38: absent or 0 → defaults; negative or out of range → error (cash-core 2).
        let d = Options::default();
        assert_eq!(d, Options { width_px: 384, scale_milli: 1000, threshold: 128 });
        assert_eq!(Options::from_request(None, None, None), Ok(d));
        assert_eq!(Options::from_request(Some(0), Some("0"), None), Ok(d));
        assert_eq!(Options::from_request(Some(0), Some("0.0"), None), Ok(d));
        assert_eq!(
            Options::from_request(Some(576), Some("1.3"), Some(192)),
            Ok(Options { width_px: 576, scale_milli: 1300, threshold: 192 })
        );
        assert_eq!(Options::from_request(None, Some("1.2345"), Some(0)).unwrap().scale_milli, 1234);
        assert_eq!(Options::from_request(None, Some("2"), Some(255)).unwrap().scale_milli, 2000);
        assert_eq!(Options::from_request(None, Some(".75"), None).unwrap().scale_milli, 750);
        assert_eq!(Options::from_request(Some(-1), None, None), Err(RenderError::Width(-1)));
        assert_eq!(Options::from_request(Some(5000), None, None), Err(RenderError::Width(5000)));
        assert_eq!(Options::from_request(Some(127), None, None), Err(RenderError::Width(127)));
        for bad in ["-1", "-0.5", "1e0", "abc", "", ".", "0.4", "4.001", "99999999999", "1,3"] {
            assert_eq!(Options::from_request(None, Some(bad), None), Err(RenderError::Scale(bad.into())), "{bad}");
        }
        assert_eq!(Options::from_request(None, None, Some(256)), Err(RenderError::Threshold(256)));
        assert_eq!(Options::from_request(None, None, Some(-1)), Err(RenderError::Threshold(-1)));
    }

    #[test]
    fn grid_gives_receipt_columns() {
        let fonts = Fonts::load().unwrap();
        let cols = |w, s| {
            Grid::new(&fonts, &Options { width_px: w, scale_milli: s, threshold: 128 })
                .map(|g| (g.columns, g.cell_w, g.line_h))
        };
        assert_eq!(cols(384, 1000), Ok((32, 12, 24)));
        assert_eq!(cols(576, 1000), Ok((48, 12, 24)));
        assert_eq!(cols(576, 1300), Ok((36, 16, 32)));
        assert_eq!(cols(384, 4000), Err(RenderError::Columns(8)));
        assert_eq!(cols(1024, 500), Ok((160, 6, 12)));
    }

    #[test]
    fn the_monospaced_faces_cover_kazakh_and_the_currency_signs() {
        let fonts = Fonts::load().unwrap();
        for c in "ӘәҒғҚқҢңӨөҰұҮүҺһІі₸₽АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя№".chars()
        {
            for bold in [false, true] {
                let main = if bold { &fonts.bold } else { &fonts.regular };
                assert_ne!(main.glyph_id(c).0, 0, "DejaVu Sans Mono (bold {bold}) lacks {c:?}");
            }
        }
        // A character no face has is reported, never drawn as an empty box.
        let doc = Document::new().with(Block::text("ok 中 \u{E000} ₸"));
        assert_eq!(unsupported_chars(&doc), Ok(vec!['中', '\u{E000}']));
    }
}
