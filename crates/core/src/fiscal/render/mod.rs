//! Printable documents: the engine's journal documents mapped onto the view model of
//! `kassa-render`, and the use cases that give the image (PNG, CORE-81) or the text lines of a
//! stored document ([`Engine::document_image`], [`Engine::document_text`]).
//!
//! Owns the mapping only: layout, glyphs, QR codes, barcodes and PNG encoding are
//! `kassa-render`'s. [`ru`] maps every RU document kind, [`kz`] every KZ document (from the pure
//! `kassa_domain::kz` types, CORE-81). A journal entry names its profile by its canonical JSON;
//! [`journal_document`] reads RU entries (KZ entries join when the KZ profile stores its documents
//! in the journal: decode them to `kz::Document` and call [`kz::document`] with the KKM's
//! `reg_info`, ads and VAT certificate).
//!
//! May depend on the domain, the store ports (to read the journal) and kassa-render; pure apart
//! from the journal read.

pub mod kz;
pub mod ru;

use super::{Engine, EngineError};
use kassa_domain::fiscal::ru::Document as RuDocument;
use kassa_render::{Document, Options, RenderError, render_png, render_text};
use kassa_store::fiscal::JournalEntry;

/// Text width of [`Engine::document_text`] when the caller gives none (80 mm slip printers).
pub const DEFAULT_TEXT_WIDTH: usize = 42;

/// Why a document could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The register exists but has no journal entry at this position.
    #[error("register '{register_id}' has no document {seq}")]
    NotFound { register_id: String, seq: u64 },
    /// The options or the width are out of range, or the document breaks a rendering limit.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The entry's canonical bytes are not a document this build can print.
    #[error("document {seq} cannot be printed: {reason}")]
    Unprintable { seq: u64, reason: String },
}

/// The printable document of a journal entry; `copy` marks a reprint ("КОПИЯ").
pub fn journal_document(entry: &JournalEntry, copy: bool) -> Result<Document, DocumentError> {
    let doc: RuDocument = serde_json::from_str(&entry.doc)
        .map_err(|e| DocumentError::Unprintable { seq: entry.seq, reason: format!("not an RU document: {e}") })?;
    Ok(ru::document(&doc, entry.fiscal_sign, entry.qr.as_deref(), copy))
}

impl Engine<'_> {
    /// The journal entry at position `seq` (1, 2, …) of a register.
    pub async fn document(&self, register_id: &str, seq: u64) -> Result<JournalEntry, DocumentError> {
        let not_found = || DocumentError::NotFound { register_id: register_id.to_owned(), seq };
        if seq == 0 {
            return Err(not_found());
        }
        let page = self.journal(register_id, seq - 1, 1).await?;
        page.into_iter().find(|e| e.seq == seq).ok_or_else(not_found)
    }

    /// The PNG image of a stored document (CORE-81): exactly `options.width_px` wide; a copy
    /// (`is_original` false, CORE-59) is marked "КОПИЯ".
    pub async fn document_image(
        &self,
        register_id: &str,
        seq: u64,
        options: &Options,
        is_original: bool,
    ) -> Result<Vec<u8>, DocumentError> {
        let entry = self.document(register_id, seq).await?;
        Ok(render_png(&journal_document(&entry, !is_original)?, options)?)
    }

    /// The text lines of a stored document, at most `width_chars` characters each.
    pub async fn document_text(
        &self,
        register_id: &str,
        seq: u64,
        width_chars: usize,
        is_original: bool,
    ) -> Result<Vec<String>, DocumentError> {
        if !kassa_render::limits::COLUMNS.contains(&width_chars) {
            return Err(RenderError::Columns(width_chars).into());
        }
        let entry = self.document(register_id, seq).await?;
        Ok(render_text(&journal_document(&entry, !is_original)?, width_chars)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kassa_money::Money;

    fn entry(doc: &str) -> JournalEntry {
        JournalEntry {
            register_id: "R1".into(),
            seq: 7,
            kind: "receipt".into(),
            fiscal: true,
            number: 7,
            shift_number: 1,
            receipt_number: Some(1),
            time_ms: 0,
            total: Money::ZERO,
            fiscal_sign: 0,
            qr: None,
            doc: doc.into(),
            prev_hash: String::new(),
            hash: String::new(),
            pending: false,
            delivered_at: None,
        }
    }

    #[test]
    fn an_entry_that_is_not_an_ru_document_is_unprintable_not_a_panic() {
        for doc in ["", "{}", r#"{"command":1,"body":{}}"#] {
            assert!(matches!(journal_document(&entry(doc), false), Err(DocumentError::Unprintable { seq: 7, .. })), "{doc:?}");
        }
    }
}
