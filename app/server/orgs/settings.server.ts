// The org's settings: its time zone (the daily chart and the emails use it), its billing email
// (default: the owner's) and which notification emails it does not want.
import { eq } from "drizzle-orm";
import { z } from "zod";
import { appendAudit } from "../events/audit.server";
import { db, schema } from "../platform/db.server";
import { NotFound } from "../platform/errors.server";
import { setOrgTimeZone } from "./orgs.server";

export async function orgSettingsOf(orgId: string) {
  const [row] = await db
    .select({ org: schema.organisations, settings: schema.orgSettings })
    .from(schema.organisations)
    .leftJoin(schema.orgSettings, eq(schema.orgSettings.orgId, schema.organisations.id))
    .where(eq(schema.organisations.id, orgId));
  if (!row) throw NotFound("Organisation");
  return {
    orgName: row.org.name,
    timeZone: row.org.timeZone,
    ownerEmail: row.org.ownerEmail,
    billingEmail: row.settings?.billingEmail ?? row.org.ownerEmail,
    customBillingEmail: row.settings?.billingEmail ?? null,
    mutedEmails: row.settings?.mutedEmails ?? [],
  };
}

const validZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

export const settingsInput = z
  .object({
    timeZone: z.string().trim().min(1).max(64).refine(validZone, "an IANA time zone, like Europe/Paris"),
    billingEmail: z.union([z.string().trim().toLowerCase().email().max(254), z.literal("").transform(() => null), z.null()]),
    mutedEmails: z.array(z.string().max(64)).max(20).default([]),
  })
  .strict();

export async function updateOrgSettings(input: z.infer<typeof settingsInput> & { orgId: string; actor: string; requestId: string | null }) {
  const before = await orgSettingsOf(input.orgId);
  await db.transaction(async (tx) => {
    await setOrgTimeZone(input.orgId, input.timeZone, tx);
    const row = { orgId: input.orgId, billingEmail: input.billingEmail, mutedEmails: input.mutedEmails, updatedAt: new Date() };
    await tx.insert(schema.orgSettings).values(row).onConflictDoUpdate({ target: schema.orgSettings.orgId, set: row });
    await appendAudit(
      {
        orgId: input.orgId,
        actor: input.actor,
        action: "settings.updated",
        requestId: input.requestId,
        details: {
          timeZone: [before.timeZone, input.timeZone],
          billingEmail: [before.customBillingEmail, input.billingEmail],
          mutedEmails: input.mutedEmails,
        },
      },
      tx,
    );
  });
  return orgSettingsOf(input.orgId);
}
