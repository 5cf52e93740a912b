//! Rendering through the public API: golden text and images (compared as decoded pixels, then
//! as SHA-256 of the bytes), QR codes decoded back from the PNG with rqrr, EAN-13 bars decoded
//! back from the PNG with the GS1 tables, glyph coverage, CORE-81 threshold and width, limits.
//!
//! `KASSA_UPDATE_GOLDEN=1 cargo test -p kassa-render --test render` rewrites the goldens in
//! `tests/golden/`; look at the images before committing them.

use std::path::PathBuf;

use ab_glyph::{Font, FontRef};
use kassa_money::{Money, Quantity};
use kassa_render::{
    AmountLine, BarcodeText, Block, Currency, Document, Ean13, Ean13Block, Field, ItemView, Options, Pair, Qr, QrEc,
    ReceiptView, RenderError, Size, Style, Text, Wrap, render_png, render_text, unsupported_chars,
};
use sha2::{Digest, Sha256};

/// The example `qr_code` of cash-core §10.5.
const QR_URL: &str = "http://consumer.test-oofd.kz/?&i=1008&f=010100134464&s=1750,00&t=20250117T133437";

fn money(minor: i64) -> Money {
    Money::from_minor(minor)
}

/// A Kazakh receipt in Kazakh and Russian: every Kazakh letter (ә ғ қ ң ө ұ ү һ і), ₸ and ₽,
/// a wrapped item name, item and receipt taxes, a discount, payments with change, fiscal
/// attributes, the cash-core §10.5 QR code and an EAN-13 barcode.
fn kz_receipt(copy: bool) -> ReceiptView {
    ReceiptView {
        header: vec!["ТОО «Әлем Сауда»".into(), "БИН 123456789012".into(), "Алматы қ., Абай даңғылы 10".into()],
        title: vec!["ФИСКАЛДЫҚ ЧЕК".into(), "Сату / Продажа".into()],
        copy_mark: copy.then(|| "КӨШІРМЕ / КОПИЯ".into()),
        info: vec![
            Field::new("Ауысым / Смена №", "118"),
            Field::new("Чек №", "1"),
            Field::new("Кассир", "Әлия Қасымова"),
            Field::new("Уақыты", "17.01.2025 13:34:37"),
        ],
        items: vec![
            ItemView {
                name: "Сүт 3,2% 1 л «Ұлттық өнім»".into(),
                quantity: Quantity::from_thousandths(2000),
                unit: "дана".into(),
                price: money(87_500),
                sum: money(175_000),
                taxes: vec![AmountLine::new("ҚҚС 12%", money(18_750))],
                barcode: None,
            },
            ItemView {
                name: "Жиһаз жылтыратқышы, өте ұзын атауы бар тауар (тексеру үшін)".into(),
                quantity: Quantity::from_thousandths(500),
                unit: "кг".into(),
                price: money(50_000),
                sum: money(25_000),
                taxes: vec![],
                barcode: None,
            },
        ],
        adjustments: vec![AmountLine::new("Жеңілдік / Скидка", money(-25_000))],
        total: AmountLine::new("ЖИЫНЫ", money(175_000)),
        payments: vec![
            AmountLine::new("Қолма-қол / Наличные", money(200_000)),
            AmountLine::new("Қайтарым / Сдача", money(25_000)),
        ],
        taxes: vec![AmountLine::new("оның ішінде ҚҚС 12%", money(18_750))],
        fiscal: vec![
            Field::new("ФБ / ФП", "1008"),
            Field::new("ТНМ / РНМ", "010100134464"),
            Field::new("ЗНМ", "SWK00032685"),
        ],
        qr: Some(QR_URL.into()),
        barcode: Some(Ean13::parse("487012345678").unwrap()),
        footer: vec!["Бағам: 1 ₽ = 5,40 ₸".into(), "ӘҒҚҢӨҰҮҺІ әғқңөұүһі".into(), "Рахмет! Спасибо за покупку!".into()],
        currency: Currency::KZT,
    }
}

