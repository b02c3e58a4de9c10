-- The drift SLO per metered feature: what was measured before is api_call's.
ALTER TABLE "slo_drift" ADD COLUMN "metric" text DEFAULT 'api_call' NOT NULL;--> statement-breakpoint
ALTER TABLE "slo_drift" DROP CONSTRAINT "slo_drift_pkey";--> statement-breakpoint
ALTER TABLE "slo_drift" ADD CONSTRAINT "slo_drift_period_key_metric_pk" PRIMARY KEY("period_key","metric");
--> statement-breakpoint
-- Drift now alerts per feature (drift_max:<feature>/60m): an open breach of the old id would never close.
DELETE FROM "slo_breaches" WHERE "slo" = 'drift_max/60m';
