-- Worker processes alive on this database, one row per graphile-worker pool, with a heartbeat:
-- the locks of a pool whose process is gone are released at once (worker/liveness.ts).
CREATE TABLE "worker_heartbeats" (
	"pool_id" text PRIMARY KEY NOT NULL,
	"hostname" text NOT NULL,
	"host_key" text NOT NULL,
	"pid" integer NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
