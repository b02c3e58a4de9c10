CREATE TABLE "stigg_drift" (
	"org_id" text PRIMARY KEY NOT NULL,
	"problems" jsonb NOT NULL,
	"checked_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "stigg_drift" ADD CONSTRAINT "stigg_drift_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;