//! KZ documents (cash core) as printable documents (CORE-81): tickets, money placements and X/Z
//! reports with organisation and point-of-sale data from `reg_info`, the document kind and
//! numbers, date/time, operator, lines and totals, taxes, the fiscal id and a QR code of
//! `qr_code` (tickets), the OFD ad texts with `${ticket_number}` replaced by the fiscal id, and
//! the VAT certificate when it is printable. Labels in Kazakh and Russian; money in ₸.

use kassa_domain::kz::enums::{ItemType, MoneyPlacementKind, Operation, PaymentType};
use kassa_domain::kz::process::{Body, Document};
use kassa_domain::kz::report::ReportObject;
use kassa_domain::kz::ticket::{TaxObject, TicketObject};
use kassa_domain::kz::time::DateTimeObject;
use kassa_domain::kz::{AdsObject, CommandType, MoneyPlacementObject, RegInfo, VatCertificate};
use kassa_money::{Money, Quantity};
use kassa_render::{AmountLine, Block, Currency, Document as Sheet, Ean13, Field, ItemView, ReceiptView, Size};

const CUR: Currency = Currency::KZT;

/// The CORE-81 placeholder of ad texts, replaced by the fiscal id.
pub const TICKET_NUMBER_PLACEHOLDER: &str = "${ticket_number}";

/// What a KZ image shows besides the journal document: the KKM's registration data and ad texts
/// (from its state), its VAT certificate and OFD (from its record), and whether it is the
/// original (CORE-59 `is_original`).
#[derive(Clone, Copy, Debug)]
pub struct KzPrint<'a> {
    pub reg_info: &'a RegInfo,
    pub ads_info: &'a [AdsObject],
    pub vat_certificate: &'a VatCertificate,
    /// Name of the KKM's OFD ("" when not configured).
    pub ofd_name: &'a str,
    pub is_original: bool,
}

/// Kazakh / Russian name of a ticket operation.
pub fn operation_title(op: Operation) -> &'static str {
    match op {
        Operation::Sell => "САТУ / ПРОДАЖА",
        Operation::SellReturn => "САТУДЫ ҚАЙТАРУ / ВОЗВРАТ ПРОДАЖИ",
        Operation::Buy => "САТЫП АЛУ / ПОКУПКА",
        Operation::BuyReturn => "САТЫП АЛУДЫ ҚАЙТАРУ / ВОЗВРАТ ПОКУПКИ",
    }
}

/// Kazakh / Russian name of a payment type.
pub fn payment_label(kind: PaymentType) -> &'static str {
    match kind {
        PaymentType::Cash => "Қолма-қол/Наличные",
        PaymentType::Card => "Карта/Банковская карта",
        PaymentType::Mobile => "Мобильді/Мобильный платёж",
    }
}

/// A percent in thousandths (CORE-27) as printed: 12000 → "12%", 12500 → "12,5%".
pub fn percent(thousandths: u32) -> String {
    let (whole, frac) = (thousandths / 1000, thousandths % 1000);
    if frac == 0 {
        format!("{whole}%")
    } else {
        let frac = format!("{frac:03}");
        format!("{whole},{}%", frac.trim_end_matches('0'))
    }
}

/// The unit of a measure-unit code (OKEI codes the cash core sends; others print as the code).
pub fn unit(code: &str) -> String {
    match code {
        "796" => "дана/шт".into(),
        "166" => "кг".into(),
        "163" => "г".into(),
        "112" => "л".into(),
        "006" => "м".into(),
        other => other.to_owned(),
    }
}

/// `dd.mm.yyyy HH:MM:SS` of a body date-time (CORE-31).
pub fn datetime(dt: &DateTimeObject) -> String {
    let (d, t) = (dt.date, dt.time);
    format!("{:02}.{:02}.{:04} {:02}:{:02}:{:02}", d.day, d.month, d.year, t.hour, t.minute, t.second)
}

fn tax_line(t: &TaxObject) -> AmountLine {
    // "в т.ч." (оның ішінде): the tax is included in the amount, not added to it.
    let included = if t.is_in_total_sum { " в т.ч." } else { "" };
    let label = format!("ҚҚС/НДС {}{included}", percent(t.percent));
    AmountLine::new(label, t.sum)
}

/// Organisation and point of sale (CORE-81), from `reg_info`.
fn header(reg: &RegInfo) -> Vec<String> {
    let mut lines = Vec::new();
    let org = &reg.org;
    lines.extend([org.title.clone()].into_iter().filter(|s| !s.is_empty()));
    if !org.inn.is_empty() {
        lines.push(format!("БСН/ЖСН / БИН/ИИН {}", org.inn));
    }
    lines.extend([org.address.clone(), reg.pos.title.clone(), reg.pos.address.clone()].into_iter().filter(|s| !s.is_empty()));
    lines
}

