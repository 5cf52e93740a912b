//! RU documents (54-FZ, FFD 1.2) as printable documents: every kind the RU profile issues —
//! receipts (sell, sell refund, buy, buy refund), corrections, cash in/out, shift opening, X report
//! and Z report (shift closing) — with the requisites a printed document carries: the seller's INN
//! and place of settlement, title, shift / receipt / FD numbers, date and time (Moscow), cashier,
//! positions (quantity × price = sum, VAT), total, payments, change, VAT totals, registration
//! number, FN, fiscal sign (ФП) and the receipt QR string (ITK-94) as a QR code. Money in ₽.

use kassa_domain::fiscal::civil_from_days;
use kassa_domain::fiscal::ru::{Body, Document, Item, MOSCOW_OFFSET_MIN, Operation, Payment, Report};
use kassa_money::Money;
use kassa_render::{AmountLine, Block, Currency, Document as Sheet, Field, ItemView, ReceiptView, Size};
use std::collections::BTreeMap;

const CUR: Currency = Currency::RUB;

/// The printed name of a settlement sign (FFD tag 1054).
pub fn operation_title(op: Operation) -> &'static str {
    match op {
        Operation::Sell => "ПРИХОД",
        Operation::SellRefund => "ВОЗВРАТ ПРИХОДА",
        Operation::Buy => "РАСХОД",
        Operation::BuyRefund => "ВОЗВРАТ РАСХОДА",
    }
}

/// The printed name of a VAT code as the faces name it (`vat20`, `vat120`, `none`, …).
pub fn tax_label(code: &str) -> String {
    match code {
        "none" => "БЕЗ НДС".into(),
        "vat0" => "НДС 0%".into(),
        "vat5" => "НДС 5%".into(),
        "vat7" => "НДС 7%".into(),
        "vat10" => "НДС 10%".into(),
        "vat20" => "НДС 20%".into(),
        "vat22" => "НДС 22%".into(),
        "vat105" => "НДС 5/105".into(),
        "vat107" => "НДС 7/107".into(),
        "vat110" => "НДС 10/110".into(),
        "vat120" => "НДС 20/120".into(),
        "vat122" => "НДС 22/122".into(),
        other => format!("НДС {}", other.to_uppercase()),
    }
}

/// The printed name of a payment type (ATOL `payments[].type`: 0 cash, 1 electronic, 2 advance,
/// 3 credit, 4 other consideration, 5–9 extended types).
pub fn payment_label(kind: u8) -> String {
    match kind {
        0 => "НАЛИЧНЫМИ".into(),
        1 => "БЕЗНАЛИЧНЫМИ".into(),
        2 => "ПРЕДВАРИТЕЛЬНАЯ ОПЛАТА (АВАНС)".into(),
        3 => "ПОСЛЕДУЮЩАЯ ОПЛАТА (КРЕДИТ)".into(),
        4 => "ИНАЯ ФОРМА ОПЛАТЫ".into(),
        n => format!("ОПЛАТА (ВИД {n})"),
    }
}

/// `dd.mm.yyyy HH:MM` of Unix milliseconds in Moscow time (the register clock of RU documents).
pub fn moscow_datetime(ms: i64) -> String {
    let secs = ms.div_euclid(1000) + MOSCOW_OFFSET_MIN * 60;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!("{d:02}.{m:02}.{y} {:02}:{:02}", rem / 3600, rem % 3600 / 60)
}

/// The seller lines: place of settlement and INN, when the register's group has them.
fn header(doc: &Document) -> Vec<String> {
    let mut lines = Vec::new();
    if !doc.payment_address.is_empty() {
        lines.push(doc.payment_address.clone());
    }
    if !doc.inn.is_empty() {
        lines.push(format!("ИНН {}", doc.inn));
    }
    lines
}

