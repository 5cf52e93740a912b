-- Frontol loyalty: clients, cards, the bonus ledger, idempotent request records and the audit log (issue 5).
-- Tables are added by the issue that implements this context (not released yet).
SELECT 1;
