// Turns the processes' JSON log lines into one readable stream: time, process, level, message,
// then the remaining fields. Lines that are not JSON pass through.
const COLORS: Record<string, string> = { app: "\x1b[36m", worker: "\x1b[35m", stripe: "\x1b[33m", stigg: "\x1b[32m" };
const LEVELS: Record<string, string> = {
  error: "\x1b[31mERROR\x1b[0m",
  warn: "\x1b[33mWARN \x1b[0m",
  info: "INFO ",
  debug: "DEBUG",
  fatal: "\x1b[31mFATAL\x1b[0m",
};

export function formatLogLine(name: string, line: string): string {
  // "app.2": the second app process, coloured as every app process.
  const tag = `${COLORS[name.split(".")[0]] ?? ""}${name.padEnd(8)}\x1b[0m`;
  if (!line.startsWith("{")) return `${tag} ${line}`;
  try {
    const { time, level, msg, service: _s, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const t = typeof time === "string" ? time.slice(11, 19) : "";
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : "";
    return `${t} ${tag} ${LEVELS[String(level)] ?? String(level)} ${String(msg ?? "")}${extra}`;
  } catch {
    return `${tag} ${line}`;
  }
}
