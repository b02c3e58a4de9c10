// Emails for the events a person should read: usage at 80% and 100%, trial ending, payment
// failed, plan changed, an automatic top-up that failed (and was turned off). One outbox row per event (unique: a crossing never mails twice), sent by
// a job through SMTP_URL; without it, the row stays in the outbox with status `local` (/admin).
import { sql as dsql, eq } from "drizzle-orm";
import nodemailer, { type Transporter } from "nodemailer";
import type { EventRow } from "../../../db/schema";
import { type EventType, type Executor, eventData } from "../events/outbox.server";
import { orgSettingsOf } from "../orgs/settings.server";
import { config } from "../platform/config.server";
import { db, schema } from "../platform/db.server";
import { jobPayload, postgresText } from "../platform/jobs.server";

type Mail = { subject: string; lines: string[]; link: string };
type Org = { name: string; timeZone: string };

const day = (iso: string, timeZone: string) => new Intl.DateTimeFormat("en-US", { timeZone, dateStyle: "medium" }).format(new Date(iso));
const amount = (minor: number, currency: string) => new Intl.NumberFormat("en-US", { style: "currency", currency }).format(minor / 100);
const portal = (path: string) => new URL(path, config.baseUrl).toString();

const render: Partial<Record<EventType, (data: unknown, org: Org) => Mail>> = {
  "usage.threshold_reached": (raw, org) => {
    const d = eventData["usage.threshold_reached"].parse(raw);
    const full = d.threshold === 100;
    return {
      subject: full ? `${org.name} has used all of its included API calls` : `${org.name} has used ${d.threshold}% of its included API calls`,
      lines: [
        `${org.name} has used ${d.used.toLocaleString("en-US")} of ${d.included.toLocaleString("en-US")} included ${d.metric} units this period (${d.threshold}%).`,
        full
          ? `Further requests are refused until the period ends on ${day(d.periodEnd, org.timeZone)}, unless you upgrade.`
          : `The period ends on ${day(d.periodEnd, org.timeZone)}.`,
      ],
      link: portal("/dashboard"),
    };
  },
  "credits.low": (raw, org) => {
    const d = eventData["credits.low"].parse(raw);
    return {
      subject: `${org.name} has fewer than ${d.below.toLocaleString("en-US")} ${d.metric} credits left`,
      lines: [
        `${org.name} has ${d.creditsLeft.toLocaleString("en-US")} prepaid ${d.metric} credits left, below the ${d.below.toLocaleString("en-US")} you asked to be told about.`,
        "Past them, usage is billed as overage or refused, by the plan and the spend cap. Buy more on the top-ups page.",
      ],
      link: portal(`/billing/top-ups?metric=${encodeURIComponent(d.metric)}`),
    };
  },
  "overage.threshold_reached": (raw, org) => {
    const d = eventData["overage.threshold_reached"].parse(raw);
    return {
      subject: `${org.name}'s ${d.metric} overage is above ${amount(d.aboveCents, d.currency)}`,
      lines: [
        `${org.name}'s ${d.metric} overage this period is ${amount(d.overageCents, d.currency)} (${d.overageUnits.toLocaleString("en-US")} units past the included ones and credits), above the ${amount(d.aboveCents, d.currency)} you asked to be told about.`,
        `It is billed on the invoice at the period's end, ${day(d.periodEnd, org.timeZone)}. The spend cap and alerts are on the billing and settings pages.`,
      ],
      link: portal("/billing"),
    };
  },
  "spend_cap.reached": (raw, org) => {
    const d = eventData["spend_cap.reached"].parse(raw);
    return {
      subject: `${org.name} has reached its overage spend cap`,
      lines: [
        `${org.name}'s overage this period has reached ${amount(d.overageCents, d.currency)} of its ${amount(d.capCents, d.currency)} spend cap.`,
        `Further ${d.metric} usage past the included units and credits is refused until the period ends, unless an admin raises the cap or buys a top-up.`,
      ],
      link: portal("/billing"),
    };
  },
  "subscription.trial_will_end": (raw, org) => {
    const d = eventData["subscription.trial_will_end"].parse(raw);
    return {
      subject: `${org.name}: your trial ends on ${day(d.trialEnd, org.timeZone)}`,
      lines: [`The trial of ${org.name} ends on ${day(d.trialEnd, org.timeZone)}; the subscription then continues on the paid plan.`],
      link: portal("/billing"),
    };
  },
  "invoice.payment_failed": (raw, org) => {
    const d = eventData["invoice.payment_failed"].parse(raw);
    return {
      subject: `${org.name}: a payment of ${amount(d.amountDue, d.currency)} failed`,
      lines: [
        `We could not collect ${amount(d.amountDue, d.currency)} for invoice ${d.number ?? d.invoiceId}.`,
        "Update the payment method to keep the subscription active.",
      ],
      link: d.hostedInvoiceUrl ?? portal("/invoices"),
    };
  },
  "subscription.updated": (raw, org) => {
    const d = eventData["subscription.updated"].parse(raw);
    return {
      subject: `${org.name} is now on the ${d.planCode} plan`,
      lines: [`The plan of ${org.name} changed from ${d.previousPlanCode} to ${d.planCode}. The current period ends on ${day(d.periodEnd, org.timeZone)}.`],
      link: portal("/billing"),
    };
  },
  "auto_top_up.failed": (raw, org) => {
    const d = eventData["auto_top_up.failed"].parse(raw);
    return {
      subject: `${org.name}: automatic top-up of ${d.metric} failed and was turned off`,
      lines: [
        `We could not buy the automatic top-up of ${d.metric} credits for ${org.name}: ${d.reason}`,
        "Automatic top-up is now off, so no further charge will be attempted. Update the card, buy credits on the top-ups page, and turn automatic top-up on again in Settings.",
      ],
      link: portal(`/billing/top-ups?metric=${encodeURIComponent(d.metric)}`),
    };
  },
  "webhook_endpoint.disabled": (raw, org) => {
    const d = eventData["webhook_endpoint.disabled"].parse(raw);
    return {
      subject: `${org.name}: a webhook endpoint was disabled`,
      lines: [`The webhook endpoint ${d.url} was disabled. ${d.reason}`, "Fix the receiver, then add the endpoint again."],
      link: portal("/webhooks"),
    };
  },
};

