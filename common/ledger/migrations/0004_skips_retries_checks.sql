-- 0004_skips_retries_checks.sql: path filters, automatic retries and waiting for checks
-- (docs/deployer.md "Path filters", "Automatic retries"; docs/github.md "Deploy after CI passes").
--
-- Why: a push whose changed files match no `paths` (or only `ignore_paths`), or whose head commit
-- says [skip deploy], is recorded 'skipped' (a decision like superseded or stale, not a failure).
-- A run that failed for a transient reason waits in active/ for its next attempt ('retrying'),
-- and a push of a deployment with `wait_for_checks` waits there for its commit's checks
-- ('waiting'). Both waits must survive a restart: the attempt number, when the next attempt is
-- due and when the wait for checks gives up are kept here, not in the deployer's memory.

ALTER TABLE queue_items DROP CONSTRAINT queue_items_state_check;
ALTER TABLE queue_items ADD CONSTRAINT queue_items_state_check
  CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'superseded', 'stale', 'skipped',
                   'waiting', 'retrying'));

ALTER TABLE runs DROP CONSTRAINT runs_outcome_check;
ALTER TABLE runs ADD CONSTRAINT runs_outcome_check
  CHECK (outcome IN ('succeeded', 'failed', 'superseded', 'stale', 'interrupted', 'skipped'));

-- attempt: 1 for the first run of an entry, n+1 for the n-th automatic retry (an operator's retry
-- starts again at 1). next_attempt_at: set while 'retrying'. checks_deadline: set when the entry
-- first waits for checks, kept across restarts so a restart does not extend the wait.
ALTER TABLE queue_items
  ADD COLUMN attempt         integer     NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  ADD COLUMN next_attempt_at timestamptz,
  ADD COLUMN checks_deadline timestamptz;
