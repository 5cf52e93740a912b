-- Fiscal registers: register state, documents, counters, the hash-chained journal, the OFD outbox (issue 3).
-- Tables are added by the issue that implements this context (not released yet).
SELECT 1;
