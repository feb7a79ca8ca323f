-- The scheduler's sweep reads the unfinished pipelines of every project
-- (status IN (...) ORDER BY id) every interval on every replica: without
-- an index led by status that is a scan of every pipeline ever run.
CREATE INDEX pipelines_status_id ON pipelines (status, id);
