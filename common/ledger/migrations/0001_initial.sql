-- 0001_initial.sql: deliveries, queue items, deploy runs and their steps.
--
-- Applied once, inside one transaction, by ledger::migrate (`deployctl migrate`). Never edit a
-- migration that has been applied anywhere: add a new file instead (migrate refuses to run when
-- an applied migration's checksum changed).
--
-- Text columns hold the exact strings of ledger/types.hpp's to_string(); the CHECK constraints
-- keep anything else out.

-- One row per inbox entry the router decided about. A GitHub redelivery is a new inbox entry
-- with the same (hook_id, delivery_id), so a delivery has one row per arrival and its story
-- shows every redelivery.
CREATE TABLE deliveries (
  hook_id     text        NOT NULL,  -- '' when the request had no X-GitHub-Hook-ID
  delivery_id text        NOT NULL,  -- X-GitHub-Delivery
  entry_name  text        NOT NULL,  -- the inbox entry's file name
  event       text        NOT NULL,  -- X-GitHub-Event
  decision    text        NOT NULL
              CHECK (decision IN ('routed', 'duplicate', 'ignored', 'rejected', 'ping')),
  reason      text        NOT NULL DEFAULT '',
  received_at timestamptz,           -- when the receiver accepted it (the entry's received_at)
  recorded_at timestamptz NOT NULL DEFAULT now(),  -- first time the router recorded it
  decided_at  timestamptz NOT NULL DEFAULT now(),  -- last time the decision was written
  PRIMARY KEY (hook_id, delivery_id, entry_name)
);
CREATE INDEX deliveries_by_delivery_id ON deliveries (delivery_id);

-- One row per entry per deployment queue: what the router routed, what the deployer took.
CREATE TABLE queue_items (
  deployment  text        NOT NULL,
  entry_name  text        NOT NULL,
  hook_id     text,                  -- the delivery, absent for a hand-written replay
  delivery_id text,
  sha         text        NOT NULL,
  ref         text        NOT NULL,
  trigger     text        NOT NULL CHECK (trigger IN ('webhook', 'operator')),
  state       text        NOT NULL
              CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'superseded', 'stale')),
  reason      text        NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment, entry_name),
  CHECK ((hook_id IS NULL) = (delivery_id IS NULL))
);
CREATE INDEX queue_items_by_delivery ON queue_items (delivery_id, hook_id);

-- One row per attempt to deploy an entry, and one per superseded/stale decision (ledger mark()).
-- outcome and finished_at stay NULL while the run is going (or if its deployer died: the next
-- start_run for the same entry closes it as 'interrupted').
CREATE TABLE runs (
  id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  deployment   text        NOT NULL,
  entry_name   text        NOT NULL,
  hook_id      text,
  delivery_id  text,
  trigger      text        CHECK (trigger IN ('webhook', 'operator')),
  sha          text        NOT NULL,
  ref          text        NOT NULL,
  previous_sha text,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  outcome      text
               CHECK (outcome IN ('succeeded', 'failed', 'superseded', 'stale', 'interrupted')),
  error        text        NOT NULL DEFAULT '',
  CHECK ((hook_id IS NULL) = (delivery_id IS NULL)),
  CHECK ((outcome IS NULL) = (finished_at IS NULL))
);
CREATE INDEX runs_by_entry ON runs (deployment, entry_name);

-- The steps of a run, by position in the deployment's step list.
CREATE TABLE run_steps (
  run_id      bigint      NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step_index  integer     NOT NULL CHECK (step_index >= 0),
  name        text        NOT NULL,
  outcome     text        NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'skipped', 'timeout')),
  exit_code   integer,
  duration_ms bigint      NOT NULL CHECK (duration_ms >= 0),
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, step_index)
);
