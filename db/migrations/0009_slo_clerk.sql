CREATE TABLE "clerk_memberships" (
	"org_id" text NOT NULL,
	"user_id" text NOT NULL,
	"role" text,
	"changed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "clerk_memberships_org_id_user_id_pk" PRIMARY KEY("org_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "clerk_org_deletions" (
	"org_id" text PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"keys_revoked" integer NOT NULL,
	"deleted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"handled_at" timestamp with time zone
);
--> statement-breakpoint
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