/// The Frontol slip EX-PRINT (frontol-loyalty §6), mapped as the loyalty face would: size default/small
/// → Normal, medium → Tall, large → Large; `line` → separator; `br` → one blank line.
fn frontol_slip() -> Document {
    let text = |t: &str, size: Size| Block::text(t).size(size);
    Document::new()
        .with(text("Ранг 1", Size::Normal))
        .with(Block::separator('*'))
        .with(text("Внимание! ПОДАРОК!", Size::Large))
        .with(text("Рога и копыта дарят Вам", Size::Tall))
        .with(text("15% от суммы этого чека!", Size::Normal))
        .with(text("А в рублях это 7,50 р.", Size::Normal))
        .with(text("Зайдите на", Size::Normal))
        .with(text("www.atol.ru", Size::Tall))
        .with(text("и введите промо-код:", Size::Normal))
        .with(text("5012#5640", Size::Tall))
        .with(text("или отправьте sms на номер 3299", Size::Normal))
        .with(text("bonus 5012#5640", Size::Normal))
        .with(text("ДЕЙСТВУЕТ В ТЕЧЕНИЕ 15 МИНУТ!", Size::Normal))
        .with(Block::qr("http://atol.ru/PromoCode/Activate/5012-5640"))
        .with(Block::pair("27.01.2015", "16:45"))
        .with(Block::blank())
        .with(Block::Ean13(Ean13Block {
            code: Ean13::parse("123456789012").unwrap(),
            text: BarcodeText::Below,
            module: None,
        }))
        .with(Block::blank())
        .with(Block::text("Текст слева"))
        .with(Block::blank())
        .with(Block::center("Текст по центру"))
        .with(Block::blank())
        .with(Block::right("Текст справа"))
        .with(Block::blank())
}

/// The ITKassa slip of §A.8.4: startSlip, bold title, feed 10, two lines, QR of size 6, endSlip.
fn itkassa_slip() -> Document {
    Document::new()
        .with(Block::text("Заголовок документа").bold())
        .with(Block::Blank { lines: 10 })
        .with(Block::text("Строка 2\nСтрока 3"))
        .with(Block::Qr(Qr {
            data: "Номер_билета_кодировать_в_QR-код".into(), ec: QrEc::M, module: Some(6)
        }))
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

fn updating() -> bool {
    std::env::var_os("KASSA_UPDATE_GOLDEN").is_some_and(|v| v == "1")
}

struct Decoded {
    width: u32,
    height: u32,
    /// true = black
    pixels: Vec<bool>,
}

impl Decoded {
    fn at(&self, x: u32, y: u32) -> bool {
        self.pixels[(y * self.width + x) as usize]
    }
}

/// Decodes a PNG, checking it is 1-bit greyscale.
fn decode(bytes: &[u8]) -> Decoded {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().expect("PNG header");
    let info = reader.info();
    assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Grayscale, png::BitDepth::One), "1-bit greyscale");
    let (width, height) = (info.width, info.height);
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).expect("PNG data");
    let stride = frame.line_size;
    let pixels = (0..height)
        .flat_map(|y| (0..width).map(move |x| (y, x)))
        .map(|(y, x)| buf[y as usize * stride + x as usize / 8] & (0x80 >> (x % 8)) == 0)
        .collect();
    Decoded { width, height, pixels }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Compares a rendered image with its golden: decoded pixels first, then the bytes' SHA-256.
fn check_png_golden(name: &str, bytes: &[u8]) {
    let path = golden_path(name);
    if updating() {
        std::fs::write(&path, bytes).unwrap();
        return;
    }
    let golden =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run with KASSA_UPDATE_GOLDEN=1", path.display()));
    let (got, want) = (decode(bytes), decode(&golden));
    let actual = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let differing = got.pixels.iter().zip(&want.pixels).filter(|(a, b)| a != b).count();
    if (got.width, got.height) != (want.width, want.height) || differing > 0 {
        std::fs::write(&actual, bytes).unwrap();
        panic!(
            "{name}: {differing} pixels differ from the golden ({}×{} vs {}×{}); actual written to {}",
            got.width,
            got.height,
            want.width,
            want.height,
            actual.display()
        );
    }
    assert_eq!(sha256(bytes), sha256(&golden), "{name}: same pixels but different bytes (PNG encoder changed?)");
}

fn check_text_golden(name: &str, lines: &[String]) {
    let path = golden_path(name);
    let text = lines.join("\n") + "\n";
    if updating() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with KASSA_UPDATE_GOLDEN=1", path.display()));
    assert_eq!(text, golden, "{name} differs from the golden");
}

/// Every QR code rqrr finds in the image, decoded.
fn decode_qr(image: &Decoded) -> Vec<String> {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(image.width as usize, image.height as usize, |x, y| {
            if image.at(x as u32, y as u32) { 0 } else { 255 }
        });
    prepared.detect_grids().into_iter().map(|grid| grid.decode().expect("QR decodes").1).collect()
}

