-- The audit log keeps one index, (tenant_id, id). The index on (tenant_id, uid) served no query:
-- the admin listing's optional uid filter is planned on (tenant_id, id), newest first. With the
-- POS's random uids it cost every request about one more page written per group commit
-- (loyalty-calculate: about half of the WAL frames).
DROP INDEX loyalty_audit_uid;
