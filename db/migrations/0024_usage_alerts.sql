CREATE TABLE "usage_alerts" (
	"org_id" text NOT NULL,
	"metric" text NOT NULL,
	"percents" integer[] NOT NULL,
	"credits_below" bigint,
	"overage_above_cents" bigint,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "usage_alerts_org_id_metric_pk" PRIMARY KEY("org_id","metric")
);
--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "custom_alerts" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_alerts" ADD CONSTRAINT "usage_alerts_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;