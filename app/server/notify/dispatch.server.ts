// Fans one event out (the dispatch_event job): a delivery per subscribed, enabled endpoint of the
// org, and the email when it is one people read. One transaction, and each is unique per event,
// so a retried or replayed dispatch adds nothing twice.
import { eq, sql as dsql } from "drizzle-orm";
import { db, schema } from "../platform/db.server";
import { queueEmailFor } from "./email.server";

export async function dispatchEvent(eventId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [event] = await tx.select().from(schema.events).where(eq(schema.events.id, eventId));
    if (!event || event.type === "webhook.test") return;
    await tx.execute(dsql`
      with created as (
        insert into webhook_deliveries (id, org_id, endpoint_id, event_id)
        select 'wd_' || replace(gen_random_uuid()::text, '-', ''), e.org_id, e.id, ${event.id}
          from webhook_endpoints e
         where e.org_id = ${event.orgId} and e.enabled and e.deleted_at is null and ${event.type} = any(e.event_types)
        on conflict (endpoint_id, event_id) do nothing
        returning id)
      select graphile_worker.add_job('deliver_webhook', json_build_object('deliveryId', id), max_attempts := 5,
                                     job_key := 'delivery:' || id)
        from created`);
    await queueEmailFor(event, tx);
  });
}
