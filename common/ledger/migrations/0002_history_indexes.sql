-- 0002_history_indexes.sql: indexes for `deployctl status` and the deployer's last deployed sha.
--
-- Plain CREATE INDEX (not CONCURRENTLY): migrations run inside a transaction, and these tables
-- stay small enough that the brief lock does not matter.

-- Recent runs of a deployment, newest first.
CREATE INDEX runs_by_deployment_started ON runs (deployment, started_at DESC, id DESC);

-- Last success / last failure of a deployment.
CREATE INDEX runs_by_deployment_outcome ON runs (deployment, outcome, finished_at DESC, id DESC)
  WHERE outcome IS NOT NULL;

-- A delivery's story.
CREATE INDEX runs_by_delivery_id ON runs (delivery_id) WHERE delivery_id IS NOT NULL;
