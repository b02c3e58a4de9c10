// Receivers for the notification tests: an HTTP endpoint that verifies Standard Webhooks
// signatures with the `standardwebhooks` package, a local SMTP server, and the real worker; and
// the system the email tests run on (two app processes, the worker, the SMTP server).

import { afterAll, beforeAll } from "bun:test";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { SMTPServer } from "smtp-server";
import { Webhook } from "standardwebhooks";
import { startApp, type TestApp } from "./app";

export type Received = { id: string; verified: boolean; body: { id: string; type: string; data: Record<string, unknown> } };

/** An HTTP receiver: answers `statuses` in turn (then 200), verifying each request with `secret()`. */
export function startWebhookReceiver(secret: () => string, statuses: number[] = []) {
  const received: Received[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const payload = await request.text();
      let verified = false;
      try {
        new Webhook(secret()).verify(payload, Object.fromEntries(request.headers));
        verified = true;
      } catch {
        verified = false;
      }
      received.push({ id: request.headers.get("webhook-id") ?? "", verified, body: JSON.parse(payload) });
      const status = statuses.shift() ?? 200;
      return new Response(status === 200 ? "thanks" : "receiver is down", { status });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/hooks`, received, stop: () => server.stop(true) };
}

export type Mail = { to: string; subject: string; raw: string };

/** A local SMTP server; `refuseOnce(match)` refuses the next matching message with a temporary error. */
export async function startSmtpReceiver() {
  const mails: Mail[] = [];
  let refused = 0;
  let refuseNext: ((raw: string) => boolean) | null = null;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        if (refuseNext?.(raw)) {
          refuseNext = null;
          refused++;
          const err = Object.assign(new Error("try again later"), { responseCode: 451 });
          callback(err);
          return;
        }
        const subject = /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? "";
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address).join(","), subject, raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  const refuseOnce = (match: (raw: string) => boolean) => {
    refuseNext = match;
  };
  return { url: `smtp://127.0.0.1:${port}`, mails, refused: () => refused, refuseOnce, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The real worker process against the test run's database. */
export function startWorker(env: Record<string, string> = {}) {
  const proc: Subprocess = spawn(["bun", "worker/index.ts"], {
    cwd: join(import.meta.dir, ".."),
    env: { ...process.env, LOG_LEVEL: "warn", ...env } as Record<string, string>,
    stdout: "ignore",
    stderr: "inherit",
  });
  return {
    stop: async () => {
      proc.kill();
      await proc.exited;
    },
  };
}

/**
 * Two app processes, the real worker sending through a local SMTP server: started before the
 * file's tests and stopped after them. Read `a`, `b` and `smtp` inside tests.
 */
export function startMailingSystem(): { a: TestApp; b: TestApp; smtp: Awaited<ReturnType<typeof startSmtpReceiver>> } {
  const system = {} as ReturnType<typeof startMailingSystem>;
  let worker: ReturnType<typeof startWorker> | undefined;
  beforeAll(async () => {
    system.smtp = await startSmtpReceiver();
    [system.a, system.b] = await Promise.all([startApp(), startApp()]);
    worker = startWorker({ SMTP_URL: system.smtp.url });
  });
  afterAll(async () => {
    await Promise.all([system.a?.stop(), system.b?.stop(), worker?.stop()]);
    await system.smtp?.stop();
  });
  return system;
}