/// Registration requisites, then the fiscal ones of a fiscal document.
fn fiscal_fields(doc: &Document, fiscal_sign: u32) -> Vec<Field> {
    let mut fields = vec![
        Field::new("РН ККТ", &doc.reg_number),
        Field::new("ЗН ККТ", &doc.register_id),
        Field::new("ФН", &doc.fn_number),
    ];
    if doc.fiscal {
        fields.push(Field::new("ФД", doc.number.to_string()));
        // ATOL-89: the fiscal sign is an unsigned 32-bit number; printed with 10 digits as in the QR.
        fields.push(Field::new("ФП", format!("{fiscal_sign:010}")));
    } else {
        fields.push(Field::new("Документ №", doc.number.to_string()));
    }
    fields.push(Field::new("ФФД", &doc.ffd));
    fields
}

fn item_view(item: &Item) -> ItemView {
    let mut taxes = Vec::new();
    if item.tax != "none" {
        taxes.push(AmountLine::new(tax_label(&item.tax), item.tax_sum));
    }
    ItemView {
        name: item.name.clone(),
        quantity: item.quantity,
        unit: String::new(),
        price: item.price,
        sum: item.sum,
        taxes,
        // Seam: RU positions carry no barcode in the engine's document model; when they do
        // (e.g. FFD tag 1162 / an EAN-13 field), parse it with `Ean13::parse` here.
        barcode: None,
    }
}

/// Receipt-level VAT totals: per tax code, the tax sum ("СУММА НДС 20%") or, for positions
/// without VAT, the turnover ("СУММА БЕЗ НДС").
fn vat_totals(items: &[Item]) -> Vec<AmountLine> {
    let mut by_code: BTreeMap<&str, (Money, Money)> = BTreeMap::new();
    for it in items {
        let e = by_code.entry(it.tax.as_str()).or_default();
        e.0 = e.0.checked_add(it.sum).unwrap_or(e.0);
        e.1 = e.1.checked_add(it.tax_sum).unwrap_or(e.1);
    }
    by_code
        .into_iter()
        .map(|(code, (turnover, tax))| {
            if code == "none" {
                AmountLine::new("СУММА БЕЗ НДС", turnover)
            } else {
                AmountLine::new(format!("СУММА {}", tax_label(code)), tax)
            }
        })
        .collect()
}

fn payment_lines(payments: &[Payment], change: Money) -> Vec<AmountLine> {
    let mut lines: Vec<AmountLine> = payments.iter().map(|p| AmountLine::new(payment_label(p.kind), p.sum)).collect();
    if change > Money::ZERO {
        lines.push(AmountLine::new("СДАЧА", change));
    }
    lines
}

/// The info lines every document has: shift, receipt number (receipts), date and time.
fn info(doc: &Document) -> Vec<Field> {
    let mut info = vec![Field::new("Смена №", doc.shift_number.to_string())];
    if let Some(n) = doc.receipt_number {
        info.push(Field::new("Чек №", n.to_string()));
    }
    info.push(Field::new("Дата, время", moscow_datetime(doc.time_ms)));
    info
}

