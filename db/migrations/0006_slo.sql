CREATE TABLE "slo_breaches" (
	"slo" text PRIMARY KEY NOT NULL,
	"breached_since" timestamp with time zone DEFAULT now() NOT NULL,
	"alerted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "slo_buckets" (
	"series" text NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	"bucket" smallint NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "slo_buckets_series_minute_bucket_pk" PRIMARY KEY("series","minute","bucket")
);
--> statement-breakpoint
CREATE TABLE "slo_drift" (
	"period_key" text PRIMARY KEY NOT NULL,
	"max_drift" double precision NOT NULL,
	"measured_at" timestamp with time zone DEFAULT now() NOT NULL
);
