// What every /v1 resource's routes are made of: the handler shape and Stripe's list pagination.
import type { Account } from "./account";
import { type FormValue, int, str } from "./form";
import { type Accepts, paramError } from "./params";

export type Params = Record<string, FormValue>;
export type Handler = (b: Account, params: Params, match: string[]) => Promise<unknown>;
/** A route: its method, its path, the parameters it accepts (checked before the handler runs), its handler. */
export type Route = [method: string, path: RegExp, accepts: Accepts, handler: Handler];

export async function list<T extends { id: string }>(b: Account, type: string, params: Params, filter: (o: T) => boolean, url: string) {
  const all = await b.store.list<T>(type, filter);
  const limit = Math.min(100, Math.max(1, int(params.limit) ?? 10));
  let start = 0;
  const after = str(params.starting_after);
  const before = str(params.ending_before);
  const cursor = (param: string, id: string) => {
    const at = all.findIndex((o) => o.id === id);
    if (at < 0) throw paramError("resource_missing", param, `No such ${type.replace(/^.*\./, "").replaceAll("_", " ")}: '${id}'`, 404);
    return at;
  };
  if (after) start = cursor("starting_after", after) + 1;
  let data = all.slice(start, start + limit);
  if (before) {
    const end = cursor("ending_before", before);
    data = all.slice(Math.max(0, end - limit), Math.max(0, end));
  }
  return { object: "list", data, has_more: start + limit < all.length, url };
}