/// Reads the EAN-13 symbol in the image back to its digits, independently of the encoder: on
/// the first pixel row that holds one, measures the module from the left guard, samples 95
/// modules, checks the guards and quiet zones, and decodes with the GS1 L/G/R tables.
fn decode_ean13(image: &Decoded) -> String {
    (0..image.height).find_map(|y| ean13_on_row(image, y)).expect("an EAN-13 symbol in the image")
}

fn ean13_on_row(image: &Decoded, y: u32) -> Option<String> {
    const L: [&str; 10] =
        ["0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011"];
    const PARITY: [&str; 10] =
        ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"];
    let g = |l: &str| l.chars().rev().map(|c| if c == '1' { '0' } else { '1' }).collect::<String>();
    let r = |l: &str| l.chars().map(|c| if c == '1' { '0' } else { '1' }).collect::<String>();
    let bars =
        (1..image.width).filter(|&x| image.at(x, y) && !image.at(x - 1, y)).count() + usize::from(image.at(0, y));
    if bars != 30 {
        return None;
    }
    let start = (0..image.width).find(|&x| image.at(x, y))?;
    let module = (start..image.width).find(|&x| !image.at(x, y))? - start;
    let end = start + 95 * module;
    if end > image.width {
        return None;
    }
    let bits: String = (0..95).map(|i| if image.at(start + i * module + module / 2, y) { '1' } else { '0' }).collect();
    if &bits[..3] != "101" || &bits[45..50] != "01010" || &bits[92..] != "101" {
        return None;
    }
    let mut digits = String::new();
    let mut parity = String::new();
    for i in 0..6 {
        let sym = &bits[3 + 7 * i..10 + 7 * i];
        let (d, p) = (0..10).find_map(|d| {
            if sym == L[d] {
                Some((d, 'L'))
            } else if sym == g(L[d]) {
                Some((d, 'G'))
            } else {
                None
            }
        })?;
        digits.push(char::from(b'0' + d as u8));
        parity.push(p);
    }
    for i in 0..6 {
        let sym = &bits[50 + 7 * i..57 + 7 * i];
        let d = (0..10).find(|&d| sym == r(L[d]))?;
        digits.push(char::from(b'0' + d as u8));
    }
    let first = PARITY.iter().position(|p| *p == parity)?;
    // The symbol decoded: now its quiet zones must be white (11 modules left, 7 right).
    assert!(start >= 11 * module, "left quiet zone of 11 modules on row {y}");
    assert!(
        end + 7 * module <= image.width && (end..end + 7 * module).all(|x| !image.at(x, y)),
        "right quiet zone on row {y}"
    );
    Some(format!("{first}{digits}"))
}

fn all_text(doc: &Document) -> String {
    let mut s = String::new();
    for block in &doc.blocks {
        match block {
            Block::Text(t) => s += &t.text,
            Block::Pair(p) => {
                s += &p.left;
                s += &p.right;
            }
            Block::Separator { symbol, .. } => s.push(*symbol),
            _ => {}
        }
    }
    s
}

#[test]
fn every_character_of_the_test_receipt_has_a_monospaced_glyph() {
    let doc = kz_receipt(true).to_document();
    let text = all_text(&doc);
    for c in "әғқңөұүһіӘҒҚҢӨҰҮҺІ₸₽".chars() {
        assert!(text.contains(c), "the test receipt shows {c}");
    }
    let faces = [
        FontRef::try_from_slice(dejavu::sans_mono::regular()).unwrap(),
        FontRef::try_from_slice(dejavu::sans_mono::bold()).unwrap(),
    ];
    for c in text.chars().filter(|c| *c != ' ') {
        for face in &faces {
            assert_ne!(face.glyph_id(c).0, 0, "DejaVu Sans Mono has no glyph for {c:?}");
        }
    }
    assert_eq!(unsupported_chars(&doc), Ok(vec![]));
}

#[test]
fn kz_receipt_text_at_32_and_48_columns() {
    let doc = kz_receipt(false).to_document();
    for cols in [32, 42, 48] {
        let lines = render_text(&doc, cols).unwrap();
        for line in &lines {
            let n = line.chars().count();
            assert!(n <= cols, "{line:?} has {n} > {cols} chars");
            assert_eq!(line.trim_end(), line, "no trailing spaces");
        }
        // Amounts end exactly at the last column.
        let total = lines.iter().find(|l| l.starts_with("ЖИЫНЫ")).unwrap();
        assert!(total.ends_with("1750,00 ₸") && total.chars().count() == cols, "{total:?}");
        let cash = lines.iter().find(|l| l.starts_with("Қолма-қол")).unwrap();
        assert!(cash.ends_with(" 2000,00") && cash.chars().count() == cols, "{cash:?}");
        if cols != 42 {
            check_text_golden(&format!("receipt_kz_{cols}.txt"), &lines);
        }
    }
}

