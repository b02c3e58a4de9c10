CREATE TABLE "credit_grants" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"metric" text NOT NULL,
	"units" bigint NOT NULL,
	"remaining" bigint NOT NULL,
	"source" text NOT NULL,
	"source_id" text NOT NULL,
	"amount_cents" bigint DEFAULT 0 NOT NULL,
	"currency" text DEFAULT 'usd' NOT NULL,
	"granted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "credit_grants_source_id_unique" UNIQUE("source_id"),
	CONSTRAINT "credit_grants_units_positive" CHECK ("credit_grants"."units" > 0),
	CONSTRAINT "credit_grants_remaining_within" CHECK ("credit_grants"."remaining" >= 0 and "credit_grants"."remaining" <= "credit_grants"."units")
);
--> statement-breakpoint
ALTER TABLE "credit_grants" ADD CONSTRAINT "credit_grants_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "credit_grants_spendable_idx" ON "credit_grants" USING btree ("org_id","metric","expires_at") WHERE remaining > 0;