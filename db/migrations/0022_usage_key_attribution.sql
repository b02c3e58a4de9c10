-- The API key each admission came under, in the ledger and the hourly rollup ('' for none).
ALTER TABLE "usage_events" ADD COLUMN "key_id" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_hourly" ADD COLUMN "key_id" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_hourly" DROP CONSTRAINT "usage_hourly_org_id_metric_hour_pk";--> statement-breakpoint
ALTER TABLE "usage_hourly" ADD CONSTRAINT "usage_hourly_org_id_hour_metric_key_id_pk" PRIMARY KEY("org_id","hour","metric","key_id");--> statement-breakpoint
-- record_usage and record_usage_parts take the key ids as a new last parameter (default null:
-- no key), which makes them new signatures; the old ones write usage_hourly with a conflict
-- target the new primary key no longer matches. Dropped here; db/functions creates the new
-- ones right after the migrations (a caller with the old five or six arguments calls the new
-- function, the key ids defaulting to none).
DROP FUNCTION IF EXISTS record_usage(text[], text[], text[], int[], interval);--> statement-breakpoint
DROP FUNCTION IF EXISTS record_usage_parts(text[], text[], int[], text[], int[], interval);