#[test]
fn slips_as_text() {
    check_text_golden("slip_frontol_42.txt", &render_text(&frontol_slip(), 42).unwrap());
    check_text_golden("slip_itkassa_32.txt", &render_text(&itkassa_slip(), 32).unwrap());
}

#[test]
fn kz_receipt_png_384() {
    // CORE-38 defaults: 384 px, scale 1.0, threshold 128.
    let doc = kz_receipt(false).to_document();
    let bytes = render_png(&doc, &Options::default()).unwrap();
    assert_eq!(bytes, render_png(&doc, &Options::default()).unwrap(), "deterministic bytes");
    let image = decode(&bytes);
    assert_eq!(image.width, 384, "CORE-81: exactly image_width wide");
    assert_eq!(decode_qr(&image), [QR_URL]);
    assert_eq!(decode_ean13(&image), "4870123456789");
    check_png_golden("receipt_kz_384.png", &bytes);
}

#[test]
fn kz_receipt_png_576_copy_scaled() {
    // The cash-core example parameters (§7.11): 576 px, scale 1.3, threshold 192; a copy.
    let options = Options::from_request(Some(576), Some("1.3"), Some(192)).unwrap();
    let doc = kz_receipt(true).to_document();
    let bytes = render_png(&doc, &options).unwrap();
    let image = decode(&bytes);
    assert_eq!(image.width, 576);
    assert_eq!(decode_qr(&image), [QR_URL]);
    assert_eq!(decode_ean13(&image), "4870123456789");
    check_png_golden("receipt_kz_576.png", &bytes);
}

#[test]
fn slips_png() {
    let frontol = render_png(&frontol_slip(), &Options::default()).unwrap();
    let image = decode(&frontol);
    assert_eq!(decode_qr(&image), ["http://atol.ru/PromoCode/Activate/5012-5640"]);
    assert_eq!(decode_ean13(&image), "1234567890128");
    check_png_golden("slip_frontol_384.png", &frontol);

    let itkassa = render_png(&itkassa_slip(), &Options { width_px: 576, ..Options::default() }).unwrap();
    let image = decode(&itkassa);
    assert_eq!(decode_qr(&image), ["Номер_билета_кодировать_в_QR-код"]);
    check_png_golden("slip_itkassa_576.png", &itkassa);
}

fn black_count(bytes: &[u8]) -> usize {
    decode(bytes).pixels.iter().filter(|b| **b).count()
}

#[test]
fn threshold_decides_which_grey_pixels_turn_black() {
    // CORE-81: black when the 8-bit luminance is below the threshold. Anti-aliased glyph edges
    // are grey, so a higher threshold blackens more; 0 blackens nothing (no luminance is < 0).
    let doc = Document::new().with(Block::text("Қазақстан ₸ Россия ₽")).with(Block::qr("x"));
    let count = |t| black_count(&render_png(&doc, &Options { threshold: t, ..Options::default() }).unwrap());
    let (none, low, mid, high, all) = (count(0), count(1), count(128), count(192), count(255));
    assert_eq!(none, 0);
    assert!(0 < low && low < mid && mid < high && high < all, "{low} < {mid} < {high} < {all}");
    // Pure black QR modules are black at any threshold above 0.
    let qr_only = Document::new().with(Block::qr("x"));
    let counts: Vec<usize> = [1, 128, 255]
        .iter()
        .map(|t| black_count(&render_png(&qr_only, &Options { threshold: *t, ..Options::default() }).unwrap()))
        .collect();
    assert!(counts.windows(2).all(|w| w[0] == w[1]) && counts[0] > 0, "{counts:?}");
}

#[test]
fn width_is_exact_and_scale_grows_the_content() {
    let doc = Document::new().with(Block::text("Сүт")).with(Block::pair("ИТОГ", "1,00"));
    for width in [256, 384, 576, 1000, 1024] {
        let image = decode(&render_png(&doc, &Options { width_px: width, ..Options::default() }).unwrap());
        assert_eq!(image.width, width);
    }
    let narrow = Options { width_px: 128, scale_milli: 500, threshold: 128 };
    assert_eq!(decode(&render_png(&doc, &narrow).unwrap()).width, 128);
    let height =
        |scale| decode(&render_png(&doc, &Options { scale_milli: scale, ..Options::default() }).unwrap()).height;
    assert!(height(500) < height(1000) && height(1000) < height(2000));
    assert_eq!(height(2000), 2 * height(1000), "twice the scale, twice the line height");
}

