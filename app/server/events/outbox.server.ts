// The events the system emits, one zod schema per type (the contract webhook receivers and the
// emails read; documented in docs/events.md), and emitEvent, the one way to emit one. Usage
// thresholds are emitted by record_usage itself (db/functions/), in the
// statement that admits the usage.
import { sql as dsql } from "drizzle-orm";
import { db } from "../platform/db.server";

export type { EventData, EventEnvelope, EventType } from "../api/event-schemas.server";
export { EVENT_TYPES, eventData, eventEnvelope, SUBSCRIBABLE_TYPES } from "../api/event-schemas.server";

import type { EventData, EventType } from "../api/event-schemas.server";
import { eventData } from "../api/event-schemas.server";

export type Executor = Pick<typeof db, "execute">;

/**
 * Emits an event in the caller's transaction (pass the drizzle `tx`) or on its own. With a
 * dedupeKey, the same fact emitted again is ignored. Answers the event id, or null for a repeat.
 */
export async function emitEvent<T extends EventType>(
  input: { orgId: string; type: T; data: EventData<T>; dedupeKey?: string },
  executor: Executor = db,
): Promise<string | null> {
  const data = eventData[input.type].parse(input.data);
  const rows = (await executor.execute(
    dsql`select emit_event(${input.orgId}, ${input.type}, ${JSON.stringify(data)}::jsonb, ${input.dedupeKey ?? null}) as id`,
  )) as unknown as { id: string | null }[];
  return rows[0]?.id ?? null;
}