/// Registration numbers of the KKM.
fn kkm_fields(reg: &RegInfo) -> Vec<Field> {
    let k = &reg.kkm;
    [("ЗНМ", &k.serial_number), ("ТНМ/РНМ", &k.kkm_id), ("КГД коды/Код ККМ КГД", &k.fns_kkm_id)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(l, v)| Field::new(l, v.clone()))
        .collect()
}

/// CORE-81: the ad texts with `${ticket_number}` replaced by the fiscal id.
pub fn ad_texts(ads: &[AdsObject], fiscal_id: &str) -> Vec<String> {
    ads.iter().filter(|a| !a.text.trim().is_empty()).map(|a| a.text.replace(TICKET_NUMBER_PLACEHOLDER, fiscal_id)).collect()
}

/// CORE-81: the VAT certificate line when `is_printable`.
fn vat_certificate(v: &VatCertificate) -> Option<String> {
    (v.is_printable && !(v.series.is_empty() && v.number.is_empty()))
        .then(|| format!("ҚҚС куәлігі / Свидетельство по НДС\nсерия {} № {}", v.series, v.number))
}

fn info(doc: &Document, date: &DateTimeObject, operator: Option<&str>) -> Vec<Field> {
    let mut info = vec![
        Field::new("Ауысым/Смена №", doc.fr_shift_number.to_string()),
        Field::new("Құжат/Документ №", doc.shift_document_number.to_string()),
        Field::new("Уақыты/Время", datetime(date)),
    ];
    if let Some(name) = operator.filter(|n| !n.is_empty()) {
        info.push(Field::new("Кассир", name));
    }
    info
}

fn copy_mark(print: &KzPrint<'_>) -> Option<String> {
    (!print.is_original).then(|| "КӨШІРМЕ / КОПИЯ".to_owned())
}

fn offline_line(doc: &Document) -> Option<String> {
    doc.is_offline.then(|| "ДЕРБЕС РЕЖИМ / АВТОНОМНЫЙ РЕЖИМ".to_owned())
}

/// The printable document of a KZ journal document (CORE-81).
pub fn document(doc: &Document, print: &KzPrint<'_>) -> Sheet {
    match &doc.body {
        Body::Ticket(t) => ticket(doc, t, print),
        Body::MoneyPlacement(p) => placement(doc, p, print),
        Body::Report(r) => report(doc, r, print),
    }
}

fn ticket(doc: &Document, t: &TicketObject, print: &KzPrint<'_>) -> Sheet {
    let mut items: Vec<ItemView> = Vec::new();
    for item in &t.items {
        match (item.kind, &item.commodity, &item.markup, &item.discount) {
            (ItemType::Commodity, Some(c), _, _) => items.push(ItemView {
                name: c.name.clone(),
                quantity: Quantity::from_thousandths(i64::from(c.quantity)),
                unit: unit(&c.measure_unit_code),
                price: c.price,
                sum: c.sum,
                taxes: c.taxes.iter().map(tax_line).collect(),
                // A commodity barcode that is a valid EAN-13 (12 or 13 digits) prints as bars.
                barcode: Ean13::parse(c.barcode.trim()).ok(),
            }),
            // CORE-69: item modifiers follow their commodity.
            (ItemType::Markup, _, Some(m), _) => {
                if let Some(last) = items.last_mut() {
                    last.taxes.push(AmountLine::new(modifier_label("Үстеме/Наценка", &m.name), m.sum));
                    last.taxes.extend(m.taxes.iter().map(tax_line));
                }
            }
            (ItemType::Discount, _, _, Some(d)) => {
                if let Some(last) = items.last_mut() {
                    last.taxes.push(AmountLine::new(modifier_label("Жеңілдік/Скидка", &d.name), -d.sum));
                    last.taxes.extend(d.taxes.iter().map(tax_line));
                }
            }
            _ => {}
        }
    }
    let a = &t.amounts;
    let mut adjustments = Vec::new();
    if a.markup.sum > Money::ZERO {
        adjustments.push(AmountLine::new(modifier_label("Үстеме/Наценка", &a.markup.name), a.markup.sum));
    }
    if a.discount.sum > Money::ZERO {
        adjustments.push(AmountLine::new(modifier_label("Жеңілдік/Скидка", &a.discount.name), -a.discount.sum));
    }
    let mut payments: Vec<AmountLine> = t.payments.iter().map(|p| AmountLine::new(payment_label(p.kind), p.sum)).collect();
    if a.taken > Money::ZERO {
        payments.push(AmountLine::new("Алынды/Получено", a.taken));
    }
    if a.change > Money::ZERO {
        payments.push(AmountLine::new("Қайтарым/Сдача", a.change));
    }
    let mut title = vec!["ФИСКАЛДЫҚ ЧЕК / ФИСКАЛЬНЫЙ ЧЕК".to_owned(), operation_title(t.operation).to_owned()];
    title.extend(offline_line(doc));
    let mut fiscal = vec![Field::new("ФБ/ФП", &doc.fiscal_id)];
    fiscal.extend(kkm_fields(print.reg_info));
    if !print.ofd_name.is_empty() {
        fiscal.push(Field::new("ФДО/ОФД", print.ofd_name));
    }
    if !t.extension_options.customer_iin_or_bin.is_empty() {
        fiscal.push(Field::new("Сатып алушы/Покупатель", &t.extension_options.customer_iin_or_bin));
    }
    let mut footer: Vec<String> = vat_certificate(print.vat_certificate).into_iter().collect();
    footer.extend(ad_texts(print.ads_info, &doc.fiscal_id));
    ReceiptView {
        header: header(print.reg_info),
        title,
        copy_mark: copy_mark(print),
        info: info(doc, &t.date_time, Some(&t.operator.name)),
        items,
        adjustments,
        total: AmountLine::new("ЖИЫНЫ/ИТОГ", a.total),
        payments,
        taxes: t.taxes.iter().map(tax_line).collect(),
        fiscal,
        qr: (!doc.qr_code.is_empty()).then(|| doc.qr_code.clone()),
        barcode: None,
        footer,
        currency: CUR,
    }
    .to_document()
}

