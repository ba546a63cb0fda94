-- 0005_fanout.sql: fan-out of routed entries to the other hosts of a deployment (docs/hosts.md).
--
-- Why: a deployment may run on several hosts, each with its own state folder and deployer, while
-- a push reaches one host's receiver and router. That router records, in the same transaction as
-- the entry's queue items, one fanout_items row per other host of each target deployment, with
-- the entry's bytes. Each host's router takes the rows of its own host (FOR UPDATE SKIP LOCKED,
-- woken by NOTIFY deploy_fanout with the host as payload, polling as a fallback), publishes each
-- into its local queues/<deployment>/ under the entry's own name (a second publish of that name
-- is a no-op), then sets delivered_at. The shared ledger is what makes a redelivery reaching
-- another host's receiver a duplicate.

CREATE TABLE fanout_items (
  id           bigserial   PRIMARY KEY,
  host         text        NOT NULL CHECK (host ~ '^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$'),
  deployment   text        NOT NULL,
  entry_name   text        NOT NULL CHECK (entry_name ~ '^[0-9]{20}-[A-Za-z0-9_-]{1,100}\.json$'),
  origin_host  text        NOT NULL,
  content      bytea       NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  -- One item per host, deployment and entry: the routing router re-running the entry after a
  -- crash adds nothing.
  UNIQUE (host, deployment, entry_name)
);

-- What a host's router asks for: its undelivered items, oldest first.
CREATE INDEX fanout_items_pending ON fanout_items (host, id) WHERE delivered_at IS NULL;
