// Fans one event out (the dispatch_event job): a delivery per subscribed, enabled endpoint of the
// org, and the email when it is one people read. One transaction, and each is unique per event,
// so a retried or replayed dispatch adds nothing twice.
import { eq } from "drizzle-orm";
import { db, schema } from "../platform/db.server";
import { createDeliveriesFor } from "./deliver.server";
import { queueEmailFor } from "./email.server";

export async function dispatchEvent(eventId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [event] = await tx.select().from(schema.events).where(eq(schema.events.id, eventId));
    if (!event || event.type === "webhook.test") return;
    await createDeliveriesFor(event, tx);
    await queueEmailFor(event, tx);
  });
}