export const EMAIL_TYPES = Object.keys(render) as EventType[];

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function compose(mail: Mail, org: Org) {
  const text = [...mail.lines, "", `Open the portal: ${mail.link}`, "", `— Metered, for ${org.name}`].join("\n");
  const html = `<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">
<h1 style="font-size:18px">${escapeHtml(mail.subject)}</h1>
${mail.lines.map((l) => `<p>${escapeHtml(l)}</p>`).join("\n")}
<p><a href="${escapeHtml(mail.link)}">Open the portal</a></p>
<p style="color:#666">Metered, for ${escapeHtml(org.name)}. Choose which emails you get on the Settings page.</p>
</body></html>`;
  return { subject: mail.subject, text, html };
}

/** The event's email, queued in the caller's transaction; nothing when the org does not want it. */
export async function queueEmailFor(event: EventRow, tx: Executor & Pick<typeof db, "insert">): Promise<void> {
  const make = render[event.type as EventType];
  if (!make) return;
  const settings = await orgSettingsOf(event.orgId);
  if (settings.mutedEmails.includes(event.type) || !settings.billingEmail) return;
  const org = { name: settings.orgName, timeZone: settings.timeZone };
  const mail = compose(make(event.data, org), org);
  const id = `em_${crypto.randomUUID().replaceAll("-", "")}`;
  const [row] = await tx
    .insert(schema.emailOutbox)
    .values({ id, orgId: event.orgId, eventId: event.id, toAddress: settings.billingEmail, subject: mail.subject, textBody: mail.text, htmlBody: mail.html })
    .onConflictDoNothing()
    .returning({ id: schema.emailOutbox.id });
  if (row) await tx.execute(sqlAddJob(row.id));
}

// In four queues (by email), so a mail server that hangs holds at most four of the worker's
// outbound slots, never the webhooks' (worker/index.ts).
const sqlAddJob = (emailId: string) =>
  dsql`select graphile_worker.add_job('send_email', ${jobPayload("send_email", { emailId })}::text::json, max_attempts := 12, job_key := ${`email:${emailId}`}::text,
         queue_name := 'email:' || abs(hashtext(${emailId}) % 4))`;

let transport: Transporter | null = null;

/** Sends one outbox email (the job). A failing SMTP server throws, and the job retries. */
export async function sendEmail(emailId: string): Promise<void> {
  const [mail] = await db.select().from(schema.emailOutbox).where(eq(schema.emailOutbox.id, emailId));
  if (mail?.status !== "pending") return;
  if (!config.SMTP_URL) {
    await db.update(schema.emailOutbox).set({ status: "local" }).where(eq(schema.emailOutbox.id, emailId));
    return;
  }
  // A server that accepts and never answers fails the attempt within these, not nodemailer's
  // defaults (2 minutes to connect, 10 of silence).
  transport ??= nodemailer.createTransport({ url: config.SMTP_URL, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
  try {
    await transport.sendMail({
      from: config.MAIL_FROM,
      to: mail.toAddress,
      subject: mail.subject,
      text: mail.textBody,
      html: mail.htmlBody,
      // The same id on every attempt, so a receiver can drop a copy sent twice by a retry.
      messageId: `<${mail.eventId}@metered>`,
      headers: { "X-Metered-Org": mail.orgId, "X-Metered-Event": mail.eventId },
    });
  } catch (err) {
    await db
      .update(schema.emailOutbox)
      .set({ attempts: mail.attempts + 1, lastError: postgresText((err as Error).message.slice(0, 300)) })
      .where(eq(schema.emailOutbox.id, emailId));
    throw err;
  }
  await db
    .update(schema.emailOutbox)
    .set({ status: "sent", attempts: mail.attempts + 1, sentAt: new Date() })
    .where(eq(schema.emailOutbox.id, emailId));
}

/** The newest outbox rows, for /admin. */
export async function listOutbox(limit = 50) {
  const rows = await db.select().from(schema.emailOutbox).orderBy(dsql`${schema.emailOutbox.createdAt} desc`).limit(limit);
  return rows.map((r) => ({
    id: r.id,
    orgId: r.orgId,
    to: r.toAddress,
    subject: r.subject,
    status: r.status,
    attempts: r.attempts,
    lastError: r.lastError,
    createdAt: r.createdAt.toISOString(),
  }));
}
