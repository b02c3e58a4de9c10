CREATE TABLE "billing_requests" (
	"org_id" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"plan_code" text NOT NULL,
	"response" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "billing_requests_org_id_idempotency_key_pk" PRIMARY KEY("org_id","idempotency_key")
);
--> statement-breakpoint
ALTER TABLE "billing_requests" ADD CONSTRAINT "billing_requests_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;