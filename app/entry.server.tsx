// Server rendering (Remix's Node entry, streamed) and the one handler of unexpected server
// errors: loaders, actions and rendering report to the log and Sentry (sentry.server.ts).
import { PassThrough } from "node:stream";
import type { ActionFunctionArgs, EntryContext, LoaderFunctionArgs } from "@remix-run/node";
import { createReadableStreamFromReadable } from "@remix-run/node";
import { RemixServer } from "@remix-run/react";
import { isbot } from "isbot";
import { renderToPipeableStream } from "react-dom/server";
import { reportServerError } from "~/server/observe/sentry.server";

const ABORT_DELAY = 5_000;

export function handleError(error: unknown, { request }: LoaderFunctionArgs | ActionFunctionArgs): void {
  reportServerError(error, request);
}

export default function handleRequest(request: Request, responseStatusCode: number, responseHeaders: Headers, remixContext: EntryContext) {
  // Crawlers get the whole document at once; browsers get the shell as soon as it is ready.
  const waitForAll = isbot(request.headers.get("user-agent") ?? "") || remixContext.isSpaMode;
  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false;
    const ready = () => {
      shellRendered = true;
      const body = new PassThrough();
      responseHeaders.set("Content-Type", "text/html");
      resolve(new Response(createReadableStreamFromReadable(body), { headers: responseHeaders, status: responseStatusCode }));
      pipe(body);
    };
    const { pipe, abort } = renderToPipeableStream(<RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY} />, {
      onAllReady: waitForAll ? ready : undefined,
      onShellReady: waitForAll ? undefined : ready,
      onShellError: reject,
      onError(error: unknown) {
        responseStatusCode = 500;
        // Errors after the shell are reported by handleError; before it, the rejection is.
        if (shellRendered) reportServerError(error, request);
      },
    });
    setTimeout(abort, ABORT_DELAY);
  });
}

export { startServer } from "~/server/main.server";
// What server.ts needs from the build: the app process is composed inside the bundle, so it shares
// every module (pool, caches, group commit) with the routes it serves.
export { initSentry } from "~/server/observe/sentry.server";
