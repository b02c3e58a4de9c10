CREATE TABLE "usage_reports" (
	"org_id" text NOT NULL,
	"metric" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"reported" bigint DEFAULT 0 NOT NULL,
	"pending_to" bigint,
	"reported_at" timestamp with time zone,
	CONSTRAINT "usage_reports_org_id_metric_period_start_pk" PRIMARY KEY("org_id","metric","period_start")
);
