// The words every layer shares: what is metered, the plan codes, the shape of a client-chosen id.
// A leaf: it imports nothing of the app, so the platform (config), the contract (api/) and the
// domain modules all take these from here.
import { z } from "zod";

/** Shape of every client-chosen id: request_id, Idempotency-Key, x-request-id. */
export const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export const metric = z.enum(["api_call"]).meta({ description: "What is metered." });
export type Metric = z.infer<typeof metric>;

export const planCode = z.enum(["trial", "starter", "growth", "pro"]);
export type PlanCode = z.infer<typeof planCode>;
