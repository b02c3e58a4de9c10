ALTER TABLE "organisations" ADD COLUMN "checkout_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "organisations" ADD COLUMN "stripe_checked_at" timestamp with time zone;