// `bun stigg-emulator/main.ts`: runs the local Stigg on its own (the run command starts it when
// STIGG_API_KEY is unset). STIGG_LOCAL_PORT (default 12112), DATABASE_URL required.
import { startStiggLocal } from "./index";

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error("DATABASE_URL is not set");
  process.exit(1);
}
const local = await startStiggLocal({
  port: Number(process.env.STIGG_LOCAL_PORT ?? 12112),
  databaseUrl,
  apiKey: process.env.STIGG_LOCAL_API_KEY || undefined,
  log: (line) => console.log(JSON.stringify({ level: "info", time: new Date().toISOString(), msg: line })),
});
const stop = async () => {
  await local.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
// Started by `npm start` in a session of its own: once the supervisor is gone, nothing else would stop it.
const supervisor = Number(process.env.SUPERVISOR_PID);
if (supervisor) {
  setInterval(() => {
    if (process.ppid !== supervisor) void stop();
  }, 1000).unref();
}