/// A discount or markup line: its own name when it has one (it says what it is), else the kind.
fn modifier_label(kind: &str, name: &str) -> String {
    if name.trim().is_empty() { kind.to_owned() } else { name.to_owned() }
}

/// Header, title, copy mark and info lines of a placement or report.
fn start(doc: &Document, title: &[&str], date: &DateTimeObject, operator: Option<&str>, print: &KzPrint<'_>) -> Sheet {
    let mut sheet = Sheet::new();
    let header = header(print.reg_info);
    for (i, line) in header.iter().enumerate() {
        sheet.push(if i == 0 { Block::center(line).bold() } else { Block::center(line) });
    }
    if !header.is_empty() {
        sheet.push(Block::separator('-'));
    }
    for line in title {
        sheet.push(Block::center(*line).bold());
    }
    if let Some(line) = offline_line(doc) {
        sheet.push(Block::center(line).bold());
    }
    if let Some(mark) = copy_mark(print) {
        sheet.push(Block::center(mark).bold().size(Size::Large));
    }
    for f in info(doc, date, operator) {
        sheet.push(Block::pair(f.label, f.value));
    }
    sheet.push(Block::separator('-'));
    sheet
}

fn finish(mut sheet: Sheet, print: &KzPrint<'_>) -> Sheet {
    sheet.push(Block::separator('-'));
    for f in kkm_fields(print.reg_info) {
        sheet.push(Block::pair(f.label, f.value));
    }
    if let Some(line) = vat_certificate(print.vat_certificate) {
        sheet.push(Block::center(line));
    }
    sheet
}

fn amount(label: impl Into<String>, m: Money) -> Block {
    Block::pair(label, CUR.amount(m))
}

fn placement(doc: &Document, p: &MoneyPlacementObject, print: &KzPrint<'_>) -> Sheet {
    let title = match p.operation {
        MoneyPlacementKind::Deposit => "АҚША ЕНГІЗУ / ВНЕСЕНИЕ",
        MoneyPlacementKind::Withdrawal => "АҚША АЛУ / ИЗЪЯТИЕ",
    };
    let mut sheet = start(doc, &[title], &p.datetime, Some(&p.operator.name), print);
    sheet.push(Block::pair("СОМАСЫ/СУММА", CUR.with_sign(p.sum)).bold().size(Size::Tall));
    finish(sheet, print)
}

