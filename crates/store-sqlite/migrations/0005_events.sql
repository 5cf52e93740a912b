-- Frontol event collector: batches and events, deduplicated, with queries (issue 6).
-- Tables are added by the issue that implements this context (not released yet).
SELECT 1;
