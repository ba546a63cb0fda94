-- 0003_releases.sql: release mode (docs/deployer.md "Release mode"): each release, each switch
-- of a deployment's `current` link, and each rollback.
--
-- Why: with release folders the ledger must say which release holds which commit and how its
-- deploy ended (`deployctl releases`), when `current` moved and why, and which rollbacks were
-- made, because a rolled-back-from commit keeps counting as deployed for the staleness rule
-- (a resent webhook push of it must not undo the rollback).

-- One row per release folder ever made, keyed by its folder name.
CREATE TABLE releases (
  deployment  text        NOT NULL,
  name        text        NOT NULL,  -- the folder under <path>/releases/
  sha         text        NOT NULL,
  run_id      bigint      REFERENCES runs (id) ON DELETE SET NULL,  -- the run that built it
  outcome     text        NOT NULL
              CHECK (outcome IN ('building', 'ready', 'deployed', 'failed', 'rolled_back')),
  reason      text        NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  removed_at  timestamptz,           -- the folder was deleted (retention, failure)
  PRIMARY KEY (deployment, name)
);

-- One row per change of `current`.
CREATE TABLE switches (
  id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  deployment   text        NOT NULL,
  run_id       bigint      REFERENCES runs (id) ON DELETE SET NULL,
  from_release text,                 -- NULL on a first deploy
  to_release   text        NOT NULL,
  reason       text        NOT NULL CHECK (reason IN ('deploy', 'revert', 'rollback')),
  switched_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX switches_by_deployment ON switches (deployment, switched_at DESC, id DESC);

-- One row per rollback: 'automatic' (an activate step or the health check failed and the
-- deploy went back to the previous release) or 'operator' (`deployctl rollback`, or an
-- operator's entry whose commit is an ancestor of the deployed one).
-- high_water_sha: the commit that counts as deployed for webhook pushes after an operator's
-- rollback (the rolled-back-from commit, or the high water mark of the rollback before it).
CREATE TABLE rollbacks (
  id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  deployment     text        NOT NULL,
  run_id         bigint      REFERENCES runs (id) ON DELETE SET NULL,
  kind           text        NOT NULL CHECK (kind IN ('automatic', 'operator')),
  from_sha       text,
  to_sha         text        NOT NULL,
  from_release   text,
  to_release     text,
  high_water_sha text,
  reason         text        NOT NULL DEFAULT '',
  rolled_back_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rollbacks_by_run ON rollbacks (run_id);
CREATE INDEX rollbacks_by_deployment ON rollbacks (deployment, rolled_back_at DESC, id DESC);
