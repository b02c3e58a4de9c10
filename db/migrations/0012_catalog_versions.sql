CREATE TABLE "catalog_version_plans" (
	"catalog_version" integer NOT NULL,
	"plan_code" text NOT NULL,
	"plan_version" integer NOT NULL,
	CONSTRAINT "catalog_version_plans_catalog_version_plan_code_pk" PRIMARY KEY("catalog_version","plan_code")
);
--> statement-breakpoint
CREATE TABLE "catalog_versions" (
	"version" integer PRIMARY KEY NOT NULL,
	"content" jsonb NOT NULL,
	"digest" text NOT NULL,
	"source" text NOT NULL,
	"published_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "features" (
	"code" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"unit" text,
	"stripe_meter_id" text,
	"first_version" integer NOT NULL,
	"last_version" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "plan_version_features" (
	"plan_code" text NOT NULL,
	"version" integer NOT NULL,
	"feature" text NOT NULL,
	"included" bigint,
	"overage_price_cents" integer,
	"overage_per" integer,
	"limit" bigint,
	"granted" boolean,
	CONSTRAINT "plan_version_features_plan_code_version_feature_pk" PRIMARY KEY("plan_code","version","feature")
);
--> statement-breakpoint
CREATE TABLE "plan_versions" (
	"plan_code" text NOT NULL,
	"version" integer NOT NULL,
	"catalog_version" integer NOT NULL,
	"name" text NOT NULL,
	"currency" text NOT NULL,
	"price_month" integer,
	"price_year" integer,
	"trial_days" integer,
	"price_of" text,
	"content" jsonb NOT NULL,
	"stripe_price_month" text,
	"stripe_price_year" text,
	CONSTRAINT "plan_versions_plan_code_version_pk" PRIMARY KEY("plan_code","version")
);
--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "plan_version" integer;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "billing_interval" text DEFAULT 'month' NOT NULL;--> statement-breakpoint
CREATE INDEX "catalog_version_plans_plan_idx" ON "catalog_version_plans" USING btree ("plan_code","catalog_version");
--> statement-breakpoint
-- Published catalog versions and plan versions never change (db/functions/11_catalog_immutable.sql
-- holds the function's current definition; defined here too because functions are applied after
-- the migrations).
CREATE OR REPLACE FUNCTION catalog_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is immutable once published: publish a new catalog version instead', TG_TABLE_NAME;
END $$;
--> statement-breakpoint
CREATE TRIGGER catalog_versions_immutable BEFORE UPDATE OR DELETE ON catalog_versions
  FOR EACH ROW EXECUTE FUNCTION catalog_immutable();
--> statement-breakpoint
CREATE TRIGGER plan_versions_immutable BEFORE UPDATE OR DELETE ON plan_versions
  FOR EACH ROW EXECUTE FUNCTION catalog_immutable();
--> statement-breakpoint
CREATE TRIGGER plan_version_features_immutable BEFORE UPDATE OR DELETE ON plan_version_features
  FOR EACH ROW EXECUTE FUNCTION catalog_immutable();
--> statement-breakpoint
CREATE TRIGGER catalog_version_plans_immutable BEFORE UPDATE OR DELETE ON catalog_version_plans
  FOR EACH ROW EXECUTE FUNCTION catalog_immutable();
