// This process's instance id: random per start, printed in the start log line and reported by
// /api/diag/smoke, so whoever started the process can tell it from another one on the same port.
// Kept on globalThis: server.ts and the Remix build each load their own copy of this module.
const shared = globalThis as { meteredInstanceId?: string };
shared.meteredInstanceId ??= `inst_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
export const INSTANCE_ID: string = shared.meteredInstanceId;
