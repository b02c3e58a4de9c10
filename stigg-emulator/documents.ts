// The operations the local Stigg answers, each with the document its sender pins: the server
// SDK's own (from @stigg/api-client-js, generated) or the app's management documents. A request
// is parsed with `graphql` and compared with that document, so an SDK upgrade that changes a
// selection (or a hand-edited document) fails here instead of going unnoticed.
import * as sdk from "@stigg/api-client-js/src/generated/sdk";
import { type DocumentNode, type FieldNode, type OperationDefinitionNode, parse, print, type SelectionSetNode, visit } from "graphql";
import * as management from "../app/server/stigg/management-documents.server";

/** Operation name → the document its sender pins. */
export const PINNED: Record<string, DocumentNode> = {
  GetSdkConfiguration: sdk.GetSdkConfigurationDocument,
  ProvisionCustomer: sdk.ProvisionCustomerDocument,
  ImportSubscriptionsBulk: sdk.ImportSubscriptionsBulkDocument,
  GetEntitlements: sdk.GetEntitlementsDocument,
  GetActiveSubscriptionsList: sdk.GetActiveSubscriptionsListDocument,
  PreviewSubscription: sdk.PreviewSubscriptionDocument,
  CreateFeature: management.CreateFeatureDocument,
  CreatePlan: management.CreatePlanDocument,
  CreatePackageEntitlements: management.CreatePackageEntitlementsDocument,
  PublishPlan: management.PublishPlanDocument,
  GetPlan: management.GetPlanDocument,
};

const dropTypename = (node: { kind: string }) =>
  node.kind === "Field" && (node as FieldNode).name.value === "__typename" && !(node as FieldNode).alias ? null : undefined;

/**
 * A document in a comparable form: Apollo adds `__typename` to every selection set it sends,
 * so those are dropped (on both sides); definitions are ordered operation first, then fragments
 * by name; printed by `graphql` (whitespace and commas do not count).
 */
export function canonicalDocument(doc: DocumentNode): string {
  const stripped = visit(doc, { enter: dropTypename }) as DocumentNode;
  const defs = [...stripped.definitions].sort((a, b) => {
    const rank = (d: (typeof defs)[number]) => (d.kind === "OperationDefinition" ? "0" : `1${"name" in d && d.name ? d.name.value : ""}`);
    return rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0;
  });
  return print({ ...stripped, definitions: defs });
}

const canonicalPinned = new Map(Object.entries(PINNED).map(([name, doc]) => [name, canonicalDocument(doc)]));

export type Parsed = { name: string; document: DocumentNode; operation: OperationDefinitionNode };

/** Why a request's document is refused, or the parsed operation. */
export function checkDocument(query: unknown, operationName: unknown): Parsed | { refused: string; code: string } {
  if (typeof query !== "string" || query.length === 0) return { refused: "Must provide query string.", code: "GRAPHQL_VALIDATION_FAILED" };
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch (err) {
    return { refused: (err as Error).message, code: "GRAPHQL_PARSE_FAILED" };
  }
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === "OperationDefinition");
  const operation = operations.find((o) => (typeof operationName === "string" ? o.name?.value === operationName : true));
  const name = operation?.name?.value;
  if (!operation || !name || operations.length !== 1) return { refused: "Must provide exactly one named operation.", code: "GRAPHQL_VALIDATION_FAILED" };
  const pinned = canonicalPinned.get(name);
  if (!pinned) return { refused: `Operation ${name} is not one the local Stigg answers.`, code: "GRAPHQL_VALIDATION_FAILED" };
  if (canonicalDocument(document) !== pinned) {
    return { refused: `Operation ${name} does not match the pinned document for it (a changed selection or argument).`, code: "GRAPHQL_VALIDATION_FAILED" };
  }
  return { name, document, operation };
}

type Obj = Record<string, unknown>;

/**
 * The answer as GraphQL would shape it: only the selected fields (aliases honoured), fragments
 * applied by `__typename` (an object without one takes its fragment's type condition), missing
 * fields as null. `value` is the resolver's full object.
 */
export function project(value: unknown, set: SelectionSetNode, doc: DocumentNode, typename?: string): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((v) => project(v, set, doc, typename));
  if (typeof value !== "object" || value instanceof Date) return value instanceof Date ? value.toISOString() : value;
  const obj = value as Obj;
  const out: Obj = {};
  const fragments = new Map(doc.definitions.flatMap((d) => (d.kind === "FragmentDefinition" ? [[d.name.value, d] as const] : [])));
  const own = (obj.__typename as string | undefined) ?? typename;
  const walk = (s: SelectionSetNode, type: string | undefined) => {
    for (const sel of s.selections) {
      if (sel.kind === "Field") {
        const key = sel.alias?.value ?? sel.name.value;
        if (sel.name.value === "__typename") {
          if (type) out[key] = type;
          continue;
        }
        const v = obj[sel.name.value];
        out[key] = sel.selectionSet ? mergeInto(out[key], project(v, sel.selectionSet, doc)) : v instanceof Date ? v.toISOString() : (v ?? null);
      } else {
        const fragment = sel.kind === "FragmentSpread" ? fragments.get(sel.name.value) : sel;
        if (!fragment) continue;
        const condition = fragment.typeCondition?.name.value;
        if (condition && obj.__typename && !typeMatches(obj.__typename as string, condition)) continue;
        walk(fragment.selectionSet, type ?? condition);
      }
    }
  };
  walk(set, own);
  return out;
}

// Interfaces and unions the documents spread on, and the concrete types the local Stigg answers with.
const ABSTRACT: Record<string, string[]> = {
  ResetPeriodConfiguration: ["MonthlyResetPeriodConfig", "WeeklyResetPeriodConfig", "YearlyResetPeriodConfig"],
  PackageEntitlementUnion: ["PackageFeatureEntitlement", "PackageCreditEntitlement"],
};
const typeMatches = (type: string, condition: string) => type === condition || (ABSTRACT[condition]?.includes(type) ?? false);

function mergeInto(prev: unknown, next: unknown): unknown {
  if (prev && next && typeof prev === "object" && typeof next === "object" && !Array.isArray(prev)) return { ...(prev as Obj), ...(next as Obj) };
  return next;
}
