//! Line layout shared by text and image output: validation against [`crate::limits`],
//! wrapping, alignment and two-column lines on a grid of fixed-width character cells.
//! Widths are counted in Unicode scalar values (one cell each).

use crate::error::RenderError;
use crate::limits::EAN13_MODULE_DOTS;
use crate::limits::{MAX_BLOCKS, MAX_FEED_LINES, MAX_LINES, MAX_QR_BYTES, MAX_TEXT_CHARS, QR_MODULE_DOTS};
use crate::model::{Align, Block, Document, Ean13Block, Pair, Qr, Size, Style, Text, Wrap};

/// What the layout is for: text output cannot draw codes or big letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Text,
    Image,
}

/// One laid-out row.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Row<'a> {
    /// A line already aligned within the columns of its size (leading spaces position it);
    /// at most [`columns_for`] characters, no trailing spaces. `align` lets images centre or
    /// right-align to the pixel when the cells do not divide the width evenly.
    Line {
        text: String,
        style: Style,
        align: Align,
    },
    /// An empty line.
    Blank,
    Qr(&'a Qr),
    Ean13(&'a Ean13Block),
}

/// How many characters of `style` fit a line of `columns` normal cells.
pub(crate) fn columns_for(columns: usize, style: Style, target: Target) -> usize {
    match (target, style.size) {
        (Target::Image, Size::Large) => columns / 2,
        _ => columns,
    }
}

/// Lays out `doc` on lines of `columns` normal cells.
pub(crate) fn layout(doc: &Document, columns: usize, target: Target) -> Result<Vec<Row<'_>>, RenderError> {
    if !crate::limits::COLUMNS.contains(&columns) {
        return Err(RenderError::Columns(columns));
    }
    if doc.blocks.len() > MAX_BLOCKS {
        return Err(RenderError::TooManyBlocks(doc.blocks.len()));
    }
    let mut rows = Vec::new();
    for block in &doc.blocks {
        lay_block(block, columns, target, &mut rows)?;
        if rows.len() > MAX_LINES {
            return Err(RenderError::TooManyLines);
        }
    }
    Ok(rows)
}

fn lay_block<'a>(block: &'a Block, columns: usize, target: Target, rows: &mut Vec<Row<'a>>) -> Result<(), RenderError> {
    match block {
        Block::Text(Text { text, align, wrap, style }) => {
            let width = columns_for(columns, *style, target);
            for line in wrap_text(&clean(checked(text)?, true), width, *wrap) {
                rows.push(Row::Line { text: align_line(&line, width, *align), style: *style, align: *align });
            }
        }
        Block::Pair(pair) => {
            let width = columns_for(columns, pair.style, target);
            for text in pair_lines(pair, width)? {
                rows.push(Row::Line { text, style: pair.style, align: Align::Left });
            }
        }
        Block::Separator { symbol, style } => {
            let width = columns_for(columns, *style, target);
            let symbol = clean_char(*symbol).unwrap_or(' ');
            let text: String = std::iter::repeat_n(symbol, width).collect();
            rows.push(Row::Line { text: text.trim_end().to_owned(), style: *style, align: Align::Left });
        }
        Block::Blank { lines } => {
            if *lines == 0 || *lines > MAX_FEED_LINES {
                return Err(RenderError::Feed(*lines));
            }
            rows.extend((0..*lines).map(|_| Row::Blank));
        }
        Block::Qr(qr) => {
            if qr.data.is_empty() || qr.data.len() > MAX_QR_BYTES {
                return Err(RenderError::QrData(qr.data.len()));
            }
            if let Some(m) = qr.module.filter(|m| !QR_MODULE_DOTS.contains(m)) {
                return Err(RenderError::QrModule(m));
            }
            match target {
                Target::Image => rows.push(Row::Qr(qr)),
                // LOY-37: a device that cannot print QR codes prints the value as text.
                Target::Text => {
                    for line in wrap_text(&clean(&qr.data, false), columns, Wrap::Anywhere) {
                        rows.push(Row::Line {
                            text: line.trim_end().to_owned(),
                            style: Style::default(),
                            align: Align::Left,
                        });
                    }
                }
            }
        }
        Block::Ean13(ean) => {
            if let Some(m) = ean.module.filter(|m| !EAN13_MODULE_DOTS.contains(m)) {
                return Err(RenderError::Ean13Module(m));
            }
            match target {
                Target::Image => rows.push(Row::Ean13(ean)),
                // LOY-37: a device that cannot print the barcode prints the value as text.
                // The digits are printed whatever `text` says: they are all there is.
                Target::Text => {
                    rows.push(Row::Line {
                        text: align_line(&ean.code.digits(), columns, Align::Center),
                        style: Style::default(),
                        align: Align::Center,
                    });
                }
            }
        }
    }
    Ok(())
}

