//! [`ReceiptView`]: a fiscal receipt from plain fields, laid out as a [`Document`] the way
//! receipts usually look (CORE-81 content: organisation and point of sale, document kind and
//! numbers, date/time, operator, lines and totals, taxes, fiscal attributes, QR code, ad
//! texts). The engine mapping fills the fields; amounts stay exact ([`Money`], [`Quantity`]).

use kassa_money::{Money, Quantity};

use crate::model::{Block, Document, Ean13, Size};

/// How amounts are written: the currency sign after the total, and the decimal separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    pub sign: char,
    pub decimal_separator: char,
}

impl Currency {
    /// Russian roubles: "1750,00 ₽".
    pub const RUB: Currency = Currency { sign: '₽', decimal_separator: ',' };
    /// Kazakhstani tenge: "1750,00 ₸" (the comma as in the CORE-100 QR sum).
    pub const KZT: Currency = Currency { sign: '₸', decimal_separator: ',' };

    /// The amount with two decimals: "1750,00".
    #[must_use]
    pub fn amount(&self, amount: Money) -> String {
        amount.format_with(self.decimal_separator)
    }

    /// The amount followed by the sign: "1750,00 ₸".
    #[must_use]
    pub fn with_sign(&self, amount: Money) -> String {
        format!("{} {}", self.amount(amount), self.sign)
    }

    /// A quantity in its shortest exact form with this separator: "2", "0,5".
    #[must_use]
    pub fn quantity(&self, quantity: Quantity) -> String {
        quantity.to_string().replace('.', &self.decimal_separator.to_string())
    }
}

impl Default for Currency {
    /// Roubles.
    fn default() -> Currency {
        Currency::RUB
    }
}

/// A label and a text value, printed as a two-column line ("Смена №" … "118").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Field {
    pub label: String,
    pub value: String,
}

impl Field {
    #[must_use]
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Field {
        Field { label: label.into(), value: value.into() }
    }
}

/// A label and an amount ("Наличные" … "2000,00").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmountLine {
    pub label: String,
    pub amount: Money,
}

impl AmountLine {
    #[must_use]
    pub fn new(label: impl Into<String>, amount: Money) -> AmountLine {
        AmountLine { label: label.into(), amount }
    }
}

/// One receipt line: name, then "quantity unit × price" … sum, then its taxes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemView {
    pub name: String,
    pub quantity: Quantity,
    /// Measure unit ("шт", "кг"); empty prints none.
    pub unit: String,
    pub price: Money,
    pub sum: Money,
    /// Item taxes, e.g. "НДС 12%" … 187,50; also item discounts and markups (signed).
    pub taxes: Vec<AmountLine>,
    /// The item's EAN-13 barcode, printed under it (e.g. a KZ commodity's `barcode`).
    pub barcode: Option<Ean13>,
}

/// A fiscal receipt (or any document shaped like one) from plain fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptView {
    /// Organisation, tax id, address, point of sale: centred, the first line bold.
    pub header: Vec<String>,
    /// Document kind ("ФИСКАЛЬНЫЙ ЧЕК", "ПРОДАЖА"): centred, bold.
    pub title: Vec<String>,
    /// Printed large under the title when the image is not the original (CORE-59 `is_original`).
    pub copy_mark: Option<String>,
    /// Shift and document numbers, date/time, operator.
    pub info: Vec<Field>,
    pub items: Vec<ItemView>,
    /// Receipt-level discounts and markups, before the total.
    pub adjustments: Vec<AmountLine>,
    /// "ИТОГ": bold, double height, with the currency sign.
    pub total: AmountLine,
    /// Payments by type, then change.
    pub payments: Vec<AmountLine>,
    /// Receipt-level taxes.
    pub taxes: Vec<AmountLine>,
    /// Fiscal attributes: fiscal id, register numbers, OFD.
    pub fiscal: Vec<Field>,
    /// The `qr_code` string (CORE-100), printed as a QR code.
    pub qr: Option<String>,
    pub barcode: Option<Ean13>,
    /// Ad texts and thanks: centred (ad placeholders already replaced, CORE-81).
    pub footer: Vec<String>,
    pub currency: Currency,
}

impl ReceiptView {
    /// The receipt as a document.
    #[must_use]
    pub fn to_document(&self) -> Document {
        let cur = &self.currency;
        let mut doc = Document::new();
        for (i, line) in self.header.iter().enumerate() {
            doc.push(if i == 0 { Block::center(line).bold() } else { Block::center(line) });
        }
        if !self.header.is_empty() {
            doc.push(Block::separator('-'));
        }
        for line in &self.title {
            doc.push(Block::center(line).bold());
        }
        if let Some(mark) = &self.copy_mark {
            doc.push(Block::center(mark).bold().size(Size::Large));
        }
        for field in &self.info {
            doc.push(Block::pair(&field.label, &field.value));
        }
        doc.push(Block::separator('-'));
        for (n, item) in self.items.iter().enumerate() {
            doc.push(Block::text(format!("{}. {}", n + 1, item.name)));
            let unit = if item.unit.is_empty() { String::new() } else { format!(" {}", item.unit) };
            let detail = format!("   {}{} × {}", cur.quantity(item.quantity), unit, cur.amount(item.price));
            doc.push(Block::pair(detail, cur.amount(item.sum)));
            for tax in &item.taxes {
                doc.push(Block::pair(format!("   {}", tax.label), cur.amount(tax.amount)));
            }
            if let Some(code) = item.barcode {
                doc.push(Block::ean13(code));
            }
        }
        if !self.items.is_empty() {
            doc.push(Block::separator('-'));
        }
        for line in &self.adjustments {
            doc.push(Block::pair(&line.label, cur.amount(line.amount)));
        }
        doc.push(Block::pair(&self.total.label, cur.with_sign(self.total.amount)).bold().size(Size::Tall));
        for line in &self.payments {
            doc.push(Block::pair(&line.label, cur.amount(line.amount)));
        }
        for line in &self.taxes {
            doc.push(Block::pair(&line.label, cur.amount(line.amount)));
        }
        if !self.fiscal.is_empty() {
            doc.push(Block::separator('-'));
        }
        for field in &self.fiscal {
            doc.push(Block::pair(&field.label, &field.value));
        }
        if let Some(qr) = &self.qr {
            doc.push(Block::qr(qr));
        }
        if let Some(code) = self.barcode {
            doc.push(Block::ean13(code));
        }
        for line in &self.footer {
            doc.push(Block::center(line));
        }
        doc
    }
}
