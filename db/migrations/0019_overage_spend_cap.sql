CREATE TABLE "auto_top_up_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"metric" text NOT NULL,
	"packs" integer NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"crossing_grant_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "auto_top_up_runs_crossing_key" UNIQUE("org_id","metric","crossing_grant_id")
);
--> statement-breakpoint
CREATE TABLE "auto_top_up_settings" (
	"org_id" text NOT NULL,
	"metric" text NOT NULL,
	"below" bigint NOT NULL,
	"packs" integer NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "auto_top_up_settings_org_id_metric_pk" PRIMARY KEY("org_id","metric"),
	CONSTRAINT "auto_top_up_settings_below_positive" CHECK ("auto_top_up_settings"."below" > 0),
	CONSTRAINT "auto_top_up_settings_packs_positive" CHECK ("auto_top_up_settings"."packs" > 0)
);
--> statement-breakpoint
CREATE TABLE "org_spend_caps" (
	"org_id" text PRIMARY KEY NOT NULL,
	"amount_cents" bigint,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "org_spend_caps_amount_nonnegative" CHECK ("org_spend_caps"."amount_cents" is null or "org_spend_caps"."amount_cents" >= 0)
);
--> statement-breakpoint
ALTER TABLE "usage_counters" ADD COLUMN "credit_used" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_counters" ADD COLUMN "overage_used" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_counters" ADD COLUMN "overage_price_cents" integer;--> statement-breakpoint
ALTER TABLE "usage_counters" ADD COLUMN "overage_per" integer;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "credit_units" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "overage_units" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "auto_top_up_runs" ADD CONSTRAINT "auto_top_up_runs_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auto_top_up_settings" ADD CONSTRAINT "auto_top_up_settings_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "org_spend_caps" ADD CONSTRAINT "org_spend_caps_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;