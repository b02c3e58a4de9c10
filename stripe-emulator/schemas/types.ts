// The response objects the app reads, named for the schema generator (`bun run stripe:schemas`).
import type Stripe from "stripe";

export type WireCustomer = Stripe.Customer;
export type WireSubscription = Stripe.Subscription;
export type WireSubscriptionSchedule = Stripe.SubscriptionSchedule;
export type WireInvoice = Stripe.Invoice;
export type WirePrice = Stripe.Price;
export type WireProduct = Stripe.Product;
export type WireTestClock = Stripe.TestHelpers.TestClock;
export type WireMeter = Stripe.Billing.Meter;
export type WireMeterEvent = Stripe.Billing.MeterEvent;
export type WireMeterEventSummary = Stripe.Billing.MeterEventSummary;
export type WireCheckoutSession = Stripe.Checkout.Session;
export type WirePaymentMethod = Stripe.PaymentMethod;
export type WireBillingPortalSession = Stripe.BillingPortal.Session;
export type WireBillingPortalConfiguration = Stripe.BillingPortal.Configuration;
export type WireWebhookEndpoint = Stripe.WebhookEndpoint;
// The envelope only: the test checks `data.object` against its own type.
export type WireEvent = Stripe.EventBase;