/// The printable document of an RU journal document. `fiscal_sign` and `qr` are the journal
/// entry's (the sign is over the canonical bytes, so it is not inside them); `copy` marks a
/// reprint.
pub fn document(doc: &Document, fiscal_sign: u32, qr: Option<&str>, copy: bool) -> Sheet {
    let copy_mark = copy.then(|| "КОПИЯ".to_owned());
    match &doc.body {
        Body::Receipt { operation, items, payments, change, sno, cashier } => {
            let mut info = info(doc);
            if let Some(c) = cashier.as_deref().filter(|c| !c.is_empty()) {
                info.push(Field::new("Кассир", c));
            }
            if let Some(s) = sno {
                info.push(Field::new("СНО", sno_label(s)));
            }
            ReceiptView {
                header: header(doc),
                title: vec!["КАССОВЫЙ ЧЕК".into(), operation_title(*operation).into()],
                copy_mark,
                info,
                items: items.iter().map(item_view).collect(),
                adjustments: Vec::new(),
                total: AmountLine::new("ИТОГ", doc.total),
                payments: payment_lines(payments, *change),
                taxes: vat_totals(items),
                fiscal: fiscal_fields(doc, fiscal_sign),
                qr: qr.map(str::to_owned),
                barcode: None,
                footer: Vec::new(),
                currency: CUR,
            }
            .to_document()
        }
        Body::Correction { operation, payments, taxes, sno, base } => {
            let mut info = info(doc);
            if let Some(s) = sno {
                info.push(Field::new("СНО", sno_label(s)));
            }
            if !base.is_empty() {
                info.push(Field::new("Основание", base));
            }
            ReceiptView {
                header: header(doc),
                title: vec!["КАССОВЫЙ ЧЕК КОРРЕКЦИИ".into(), operation_title(*operation).into()],
                copy_mark,
                info,
                total: AmountLine::new("ИТОГ", doc.total),
                payments: payment_lines(payments, Money::ZERO),
                taxes: taxes.iter().map(|t| AmountLine::new(format!("СУММА {}", tax_label(&t.tax)), t.sum)).collect(),
                fiscal: fiscal_fields(doc, fiscal_sign),
                qr: qr.map(str::to_owned),
                currency: CUR,
                ..ReceiptView::default()
            }
            .to_document()
        }
        Body::CashIn { sum } | Body::CashOut { sum } => {
            let title = if matches!(doc.body, Body::CashIn { .. }) { "ВНЕСЕНИЕ" } else { "ВЫПЛАТА" };
            let mut sheet = start(doc, &[title], copy);
            sheet.push(Block::pair("СУММА", CUR.with_sign(*sum)).bold().size(Size::Tall));
            finish(sheet, doc, fiscal_sign, qr)
        }
        Body::OpenShift => {
            let sheet = start(doc, &["ОТЧЁТ ОБ ОТКРЫТИИ СМЕНЫ"], copy);
            finish(sheet, doc, fiscal_sign, qr)
        }
        Body::XReport { report } => {
            let mut sheet = start(doc, &["X-ОТЧЁТ", "ОТЧЁТ БЕЗ ГАШЕНИЯ"], copy);
            report_lines(&mut sheet, report);
            finish(sheet, doc, fiscal_sign, qr)
        }
        Body::CloseShift { report } => {
            let mut sheet = start(doc, &["Z-ОТЧЁТ", "ОТЧЁТ О ЗАКРЫТИИ СМЕНЫ"], copy);
            report_lines(&mut sheet, report);
            finish(sheet, doc, fiscal_sign, qr)
        }
    }
}

/// The printed name of a taxation system code (ATOL `sno`).
pub fn sno_label(sno: &str) -> String {
    match sno {
        "osn" => "ОСН".into(),
        "usn_income" => "УСН доход".into(),
        "usn_income_outcome" => "УСН доход - расход".into(),
        "envd" => "ЕНВД".into(),
        "esn" => "ЕСХН".into(),
        "patent" => "ПСН".into(),
        other => other.to_owned(),
    }
}

/// Header, title and info lines of a non-receipt document, laid out like a receipt's.
fn start(doc: &Document, title: &[&str], copy: bool) -> Sheet {
    let mut sheet = Sheet::new();
    for (i, line) in header(doc).iter().enumerate() {
        sheet.push(if i == 0 { Block::center(line).bold() } else { Block::center(line) });
    }
    if !doc.inn.is_empty() || !doc.payment_address.is_empty() {
        sheet.push(Block::separator('-'));
    }
    for line in title {
        sheet.push(Block::center(*line).bold());
    }
    if copy {
        sheet.push(Block::center("КОПИЯ").bold().size(Size::Large));
    }
    for f in info(doc) {
        sheet.push(Block::pair(f.label, f.value));
    }
    sheet.push(Block::separator('-'));
    sheet
}

