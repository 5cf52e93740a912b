-- Refunds are found by the sale they name (reference_uid); sales name none, yet every sale put a
-- NULL key into this index. Only documents with a reference are indexed now: one B-tree insert
-- fewer per confirmed sale. `reference_uid = ?` implies `reference_uid IS NOT NULL` whatever the
-- bound value, so the lookups keep using the index (a test checks the plan).
DROP INDEX loyalty_documents_ref;
CREATE INDEX loyalty_documents_ref ON loyalty_documents(tenant_id, reference_uid, created_at) WHERE reference_uid IS NOT NULL;
