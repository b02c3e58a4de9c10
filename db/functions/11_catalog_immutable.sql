-- Published catalog versions and plan versions are immutable: triggers (created by a migration)
-- on catalog_versions, plan_versions, plan_version_features and catalog_version_plans refuse
-- UPDATE and DELETE. A change is a new version (ops catalog:push).
CREATE OR REPLACE FUNCTION catalog_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is immutable once published: publish a new catalog version instead', TG_TABLE_NAME;
END $$;
