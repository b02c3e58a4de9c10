// The local Stigg for a test file: started on a free port in the file's database, with this
// process's SDK pointed at it (the real SDK, as `npm start` runs it).
import { pointStiggAt } from "../app/server/stigg/stigg.server";
import { type StiggLocal, startStiggLocal } from "../stigg-emulator/index";
import { freePort } from "./ports";

export async function startLocalStigg(): Promise<StiggLocal> {
  const local = await startStiggLocal({ port: freePort(), databaseUrl: process.env.DATABASE_URL as string });
  pointStiggAt({ url: local.url, apiKey: local.apiKey });
  return local;
}
