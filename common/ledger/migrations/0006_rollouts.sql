-- 0006_rollouts.sql: the rolling, health-gated switch of a deployment on several hosts
-- (docs/hosts.md "Rolling switch").
--
-- Why: every host of such a deployment builds and preflights an entry's release in parallel,
-- then at most rollout.max_parallel of them at a time switch, activate and pass the health
-- check. The hosts' deployers coordinate here and nowhere else: one rollouts row per deployment
-- and entry (the entry keeps one name on every host), one rollout_hosts row per host and the
-- state it has reached. Every decision that looks at several rows (whose turn it is, whether a
-- host is late, the outcome) is taken in a transaction holding a transaction-scoped advisory
-- lock on the deployment, so a deployer that dies mid-decision releases it with its connection.
--
-- Each host's queue items, runs and releases are kept under its own ledger name
-- ("<deployment>@<host>", common::ledger_name); the rows here use the deployment's plain name.

CREATE TABLE rollouts (
  deployment   text        NOT NULL,
  entry_name   text        NOT NULL,
  sha          text        NOT NULL,
  hosts        text[]      NOT NULL,  -- the deployment's hosts, in switching order
  max_parallel integer     NOT NULL CHECK (max_parallel >= 1),
  state        text        NOT NULL
               CHECK (state IN ('building', 'switching', 'succeeded', 'failed', 'superseded')),
  reason       text        NOT NULL DEFAULT '',  -- why it failed or was superseded
  failed_host  text,                              -- the host whose failure ended it
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  PRIMARY KEY (deployment, entry_name),
  CHECK ((finished_at IS NULL) = (state IN ('building', 'switching')))
);
CREATE INDEX rollouts_by_deployment ON rollouts (deployment, created_at DESC);

CREATE TABLE rollout_hosts (
  deployment        text        NOT NULL,
  entry_name        text        NOT NULL,
  host              text        NOT NULL,
  state             text        NOT NULL
                    CHECK (state IN ('building', 'built', 'switching', 'live', 'failed',
                                     'not_switched', 'rolled_back', 'skipped', 'superseded')),
  release           text,                  -- the release it built (or a rollback's target)
  error             text        NOT NULL DEFAULT '',
  joined_at         timestamptz NOT NULL DEFAULT now(),  -- its latest run of the entry began
  seen_at           timestamptz NOT NULL DEFAULT now(),  -- its deployer's latest word
  built_at          timestamptz,
  switch_started_at timestamptz,
  live_at           timestamptz,
  ended_at          timestamptz,
  PRIMARY KEY (deployment, entry_name, host),
  FOREIGN KEY (deployment, entry_name) REFERENCES rollouts ON DELETE CASCADE
);
