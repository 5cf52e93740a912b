-- ATOL Online v3: tokens, accepted documents and their per-group queue, reports, the callback outbox (issue 4).
-- Tables are added by the issue that implements this context (not released yet).
SELECT 1;
