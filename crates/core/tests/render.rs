//! Printable documents of the engine (CORE-81): real documents issued by the pure RU and KZ
//! profiles, mapped with `kassa_core::fiscal::render` and rendered with `kassa-render`. Golden
//! images are compared as decoded pixels, then as SHA-256 of the bytes; QR codes are decoded back
//! from the PNG with rqrr and must equal the document's QR string (ITK-94 for RU, CORE-100 for
//! KZ); every document kind renders; the same document always gives the same bytes.
//!
//! `KASSA_UPDATE_GOLDEN=1 cargo test -p kassa-core --test render` rewrites `tests/golden/`;
//! look at the images before committing them.

use std::path::PathBuf;

use kassa_core::fiscal::render::{self, kz::KzPrint};
use kassa_domain::fiscal::ru::{self, Item, Operation, Payment, Receipt, RuState, Service};
use kassa_domain::fiscal::{Command, Ctx, Identity, Issued, Policy, RegisterState, apply};
use kassa_domain::kz::{self, AdsObject, Caller, KkmConfig, KkmState, LocalDateTime, OfdOutcome, RegInfo, VatCertificate};
use kassa_money::{Money, Quantity};
use kassa_render::{Document, Options, render_png, render_text};
use sha2::{Digest, Sha256};

/// 2026-01-17 10:34:37 UTC = 13:34:37 Moscow.
const T0: i64 = 1_768_646_077_000;

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