#[test]
fn styles_change_pixels() {
    let plain = Block::text("ИТОГ 1750,00 ₸");
    let png = |b: Block| render_png(&Document::new().with(b), &Options::default()).unwrap();
    let normal = decode(&png(plain.clone()));
    let bold = decode(&png(plain.clone().bold()));
    let tall = decode(&png(plain.clone().size(Size::Tall)));
    let large = decode(&png(plain.size(Size::Large)));
    let black = |d: &Decoded| d.pixels.iter().filter(|b| **b).count();
    assert!(black(&bold) > black(&normal));
    assert_eq!(tall.height, normal.height + 24, "double height adds one line");
    assert_eq!(large.height, tall.height);
    assert!(black(&large) > black(&tall));
}

#[test]
fn unsupported_characters_are_drawn_as_question_marks() {
    let png = |t: &str| render_png(&Document::new().with(Block::text(t)), &Options::default()).unwrap();
    assert_eq!(decode(&png("a\u{E000}b")).pixels, decode(&png("a?b")).pixels);
}

#[test]
fn limits_are_typed_errors() {
    let long_feed: Vec<Block> = (0..400).map(|_| Block::text("x")).collect();
    let tall = Options { width_px: 1024, scale_milli: 4000, threshold: 128 };
    assert!(matches!(render_png(&Document { blocks: long_feed }, &tall), Err(RenderError::TooTall(h)) if h > 32_000));
    assert_eq!(
        render_png(&Document::new(), &Options { width_px: 2000, ..Options::default() }),
        Err(RenderError::Width(2000))
    );
    assert_eq!(
        render_png(&Document::new(), &Options { width_px: 100, ..Options::default() }),
        Err(RenderError::Width(100))
    );
    assert_eq!(
        render_png(&Document::new(), &Options { scale_milli: 4001, ..Options::default() }),
        Err(RenderError::Scale("4001/1000".into()))
    );
    // 384 px at scale 4.0 leaves 8 columns of 48 px.
    assert_eq!(
        render_png(&Document::new(), &Options { scale_milli: 4000, ..Options::default() }),
        Err(RenderError::Columns(8))
    );
    // A 1 KiB payload needs a 141-module symbol (+8 quiet), wider than 128 px at one pixel a module.
    let big = Block::Qr(Qr { data: "Z".repeat(1024), ec: QrEc::H, module: Some(1) });
    assert!(matches!(
        render_png(&Document::new().with(big), &Options { width_px: 128, scale_milli: 500, threshold: 128 }),
        Err(RenderError::QrTooWide { width_px: 128, .. })
    ));
    assert_eq!(render_text(&Document::new(), 8), Err(RenderError::Columns(8)));
    let codes = Document { blocks: vec![Block::qr("x"); 17] };
    assert_eq!(render_png(&codes, &Options::default()), Err(RenderError::TooManyCodes(17)));
    assert!(render_png(&Document { blocks: vec![Block::qr("x"); 16] }, &Options::default()).is_ok());
    assert_eq!(Ean13::parse("4870123456785"), Err(RenderError::Ean13CheckDigit { expected: 9 }));
}

#[test]
fn empty_document_is_a_blank_strip() {
    let image = decode(&render_png(&Document::new(), &Options::default()).unwrap());
    assert_eq!((image.width, image.height), (384, 36));
    assert!(image.pixels.iter().all(|b| !b));
    assert_eq!(render_text(&Document::new(), 32), Ok(vec![]));
}

#[test]
fn view_model_is_plain_data() {
    // The structs are public so a mapping can build any block directly.
    let doc = Document {
        blocks: vec![
            Block::Text(Text {
                text: "Қ".into(),
                align: kassa_render::Align::Right,
                wrap: Wrap::Anywhere,
                style: Style::default(),
            }),
            Block::Pair(Pair {
                left: "a".into(),
                right: "b".into(),
                fill: '.',
                wrap: Wrap::Word,
                style: Style { bold: true, size: Size::Normal },
            }),
            Block::Separator { symbol: '=', style: Style::default() },
        ],
    };
    assert_eq!(render_text(&doc, 12).unwrap(), ["           Қ", "a..........b", "============"]);
}
