// The response objects the app reads, named for the schema generator (`bun run stripe:schemas`).
import type Stripe from "stripe";

export type WireCustomer = Stripe.Customer;
export type WireSubscription = Stripe.Subscription;
export type WireSubscriptionSchedule = Stripe.SubscriptionSchedule;
export type WireInvoice = Stripe.Invoice;
export type WireInvoiceItem = Stripe.InvoiceItem;
export type WirePrice = Stripe.Price;
export type WireProduct = Stripe.Product;
export type WireTestClock = Stripe.TestHelpers.TestClock;
export type WireDeletedTestClock = Stripe.TestHelpers.DeletedTestClock;
export type WireMeter = Stripe.Billing.Meter;
export type WireMeterEvent = Stripe.Billing.MeterEvent;
export type WireMeterEventSummary = Stripe.Billing.MeterEventSummary;
export type WireCheckoutSession = Stripe.Checkout.Session;
export type WirePaymentMethod = Stripe.PaymentMethod;
export type WireBillingPortalSession = Stripe.BillingPortal.Session;
export type WireBillingPortalConfiguration = Stripe.BillingPortal.Configuration;
export type WireBillingPortalConfigurationList = Stripe.ApiList<Stripe.BillingPortal.Configuration>;
export type WireWebhookEndpoint = Stripe.WebhookEndpoint;
export type WireWebhookEndpointList = Stripe.ApiList<Stripe.WebhookEndpoint>;
export type WireDeletedWebhookEndpoint = Stripe.DeletedWebhookEndpoint;
// The envelope only: the test checks `data.object` against its own type.
export type WireEvent = Stripe.EventBase;
// The lists the local Stripe answers.
export type WirePriceList = Stripe.ApiList<Stripe.Price>;
export type WireSubscriptionList = Stripe.ApiList<Stripe.Subscription>;
export type WireSubscriptionScheduleList = Stripe.ApiList<Stripe.SubscriptionSchedule>;
export type WireInvoiceList = Stripe.ApiList<Stripe.Invoice>;
export type WireEventList = Stripe.ApiList<Stripe.EventBase>;
export type WireCheckoutSessionList = Stripe.ApiList<Stripe.Checkout.Session>;
export type WireMeterList = Stripe.ApiList<Stripe.Billing.Meter>;
export type WireMeterEventSummaryList = Stripe.ApiList<Stripe.Billing.MeterEventSummary>;