/// Fiscal requisites and, for fiscal documents, the QR code.
fn finish(mut sheet: Sheet, doc: &Document, fiscal_sign: u32, qr: Option<&str>) -> Sheet {
    sheet.push(Block::separator('-'));
    for f in fiscal_fields(doc, fiscal_sign) {
        sheet.push(Block::pair(f.label, f.value));
    }
    if let Some(qr) = qr {
        sheet.push(Block::qr(qr));
    }
    sheet
}

fn amount(label: impl Into<String>, m: Money) -> Block {
    Block::pair(label, CUR.amount(m))
}

/// The counters of an X or Z report: per operation the receipts, corrections, payments by type
/// and VAT by code; cash in/out, change, revenue, cash in the drawer, non-nullable totals.
fn report_lines(sheet: &mut Sheet, r: &Report) {
    let c = &r.counters;
    if r.shift_open {
        sheet.push(Block::pair("Смена открыта", moscow_datetime(r.shift_opened_ms)));
    }
    sheet.push(Block::pair("Чеков за смену", r.receipts_in_shift.to_string()));
    for op in Operation::ALL {
        let receipts = c.receipts.get(&op);
        let corrections = c.corrections.get(&op);
        if receipts.is_none() && corrections.is_none() {
            continue;
        }
        sheet.push(Block::separator('-'));
        sheet.push(Block::text(operation_title(op)).bold());
        if let Some(cs) = receipts {
            sheet.push(amount(format!("Чеков: {}", cs.count), cs.sum));
        }
        if let Some(cs) = corrections {
            sheet.push(amount(format!("Коррекций: {}", cs.count), cs.sum));
        }
        for (kind, sum) in c.payments.get(&op).into_iter().flatten() {
            let label = kind.parse::<u8>().map_or_else(|_| format!("ОПЛАТА ({kind})"), payment_label);
            sheet.push(amount(format!("  {label}"), *sum));
        }
        for (code, t) in c.taxes.get(&op).into_iter().flatten() {
            if code == "none" {
                sheet.push(amount("  ОБОРОТ БЕЗ НДС", t.turnover));
            } else {
                sheet.push(amount(format!("  {}", tax_label(code)), t.tax));
            }
        }
    }
    sheet.push(Block::separator('-'));
    sheet.push(amount(format!("Внесений: {}", c.cash_in.count), c.cash_in.sum));
    sheet.push(amount(format!("Выплат: {}", c.cash_out.count), c.cash_out.sum));
    sheet.push(amount("Сдача", c.change));
    sheet.push(Block::pair("ВЫРУЧКА", CUR.with_sign(r.revenue)).bold());
    sheet.push(Block::pair("НАЛИЧНЫХ В КАССЕ", CUR.with_sign(r.cash)).bold());
    if !r.non_nullable.is_empty() {
        sheet.push(Block::separator('-'));
        sheet.push(Block::text("НЕОБНУЛЯЕМЫЕ СУММЫ").bold());
        for (op, sum) in &r.non_nullable {
            sheet.push(amount(format!("  {}", operation_title(*op)), *sum));
        }
    }
    sheet.push(Block::pair("Всего ФД в ФН", r.fiscal_documents.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_in_moscow_time() {
        // 2026-01-01T00:00:00Z is 03:00 in Moscow (UTC+3 all year).
        assert_eq!(moscow_datetime(1_767_225_600_000), "01.01.2026 03:00");
        assert_eq!(moscow_datetime(1_767_214_800_000 - 1), "31.12.2025 23:59");
    }

    #[test]
    fn tax_and_payment_labels() {
        assert_eq!(tax_label("vat120"), "НДС 20/120");
        assert_eq!(tax_label("none"), "БЕЗ НДС");
        assert_eq!(tax_label("vat999"), "НДС VAT999");
        assert_eq!(payment_label(0), "НАЛИЧНЫМИ");
        assert_eq!(payment_label(7), "ОПЛАТА (ВИД 7)");
    }
}
