// The routes of the OpenAPI document, in its order: each path and the route module that declares
// it (app/routes, where each method's contract is written). A function, not a list: the document's
// own route imports the document, so the modules are read only once all of them are loaded.
// document.server.test.ts checks that every /api/v1 route file is here, under its own path.
import * as openApiJson from "../../routes/api.openapi[.]json";
import * as alerts from "../../routes/api.v1.alerts";
import * as autoTopUp from "../../routes/api.v1.billing.auto-top-up";
import * as checkout from "../../routes/api.v1.billing.checkout";
import * as downgrade from "../../routes/api.v1.billing.downgrade";
import * as portal from "../../routes/api.v1.billing.portal";
import * as preview from "../../routes/api.v1.billing.preview";
import * as spendCap from "../../routes/api.v1.billing.spend-cap";
import * as topUps from "../../routes/api.v1.billing.top-ups";
import * as upgrade from "../../routes/api.v1.billing.upgrade";
import * as entitlements from "../../routes/api.v1.entitlements";
import * as entitlement from "../../routes/api.v1.entitlements.$feature";
import * as invoices from "../../routes/api.v1.invoices";
import * as defaultKeyRateLimits from "../../routes/api.v1.key-rate-limits";
import * as keys from "../../routes/api.v1.keys";
import * as key from "../../routes/api.v1.keys.$id";
import * as rollKey from "../../routes/api.v1.keys.$id.roll";
import * as plans from "../../routes/api.v1.plans";
import * as quota from "../../routes/api.v1.quota";
import * as subscription from "../../routes/api.v1.subscription";
import * as usage from "../../routes/api.v1.usage";
import * as usageHistory from "../../routes/api.v1.usage.history";
import * as deliveries from "../../routes/api.v1.webhooks.deliveries";
import * as retryDelivery from "../../routes/api.v1.webhooks.deliveries.$id.retry";
import * as endpoints from "../../routes/api.v1.webhooks.endpoints";
import * as endpoint from "../../routes/api.v1.webhooks.endpoints.$id";
import * as testEndpoint from "../../routes/api.v1.webhooks.endpoints.$id.[test]";
import type { DeclaredRoute } from "../http/route.server";

export const documentedRoutes = (): [path: string, route: DeclaredRoute][] => [
  ["/api/v1/quota", quota.route],
  ["/api/v1/usage", usage.route],
  ["/api/v1/usage/history", usageHistory.route],
  ["/api/v1/entitlements", entitlements.route],
  ["/api/v1/entitlements/{feature}", entitlement.route],
  ["/api/v1/plans", plans.route],
  ["/api/v1/subscription", subscription.route],
  ["/api/v1/invoices", invoices.route],
  ["/api/v1/billing/checkout", checkout.route],
  ["/api/v1/billing/portal", portal.route],
  ["/api/v1/billing/preview", preview.route],
  ["/api/v1/billing/upgrade", upgrade.route],
  ["/api/v1/billing/downgrade", downgrade.route],
  ["/api/v1/billing/top-ups", topUps.route],
  ["/api/v1/billing/spend-cap", spendCap.route],
  ["/api/v1/billing/auto-top-up", autoTopUp.route],
  ["/api/v1/alerts", alerts.route],
  ["/api/v1/keys", keys.route],
  ["/api/v1/key-rate-limits", defaultKeyRateLimits.route],
  ["/api/v1/keys/{id}", key.route],
  ["/api/v1/keys/{id}/roll", rollKey.route],
  ["/api/v1/webhooks/endpoints", endpoints.route],
  ["/api/v1/webhooks/endpoints/{id}", endpoint.route],
  ["/api/v1/webhooks/endpoints/{id}/test", testEndpoint.route],
  ["/api/v1/webhooks/deliveries", deliveries.route],
  ["/api/v1/webhooks/deliveries/{id}/retry", retryDelivery.route],
  ["/api/openapi.json", openApiJson.route],
];
