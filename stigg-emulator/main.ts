// `bun stigg-emulator/main.ts`: runs the local Stigg on its own (the run command starts it when
// STIGG_API_KEY is unset). STIGG_LOCAL_PORT (default 12112), DATABASE_URL required.
import { databaseUrlOrExit, logLine, stopWhenAsked } from "../scripts/stand-in";
import { startStiggLocal } from "./index";

const local = await startStiggLocal({
  port: Number(process.env.STIGG_LOCAL_PORT ?? 12112),
  databaseUrl: databaseUrlOrExit(),
  apiKey: process.env.STIGG_LOCAL_API_KEY || undefined,
  log: logLine,
});
stopWhenAsked(() => local.stop());
