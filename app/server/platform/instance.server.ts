// This process's instance id: random per start, printed in the start log line and reported by
// /api/diag/smoke, so whoever started the process can tell it from another one on the same port.
export const INSTANCE_ID = `inst_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
