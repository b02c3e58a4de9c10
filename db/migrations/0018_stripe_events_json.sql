ALTER TABLE "stripe_events" ALTER COLUMN "payload" SET DATA TYPE json;--> statement-breakpoint
-- lz4 where this server was built with it (Debian's is; a build without it keeps pglz).
DO $$
BEGIN
  ALTER TABLE "stripe_events" ALTER COLUMN "payload" SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  NULL;
END $$;
