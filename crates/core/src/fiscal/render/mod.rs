//! Printable documents: the engine's journal documents mapped onto the view model of
//! `kassa-render`, and the use cases that give the image (PNG, CORE-81) or the text lines of a
//! stored document ([`Engine::document_image`], [`Engine::document_text`]).
//!
//! Owns the mapping only: layout, glyphs, QR codes, barcodes and PNG encoding are
//! `kassa-render`'s. [`ru`] maps every RU document kind, [`kz`] every KZ document (from the pure
//! `kassa_domain::kz` types, CORE-81). A journal entry names its profile by its canonical JSON:
//! [`journal_document`] reads RU entries on their own; KZ envelopes
//! (`kassa_domain::fiscal::kz::Envelope`, `"profile": "kz"`) are printed by
//! [`kz_journal_document`] with the KKM's `reg_info` and ad texts from the register's stored KZ
//! state (its current registration data: the journal does not repeat them per document).
//!
//! May depend on the domain, the store ports (to read the journal and the register state) and
//! kassa-render; pure apart from those reads.

pub mod kz;
pub mod ru;

use super::{Engine, EngineError};
use kassa_domain::fiscal::RegisterState;
use kassa_domain::fiscal::kz::{Envelope, KzRegister};
use kassa_domain::fiscal::ru::Document as RuDocument;
use kassa_domain::kz::VatCertificate;
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

/// The profile an entry's canonical JSON names: KZ envelopes carry `"profile": "kz"`, RU
/// documents no profile key.
fn is_kz(entry: &JournalEntry) -> bool {
    #[derive(serde::Deserialize)]
    struct Tag {
        profile: Option<String>,
    }
    serde_json::from_str::<Tag>(&entry.doc).is_ok_and(|t| t.profile.as_deref() == Some("kz"))
}

/// The printable document of a KZ journal entry (CORE-81): the envelope's cash-core document with
/// the KKM's registration data and ad texts from `register`. The engine keeps no VAT certificate
/// or OFD name per KKM yet, so neither is printed.
pub fn kz_journal_document(entry: &JournalEntry, register: &KzRegister, copy: bool) -> Result<Document, DocumentError> {
    let envelope: Envelope = kassa_domain::fiscal::kz::parse(entry.doc.as_bytes())
        .map_err(|reason| DocumentError::Unprintable { seq: entry.seq, reason })?;
    let print = kz::KzPrint {
        reg_info: &register.kkm.reg_info,
        ads_info: &register.kkm.ads_info,
        vat_certificate: &VatCertificate::default(),
        ofd_name: "",
        is_original: !copy,
    };
    Ok(kz::document(&envelope.document, &print))
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

    /// The printable document of journal entry `seq`: RU entries on their own, KZ entries with
    /// the register's stored KZ state.
    async fn printable(&self, register_id: &str, seq: u64, copy: bool) -> Result<Document, DocumentError> {
        let entry = self.document(register_id, seq).await?;
        if !is_kz(&entry) {
            return journal_document(&entry, copy);
        }
        let record = self.core.store.fiscal_register(register_id).await.map_err(EngineError::from)?;
        match record.and_then(|r| r.state) {
            Some(RegisterState::Kz(register)) => kz_journal_document(&entry, &register, copy),
            _ => Err(DocumentError::Unprintable { seq, reason: "a KZ document on a register without KZ state".into() }),
        }
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
        Ok(render_png(&self.printable(register_id, seq, !is_original).await?, options)?)
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
        Ok(render_text(&self.printable(register_id, seq, !is_original).await?, width_chars)?)
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

    #[test]
    fn a_kz_tagged_entry_that_is_no_envelope_is_unprintable_not_a_panic() {
        let e = entry(r#"{"profile":"kz","kind":"ticket"}"#);
        assert!(is_kz(&e) && !is_kz(&entry(r#"{"command":1}"#)));
        let register = KzRegister { kkm: kassa_domain::kz::KkmState::new(Default::default()), documents: 0 };
        assert!(matches!(kz_journal_document(&e, &register, false), Err(DocumentError::Unprintable { seq: 7, .. })));
    }
}