/// Decodes a 1-bit greyscale PNG.
fn decode(bytes: &[u8]) -> Decoded {
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

fn decode_qr(image: &Decoded) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(image.width as usize, image.height as usize, |x, y| {
        if image.pixels[y * image.width as usize + x] { 0 } else { 255 }
    });
    prepared.detect_grids().into_iter().map(|grid| grid.decode().expect("QR decodes").1).collect()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Compares with the golden: decoded pixels first, then the bytes' SHA-256.
fn check_png_golden(name: &str, bytes: &[u8]) {
    let path = golden_path(name);
    if updating() {
        std::fs::write(&path, bytes).unwrap();
        return;
    }
    let golden =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run with KASSA_UPDATE_GOLDEN=1", path.display()));
    let (got, want) = (decode(bytes), decode(&golden));
    let differing = got.pixels.iter().zip(&want.pixels).filter(|(a, b)| a != b).count();
    if (got.width, got.height) != (want.width, want.height) || differing > 0 {
        let actual = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::write(&actual, bytes).unwrap();
        panic!(
            "{name}: {differing} pixels differ ({}×{} vs golden {}×{}); actual written to {}",
            got.width,
            got.height,
            want.width,
            want.height,
            actual.display()
        );
    }
    assert_eq!(sha256(bytes), sha256(&golden), "{name}: same pixels, different bytes");
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

// ---------------------------------------------------------------- RU

fn identity() -> Identity {
    Identity {
        register_id: "KSR13.00-1-11".into(),
        fn_number: "9999078900001234".into(),
        reg_number: "0000000001012345".into(),
        inn: "7701234567".into(),
        payment_address: "magazin.ru".into(),
        sno: vec!["osn".into()],
        ofd_id: String::new(),
    }
}

/// A register that issues RU documents through the pure engine rules, one minute apart.
struct Ru {
    state: RegisterState,
    id: Identity,
    now: i64,
}

impl Ru {
    fn new() -> Ru {
        let id = identity();
        Ru { state: RegisterState::Ru(RuState::new(&id.fn_number)), id, now: T0 }
    }

    fn run(&mut self, command: ru::Command) -> Vec<Issued> {
        let ctx = Ctx { now_ms: self.now, secret: b"render-test-secret", identity: &self.id, policy: Policy::default(), fault: None };
        let applied = apply(&self.state, &Command::Ru(command), &ctx).expect("command accepted");
        self.state = applied.state;
        self.now += 60_000;
        applied.documents
    }
}

fn ru_doc(issued: &Issued) -> ru::Document {
    serde_json::from_slice(&issued.bytes).unwrap()
}

fn mapped(issued: &Issued) -> Document {
    render::ru::document(&ru_doc(issued), issued.fiscal_sign, issued.qr.as_deref(), false)
}

fn money(minor: i64) -> Money {
    Money::from_minor(minor)
}

fn sell_receipt() -> Receipt {
    let item = |name: &str, price: i64, q: i64, tax: &str, tax_sum: i64| Item {
        name: name.into(),
        price: money(price),
        quantity: Quantity::from_thousandths(q),
        sum: money(price * q / 1000),
        tax: tax.into(),
        tax_sum: money(tax_sum),
        section: 1,
    };
    Receipt {
        operation: Operation::Sell,
        items: vec![
            item("Молоко «Простоквашино» 3,2% 930 мл", 8_990, 2_000, "vat10", 1_635),
            item("Хлеб бородинский нарезной", 5_500, 1_000, "vat20", 917),
            item("Яблоки Гала, весовые", 18_900, 1_250, "vat120", 3_938),
            item("Пакет", 500, 1_000, "none", 0),
        ],
        payments: vec![Payment { kind: 1, sum: money(20_000) }, Payment { kind: 0, sum: money(30_000) }],
        total: money(17_980 + 5_500 + 23_625 + 500),
        sno: Some("osn".into()),
        service: Some(Service { inn: "7701234567".into(), payment_address: "magazin.ru".into() }),
        cashier: Some("Иванова Мария".into()),
    }
}

#[test]
fn ru_sell_receipt_with_vat_and_qr_at_384() {
    let mut reg = Ru::new();
    let docs = reg.run(ru::Command::Receipt(sell_receipt()));
    assert_eq!(docs.iter().map(|d| d.kind).collect::<Vec<_>>(), ["open_shift", "receipt"]);
    let receipt = &docs[1];
    let doc = mapped(receipt);
    let bytes = render_png(&doc, &Options::default()).unwrap();
    // Deterministic: the same document, mapped again, gives the same bytes.
    assert_eq!(bytes, render_png(&mapped(receipt), &Options::default()).unwrap());
    let image = decode(&bytes);
    assert_eq!(image.width, 384, "CORE-38 default width");
    // ITK-94: the QR code printed is the document's QR string.
    let qr = receipt.qr.clone().unwrap();
    assert_eq!(qr, format!("t=20260117T133437&s=476.05&fn=9999078900001234&i=2&fp={:010}&n=1", receipt.fiscal_sign));
    assert_eq!(decode_qr(&image), [qr.as_str()]);
    check_png_golden("ru_sell_384.png", &bytes);

    let lines = render_text(&doc, 42).unwrap();
    check_text_golden("ru_sell_42.txt", &lines);
    let find = |prefix: &str| lines.iter().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in {lines:#?}"));
    assert!(find("ИТОГ").ends_with("476,05 ₽"));
    assert!(find("БЕЗНАЛИЧНЫМИ").ends_with("200,00"));
    assert!(find("НАЛИЧНЫМИ").ends_with("300,00"));
    assert!(find("СДАЧА").ends_with("23,95"));
    assert!(find("   2 × 89,90").ends_with("179,80"));
    assert!(find("   НДС 10%").ends_with("16,35"));
    assert!(find("СУММА НДС 20/120").ends_with("39,38"));
    assert!(find("СУММА БЕЗ НДС").ends_with("5,00"));
    assert!(find("ФП").ends_with(&format!("{:010}", receipt.fiscal_sign)));
    assert!(find("Кассир").ends_with("Иванова Мария"));
    assert_eq!(find("Дата, время"), &format!("Дата, время{}17.01.2026 13:34", " ".repeat(42 - 11 - 16)));
    assert!(lines.iter().any(|l| l.trim() == "КАССОВЫЙ ЧЕК") && lines.iter().any(|l| l.trim() == "ПРИХОД"));
    assert!(lines.concat().contains(&qr), "text output prints the QR string");
}

#[test]
fn ru_z_report_shows_the_shift_counters() {
    let mut reg = Ru::new();
    reg.run(ru::Command::Receipt(sell_receipt()));
    reg.run(ru::Command::CashIn { sum: money(100_000) });
    let refund = Receipt { operation: Operation::SellRefund, payments: vec![Payment { kind: 0, sum: money(5_500) }], total: money(5_500), items: vec![sell_receipt().items[1].clone()], ..sell_receipt() };
    reg.run(ru::Command::Receipt(refund));
    reg.run(ru::Command::CashOut { sum: money(20_000) });
    let z = reg.run(ru::Command::CloseShift { cashier: None });
    assert_eq!(z[0].kind, "close_shift");
    let doc = mapped(&z[0]);
    let bytes = render_png(&doc, &Options::default()).unwrap();
    let image = decode(&bytes);
    assert_eq!(decode_qr(&image), [z[0].qr.as_deref().unwrap()]);
    check_png_golden("ru_z_384.png", &bytes);
    let lines = render_text(&doc, 42).unwrap();
    check_text_golden("ru_z_42.txt", &lines);
    let find = |prefix: &str| lines.iter().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in {lines:#?}"));
    assert!(lines.iter().any(|l| l.trim() == "Z-ОТЧЁТ"));
    assert!(find("Чеков: 1").ends_with("476,05"), "sell receipts");
    assert!(find("Внесений: 1").ends_with("1000,00"));
    assert!(find("Выплат: 1").ends_with("200,00"));
    // Revenue: 476.05 − 55.00; drawer: 300.00 − 23.95 + 1000 − 55 − 200.
    assert!(find("ВЫРУЧКА").ends_with("421,05 ₽"));
    assert!(find("НАЛИЧНЫХ В КАССЕ").ends_with("1021,05 ₽"));
    let fd = lines.iter().find(|l| l.split_whitespace().next() == Some("ФД")).unwrap();
    assert!(fd.ends_with(&format!(" {}", z[0].number)), "{fd}");
}

#[test]
fn every_ru_document_kind_renders() {
    let mut reg = Ru::new();
    let mut issued = reg.run(ru::Command::OpenShift { cashier: Some("Иванова".into()) });
    issued.extend(reg.run(ru::Command::Receipt(sell_receipt())));
    for op in [Operation::SellRefund, Operation::Buy, Operation::BuyRefund] {
        let r = Receipt { operation: op, payments: vec![Payment { kind: 1, sum: money(500) }], total: money(500), items: vec![sell_receipt().items[3].clone()], ..sell_receipt() };
        issued.extend(reg.run(ru::Command::Receipt(r)));
    }
    issued.extend(reg.run(ru::Command::Correction(ru::Correction {
        operation: Operation::Sell,
        payments: vec![Payment { kind: 0, sum: money(1_000) }],
        taxes: vec![ru::TaxSum { tax: "vat20".into(), sum: money(167) }],
        sno: None,
        service: None,
        base: "Предписание №12".into(),
    })));
    issued.extend(reg.run(ru::Command::CashIn { sum: money(5_000) }));
    issued.extend(reg.run(ru::Command::CashOut { sum: money(1_000) }));
    issued.extend(reg.run(ru::Command::XReport));
    issued.extend(reg.run(ru::Command::CloseShift { cashier: None }));
    let kinds: Vec<&str> = issued.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        ["open_shift", "receipt", "receipt", "receipt", "receipt", "correction", "cash_in", "cash_out", "x_report", "close_shift"]
    );
    let titles = ["ОТЧЁТ ОБ ОТКРЫТИИ СМЕНЫ", "ПРИХОД", "ВОЗВРАТ ПРИХОДА", "РАСХОД", "ВОЗВРАТ РАСХОДА", "КАССОВЫЙ ЧЕК КОРРЕКЦИИ", "ВНЕСЕНИЕ", "ВЫПЛАТА", "X-ОТЧЁТ", "Z-ОТЧЁТ"];
    for (d, title) in issued.iter().zip(titles) {
        let doc = mapped(d);
        let lines = render_text(&doc, 32).unwrap();
        assert!(lines.iter().any(|l| l.trim() == title), "{} has the title {title}: {lines:#?}", d.kind);
        let png = render_png(&doc, &Options { width_px: 576, ..Options::default() }).unwrap();
        let image = decode(&png);
        assert_eq!(image.width, 576);
        // Fiscal documents carry their QR string as a QR code; non-fiscal ones none.
        let qrs = decode_qr(&image);
        assert_eq!(qrs, d.qr.clone().into_iter().collect::<Vec<_>>(), "{}", d.kind);
        assert_eq!(d.qr.is_some(), d.fiscal);
    }
    // Copies are marked.
    let copy = render::ru::document(&ru_doc(&issued[1]), issued[1].fiscal_sign, issued[1].qr.as_deref(), true);
    assert!(render_text(&copy, 32).unwrap().iter().any(|l| l.trim() == "КОПИЯ"));
}

// ---------------------------------------------------------------- KZ

/// The KKM of the cash-core §7.9 example: its `reg_info` and the OFD's test ad text.
fn kkm() -> KkmState {
    let reg_info: RegInfo = serde_json::from_value(serde_json::json!({
        "org": {"title": "ЧН ГЕОРГИАДИ ЛИЛИЯ ГЕННАДЬЕВНА", "address": "г. Темиртау, Республики / ", "inn": "910812450255", "taxation_type": 0, "okved": "", "tenantId": 1},
        "pos": {"title": "Для Макса", "address": "г. Нур-Султан, р-н Есиль, Республики 1"},
        "kkm": {"point_of_payment_number": "", "terminal_number": "", "fns_kkm_id": "010100134464", "serial_number": "ISCR1018036404743", "kkm_id": "6923"}
    }))
    .unwrap();
    let mut state = KkmState::new(reg_info);
    state.ads_info = vec![AdsObject {
        info: kz::state::AdInfo { kind: 0, version: 601 },
        text: "ОФД - АО \"КАЗАХТЕЛЕКОМ\"\nФиск. признак ${ticket_number}\nКод ККМ КГД: 010100134464\nДля проверки чека зайдите на сайт:\nhttp://consumer.test-oofd.kz\nТестілік мәтін - бұл тестілік жарнамалық мәтін".into(),
    }];
    // The next autonomous ticket is number 1008, as in the §10.5 example.
    state.offline_ticket_number = 1007;
    state.fr_shift_number = 118;
    state
}

fn kz_trade() -> kz::Command {
    let mut request: serde_json::Value = serde_json::from_str(include_str!("../../domain/src/kz/testdata/trade_request.json")).unwrap();
    let commodity = &mut request["items"][0]["commodity"];
    commodity["name"] = "Сүт 3,2% 1 л «Ұлттық өнім»".into();
    commodity["barcode"] = "4870123456789".into();
    commodity["measure_unit_code"] = "796".into();
    kz::Command::Trade(serde_json::from_value(request).unwrap())
}

fn kz_run(state: &KkmState, command: &kz::Command, at: &str) -> Vec<kz::Finished> {
    let caller = Caller { code: 1, name: "Әлия Қасымова".into() };
    let config = KkmConfig::new("http://consumer.test-oofd.kz");
    let now = LocalDateTime::parse(at).unwrap();
    // No OFD connection: the ticket is accepted autonomously and numbered by the KKM (CORE-98).
    let run = kz::execute(state, command, &caller, &config, now, |_| OfdOutcome::Unreachable);
    assert_eq!(run.outcome, Ok(()));
    run.committed
}

fn kz_print<'a>(state: &'a KkmState, vat: &'a VatCertificate, is_original: bool) -> KzPrint<'a> {
    KzPrint { reg_info: &state.reg_info, ads_info: &state.ads_info, vat_certificate: vat, ofd_name: "АО «Казахтелеком»", is_original }
}

#[test]
fn kz_ticket_with_tenge_qr_ads_and_barcode_at_576() {
    let state = kkm();
    let done = kz_run(&state, &kz_trade(), "2025-01-17T13:34:37");
    let ticket = &done[0].document;
    // CORE-100: the consumer QR of the autonomous ticket, as in the §10.5 example.
    assert_eq!(ticket.qr_code, "http://consumer.test-oofd.kz/?&i=1008&f=010100134464&s=1750,00&t=20250117T133437");
    let vat = VatCertificate { series: "60001".into(), number: "1234567".into(), is_printable: true };
    let doc = render::kz::document(ticket, &kz_print(&done[0].state, &vat, true));
    // The cash-core §7.11 example parameters.
    let options = Options::from_request(Some(576), Some("1.3"), Some(192)).unwrap();
    let bytes = render_png(&doc, &options).unwrap();
    assert_eq!(bytes, render_png(&doc, &options).unwrap(), "deterministic bytes");
    let image = decode(&bytes);
    assert_eq!(image.width, 576, "CORE-81: exactly image_width wide");
    assert_eq!(decode_qr(&image), [ticket.qr_code.as_str()]);
    check_png_golden("kz_ticket_576.png", &bytes);

    let lines = render_text(&doc, 48).unwrap();
    check_text_golden("kz_ticket_48.txt", &lines);
    let find = |prefix: &str| lines.iter().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in {lines:#?}"));
    assert!(find("ЖИЫНЫ/ИТОГ").ends_with("1750,00 ₸"));
    assert!(find("ФБ/ФП").ends_with("1008"));
    assert!(find("   Скидка на позицию tovar1").ends_with("-50,00"));
    assert!(find("Сумма общей скидки").ends_with("-200,00"));
    assert!(find("Қайтарым/Сдача").ends_with("250,00"));
    assert!(find("ҚҚС/НДС 12% в т.ч.").ends_with("187,50"));
    assert!(find("Кассир").ends_with("Әлия Қасымова"));
    // CORE-81: ad texts with the placeholder replaced by the fiscal id; the VAT certificate.
    assert!(lines.iter().any(|l| l.trim() == "Фиск. признак 1008"), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains("${ticket_number}")));
    assert!(lines.iter().any(|l| l.contains("серия 60001 № 1234567")));
    // EAN-13 of the commodity barcode (printed as digits in text).
    assert!(lines.iter().any(|l| l.trim() == "4870123456789"));

    // A certificate that is not printable is left out; a copy is marked (CORE-59).
    let hidden = VatCertificate { is_printable: false, ..vat };
    let copy = render_text(&render::kz::document(ticket, &kz_print(&done[0].state, &hidden, false)), 48).unwrap();
    assert!(!copy.iter().any(|l| l.contains("60001")));
    assert!(copy.iter().any(|l| l.trim() == "КӨШІРМЕ / КОПИЯ"));
}

#[test]
fn every_kz_document_kind_renders() {
    let vat = VatCertificate::default();
    let mut state = kkm();
    let mut docs = Vec::new();
    let commands = [
        (kz::Command::MoneyPlacement(kz::MoneyPlacementRequest { operation: 0, sum: money(500_000) }), "2025-01-17T09:00:00"),
        (kz_trade(), "2025-01-17T13:34:37"),
        (kz::Command::MoneyPlacement(kz::MoneyPlacementRequest { operation: 1, sum: money(100_000) }), "2025-01-17T15:00:00"),
        (kz::Command::Report(kz::ReportRequest { report_type: 1 }), "2025-01-17T18:00:00"),
        (kz::Command::Report(kz::ReportRequest { report_type: 0 }), "2025-01-17T20:00:00"),
    ];
    for (command, at) in &commands {
        for done in kz_run(&state, command, at) {
            state = done.state.clone();
            docs.push(done);
        }
    }
    let titles = ["АҚША ЕНГІЗУ / ВНЕСЕНИЕ", "САТУ / ПРОДАЖА", "АҚША АЛУ / ИЗЪЯТИЕ", "X-ЕСЕП / X-ОТЧЁТ", "Z-ЕСЕП / Z-ОТЧЁТ"];
    assert_eq!(docs.len(), titles.len());
    for (done, title) in docs.iter().zip(titles) {
        let doc = render::kz::document(&done.document, &kz_print(&done.state, &vat, true));
        let lines = render_text(&doc, 48).unwrap();
        assert!(lines.iter().any(|l| l.trim() == title), "{title}: {lines:#?}");
        let png = render_png(&doc, &Options::default()).unwrap();
        let image = decode(&png);
        assert_eq!(image.width, 384);
    }
    let z = render::kz::document(&docs[4].document, &kz_print(&docs[4].state, &vat, true));
    let lines = render_text(&z, 48).unwrap();
    check_text_golden("kz_z_48.txt", &lines);
    let find = |prefix: &str| lines.iter().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in {lines:#?}"));
    assert!(find("ТҮСІМ/ВЫРУЧКА").ends_with("1750,00 ₸"));
    // Drawer: 5000 + 750 (cash net of change) − 1000.
    assert!(find("КАССАДА/В КАССЕ").ends_with("4750,00 ₸"));
    assert!(find("Енгізу/Внесения: 1").ends_with("5000,00"));
}