/// The text if it is within [`MAX_TEXT_CHARS`].
fn checked(text: &str) -> Result<&str, RenderError> {
    // Byte length bounds the scalar count from above, so most texts skip the count.
    if text.len() > MAX_TEXT_CHARS {
        let chars = text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(RenderError::TextTooLong(chars));
        }
    }
    Ok(text)
}

/// A printable stand-in for `c`: tab → space, carriage return → nothing, other control
/// characters → '?' (visible, never an invisible box).
fn clean_char(c: char) -> Option<char> {
    match c {
        '\t' => Some(' '),
        '\r' => None,
        c if c.is_control() => Some('?'),
        c => Some(c),
    }
}

/// `text` with [`clean_char`] applied; line feeds are kept when `keep_newlines`, else spaces.
fn clean(text: &str, keep_newlines: bool) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\n' if keep_newlines => Some('\n'),
            '\n' => Some(' '),
            c => clean_char(c),
        })
        .collect()
}

/// Splits `text` into lines of at most `width` characters: at each `\n`, then by `mode`.
/// Spaces inside a line are kept; the space where a word-wrapped line breaks is dropped.
pub(crate) fn wrap_text(text: &str, width: usize, mode: Wrap) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let chars: Vec<char> = paragraph.chars().collect();
        match mode {
            Wrap::Anywhere if chars.is_empty() => lines.push(String::new()),
            Wrap::Anywhere => lines.extend(chars.chunks(width).map(|c| c.iter().collect())),
            Wrap::Word => word_wrap(&chars, width, &mut lines),
        }
    }
    lines
}

fn word_wrap(chars: &[char], width: usize, lines: &mut Vec<String>) {
    let start = lines.len();
    let mut line: Vec<char> = Vec::new();
    // Whether nothing has been placed on `line` yet (an empty word still counts as placed:
    // it keeps runs of spaces).
    let mut fresh = true;
    for word in chars.split(|c| *c == ' ') {
        let need = if fresh { word.len() } else { line.len() + 1 + word.len() };
        if need <= width {
            if !fresh {
                line.push(' ');
            }
            line.extend_from_slice(word);
            fresh = false;
            continue;
        }
        if !fresh {
            lines.push(line.drain(..).collect());
        }
        let mut rest = word;
        while rest.len() > width {
            lines.push(rest[..width].iter().collect());
            rest = &rest[width..];
        }
        line.extend_from_slice(rest);
        fresh = rest.is_empty();
    }
    if !fresh || lines.len() == start {
        lines.push(line.into_iter().collect());
    }
}

/// `line` placed within `width` cells by leading spaces; no trailing spaces.
pub(crate) fn align_line(line: &str, width: usize, align: Align) -> String {
    let body = match align {
        Align::Left => line.trim_end(),
        Align::Center | Align::Right => line.trim_matches(' '),
    };
    let len = body.chars().count();
    let pad = match align {
        Align::Left => 0,
        Align::Center => width.saturating_sub(len) / 2,
        Align::Right => width.saturating_sub(len),
    };
    let mut out = String::with_capacity(pad + body.len());
    out.extend(std::iter::repeat_n(' ', pad));
    out.push_str(body);
    out
}

