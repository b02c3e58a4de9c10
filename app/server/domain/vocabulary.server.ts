// The words every layer shares: what is metered, the shape of a plan code and of a client-chosen id.
// A leaf: it imports nothing of the app, so the platform (config), the contract (api/) and the
// domain modules all take these from here.
import { z } from "zod";
import { CATALOG_CODE } from "./catalog.server";

/** Shape of every client-chosen id: request_id, Idempotency-Key, x-request-id. */
export const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

// What is metered: a metered feature of the catalog. The catalog is data that `ops catalog:push`
// changes while the app runs, so the shape is checked here and the feature against the catalog
// in the database, in the statement that meters it (400 VALIDATION_FAILED when the catalog does
// not meter it, 403 FEATURE_NOT_IN_PLAN when the org's plan version does not grant it).
export const metric = z
  .string()
  .regex(CATALOG_CODE, "a metered feature of the catalog")
  .meta({ description: "A metered feature of the catalog (`GET /api/v1/entitlements` lists the org's).", examples: ["api_call", "tokens"] });
export type Metric = z.infer<typeof metric>;

// Plans are data (the catalog, catalog/default.json): any code the catalog names. Whether a code
// is a plan of the current catalog is the billing layer's question (VALIDATION_FAILED if not).
export const planCode = z
  .string()
  .regex(CATALOG_CODE, "a plan code of the catalog")
  .meta({ description: "A plan of the catalog (`GET /api/v1/plans`).", examples: ["starter"] });
export type PlanCode = z.infer<typeof planCode>;