fn report(doc: &Document, r: &ReportObject, print: &KzPrint<'_>) -> Sheet {
    let title: &[&str] = if doc.command == CommandType::CloseShift {
        &["Z-ЕСЕП / Z-ОТЧЁТ", "АУЫСЫМДЫ ЖАБУ / ЗАКРЫТИЕ СМЕНЫ"]
    } else {
        &["X-ЕСЕП / X-ОТЧЁТ", "АУЫСЫМ ЖАБЫЛМАЙ / БЕЗ ГАШЕНИЯ"]
    };
    let mut sheet = start(doc, title, &r.date_time, None, print);
    if r.open_shift_time != DateTimeObject::ZERO {
        sheet.push(Block::pair("Ашылды/Открыта", datetime(&r.open_shift_time)));
    }
    if r.close_shift_time != DateTimeObject::ZERO {
        sheet.push(Block::pair("Жабылды/Закрыта", datetime(&r.close_shift_time)));
    }
    for t in &r.ticket_operations {
        sheet.push(Block::separator('-'));
        sheet.push(Block::text(operation_title(t.operation)).bold());
        sheet.push(amount(format!("Чектер/Чеков: {}", t.tickets_count), t.tickets_sum));
        for p in &t.payments {
            sheet.push(amount(format!("  {} ({})", payment_label(p.payment), p.count), p.sum));
        }
        if t.discount_sum > Money::ZERO {
            sheet.push(amount("  Жеңілдік/Скидки", t.discount_sum));
        }
        if t.markup_sum > Money::ZERO {
            sheet.push(amount("  Үстеме/Наценки", t.markup_sum));
        }
        if t.change_sum > Money::ZERO {
            sheet.push(amount("  Қайтарым/Сдача", t.change_sum));
        }
        if t.offline_count > 0 {
            sheet.push(Block::pair("  Дербес/Автономных", t.offline_count.to_string()));
        }
        sheet.push(Block::pair("  Барлығы/Всего чеков", t.tickets_total_count.to_string()));
    }
    if !r.taxes.is_empty() {
        sheet.push(Block::separator('-'));
        sheet.push(Block::text("ҚҚС / НДС").bold());
        for tax in &r.taxes {
            for op in &tax.operations {
                sheet.push(amount(format!("  {} {}", percent(tax.percent), short_op(op.operation)), op.sum));
                sheet.push(amount("    айналым/оборот", op.turnover));
            }
        }
    }
    for m in &r.money_placements {
        let label = match m.operation {
            MoneyPlacementKind::Deposit => "Енгізу/Внесения",
            MoneyPlacementKind::Withdrawal => "Алу/Изъятия",
        };
        sheet.push(amount(format!("{label}: {}", m.operations_count), m.operations_sum));
    }
    sheet.push(Block::separator('-'));
    let revenue = if r.revenue.is_negative { -r.revenue.sum } else { r.revenue.sum };
    sheet.push(Block::pair("ТҮСІМ/ВЫРУЧКА", CUR.with_sign(revenue)).bold());
    sheet.push(Block::pair("КАССАДА/В КАССЕ", CUR.with_sign(r.cash_sum)).bold());
    if !r.non_nullable_sums.is_empty() {
        sheet.push(Block::separator('-'));
        sheet.push(Block::text("НӨЛДЕНБЕЙТІН / НЕОБНУЛЯЕМЫЕ СУММЫ").bold());
        for n in &r.non_nullable_sums {
            sheet.push(amount(format!("  {}", short_op(n.operation)), n.sum));
        }
    }
    finish(sheet, print)
}

/// Short Russian name of an operation, for report lines.
fn short_op(op: Operation) -> &'static str {
    match op {
        Operation::Sell => "продажа",
        Operation::SellReturn => "возврат продажи",
        Operation::Buy => "покупка",
        Operation::BuyReturn => "возврат покупки",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percents_print_in_their_shortest_form() {
        // CORE-27: percents travel in thousandths.
        assert_eq!(percent(12_000), "12%");
        assert_eq!(percent(12_500), "12,5%");
        assert_eq!(percent(7), "0,007%");
        assert_eq!(percent(0), "0%");
    }

    #[test]
    fn ad_texts_replace_every_ticket_number_placeholder() {
        // CORE-81: `${ticket_number}` becomes the fiscal id; empty texts are left out.
        let ad = |t: &str| AdsObject { text: t.into(), ..AdsObject::default() };
        let ads = [ad("Фиск. признак ${ticket_number}\n№ ${ticket_number}"), ad("  "), ad("Рахмет!")];
        assert_eq!(ad_texts(&ads, "1008"), ["Фиск. признак 1008\n№ 1008", "Рахмет!"]);
    }

    #[test]
    fn the_vat_certificate_prints_only_when_printable() {
        let v = VatCertificate { series: "60001".into(), number: "1234567".into(), is_printable: true };
        assert_eq!(vat_certificate(&v).as_deref(), Some("ҚҚС куәлігі / Свидетельство по НДС\nсерия 60001 № 1234567"));
        assert_eq!(vat_certificate(&VatCertificate { is_printable: false, ..v }), None);
        assert_eq!(vat_certificate(&VatCertificate { is_printable: true, ..VatCertificate::default() }), None);
    }
}