/// The lines of a two-column block: the left text wraps; the right text ends the last line
/// when at least one fill character fits between them, else it gets a line of its own.
fn pair_lines(pair: &Pair, width: usize) -> Result<Vec<String>, RenderError> {
    let left = clean(checked(&pair.left)?, false);
    let right = clean(checked(&pair.right)?, false);
    let right = right.trim_matches(' ');
    let fill = clean_char(pair.fill).unwrap_or(' ');
    let mut lines: Vec<String> = if left.trim().is_empty() { Vec::new() } else { wrap_text(&left, width, pair.wrap) };
    let right_len = right.chars().count();
    if right_len == 0 {
        return Ok(if lines.is_empty() {
            vec![String::new()]
        } else {
            lines.iter().map(|l| l.trim_end().to_owned()).collect()
        });
    }
    if right_len >= width {
        // A value wider than the line: its own right-aligned lines.
        for l in &mut lines {
            *l = l.trim_end().to_owned();
        }
        for part in wrap_text(right, width, Wrap::Anywhere) {
            lines.push(align_line(&part, width, Align::Right));
        }
        return Ok(lines);
    }
    let last = lines.pop().map(|l| l.trim_end().to_owned()).unwrap_or_default();
    let last_len = last.chars().count();
    if last_len + 1 + right_len <= width {
        let mut joined = last;
        joined.extend(std::iter::repeat_n(fill, width - last_len - right_len));
        joined.push_str(right);
        lines.push(joined);
    } else {
        lines.push(last);
        lines.push(align_line(right, width, Align::Right));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BarcodeText, Ean13, QrEc};

    fn text_rows(doc: &Document, columns: usize) -> Vec<String> {
        layout(doc, columns, Target::Text)
            .unwrap()
            .into_iter()
            .map(|r| match r {
                Row::Line { text, .. } => text,
                Row::Blank => String::new(),
                other => panic!("text layout gave {other:?}"),
            })
            .collect()
    }

    #[test]
    fn word_wrap_breaks_at_spaces_and_cuts_long_words() {
        assert_eq!(
            wrap_text("Молоко 3,2% 1 л ультрапастеризованное", 12, Wrap::Word),
            ["Молоко 3,2%", "1 л", "ультрапастер", "изованное"]
        );
        assert_eq!(wrap_text("abc def", 7, Wrap::Word), ["abc def"]);
        assert_eq!(wrap_text("abc def", 6, Wrap::Word), ["abc", "def"]);
        assert_eq!(wrap_text("  indented", 20, Wrap::Word), ["  indented"]);
        assert_eq!(wrap_text("a\n\nb", 5, Wrap::Word), ["a", "", "b"]);
        assert_eq!(wrap_text("", 5, Wrap::Word), [""]);
        assert_eq!(wrap_text("abc ", 3, Wrap::Word), ["abc"]);
    }

    #[test]
    fn anywhere_wrap_cuts_at_the_width() {
        assert_eq!(wrap_text("Қазақстан Республикасы", 10, Wrap::Anywhere), ["Қазақстан ", "Республика", "сы"]);
    }

    #[test]
    fn alignment_counts_scalars_not_bytes() {
        assert_eq!(align_line("₸100", 8, Align::Right), "    ₸100");
        assert_eq!(align_line("ӘҒҚ", 9, Align::Center), "   ӘҒҚ");
        assert_eq!(align_line("ӘҒҚ  ", 9, Align::Left), "ӘҒҚ");
    }

    #[test]
    fn pairs_put_the_value_at_the_right_edge() {
        let doc = Document::new()
            .with(Block::pair("ИТОГ", "1750,00"))
            .with(Block::Pair(Pair {
                left: "Итого".into(),
                right: "5".into(),
                fill: '.',
                wrap: Wrap::Word,
                style: Style::default(),
            }))
            .with(Block::pair("Очень длинное название товара", "1750,00"))
            .with(Block::pair("Название ровно в строку", "99,00"))
            .with(Block::pair("", "1,00"));
        assert_eq!(
            text_rows(&doc, 24),
            [
                "ИТОГ             1750,00",
                "Итого..................5",
                "Очень длинное название",
                "товара           1750,00",
                "Название ровно в строку",
                "                   99,00",
                "                    1,00",
            ]
        );
    }

    #[test]
    fn a_value_wider_than_the_line_gets_its_own_lines() {
        let doc = Document::new().with(Block::pair("ФП", "1234567890123456"));
        assert_eq!(text_rows(&doc, 12), ["ФП", "123456789012", "        3456"]);
    }

    #[test]
    fn control_characters_become_visible() {
        let doc = Document::new().with(Block::text("a\tb\r\u{7}c"));
        assert_eq!(text_rows(&doc, 12), ["a b?c"]);
    }

    #[test]
    fn codes_print_their_value_in_text() {
        // LOY-37: a device that cannot print a QR code or barcode prints the value as text.
        let doc = Document::new()
            .with(Block::qr("http://consumer.test-oofd.kz/?&i=1008&f=010100134464&s=1750,00&t=20250117T133437"))
            .with(Block::ean13(Ean13::parse("460123456789").unwrap()));
        let rows = text_rows(&doc, 32);
        assert_eq!(rows.last().unwrap(), "         4601234567893");
        assert_eq!(
            rows[..rows.len() - 1].iter().cloned().collect::<String>(),
            "http://consumer.test-oofd.kz/?&i=1008&f=010100134464&s=1750,00&t=20250117T133437"
        );
    }

    #[test]
    fn large_text_has_half_the_columns_in_images_only() {
        let doc = Document::new().with(Block::text("0123456789 0123456789").size(Size::Large));
        assert_eq!(layout(&doc, 24, Target::Image).unwrap().len(), 2);
        assert_eq!(layout(&doc, 24, Target::Text).unwrap().len(), 1);
    }

    #[test]
    fn limits_give_typed_errors() {
        let long = "я".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            layout(&Document::new().with(Block::text(long.clone())), 32, Target::Text),
            Err(RenderError::TextTooLong(4097))
        );
        assert_eq!(
            layout(&Document::new().with(Block::pair(long, "1")), 32, Target::Text),
            Err(RenderError::TextTooLong(4097))
        );
        let fine = "я".repeat(MAX_TEXT_CHARS);
        assert!(layout(&Document::new().with(Block::text(fine)), 32, Target::Text).is_ok());
        assert_eq!(layout(&Document::new(), 11, Target::Text), Err(RenderError::Columns(11)));
        assert_eq!(layout(&Document::new(), 161, Target::Text), Err(RenderError::Columns(161)));
        // ITK-68: feed 1–100 lines; ITK-67: QR size 1–16.
        assert_eq!(
            layout(&Document::new().with(Block::Blank { lines: 0 }), 32, Target::Text),
            Err(RenderError::Feed(0))
        );
        assert_eq!(
            layout(&Document::new().with(Block::Blank { lines: 101 }), 32, Target::Text),
            Err(RenderError::Feed(101))
        );
        let blocks = vec![Block::blank(); MAX_BLOCKS + 1];
        assert_eq!(layout(&Document { blocks }, 32, Target::Text), Err(RenderError::TooManyBlocks(4097)));
        let blocks = vec![Block::Blank { lines: 100 }; 82];
        assert_eq!(layout(&Document { blocks }, 32, Target::Text), Err(RenderError::TooManyLines));
        assert_eq!(layout(&Document::new().with(Block::qr("")), 32, Target::Image), Err(RenderError::QrData(0)));
        let qr = Qr { data: "x".repeat(MAX_QR_BYTES + 1), ec: QrEc::M, module: None };
        assert_eq!(layout(&Document::new().with(Block::Qr(qr)), 32, Target::Image), Err(RenderError::QrData(1025)));
        let qr = Qr { data: "x".into(), ec: QrEc::M, module: Some(17) };
        assert_eq!(layout(&Document::new().with(Block::Qr(qr)), 32, Target::Image), Err(RenderError::QrModule(17)));
        let ean = Ean13Block { code: Ean13::parse("460123456789").unwrap(), text: BarcodeText::Below, module: Some(0) };
        assert_eq!(
            layout(&Document::new().with(Block::Ean13(ean)), 32, Target::Image),
            Err(RenderError::Ean13Module(0))
        );
    }
}
