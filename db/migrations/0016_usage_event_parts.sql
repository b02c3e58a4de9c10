-- A request may record several features at once: one ledger row per feature, sharing the
-- request_id, told apart by `part` (0 for a one-feature request, as every row before this one).
ALTER TABLE "usage_events" ADD COLUMN "part" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_events" DROP CONSTRAINT "usage_events_org_id_recorded_at_request_id_pk";--> statement-breakpoint
ALTER TABLE "usage_events" ADD CONSTRAINT "usage_events_org_id_recorded_at_request_id_part_pk" PRIMARY KEY("org_id","recorded_at","request_id","part");
