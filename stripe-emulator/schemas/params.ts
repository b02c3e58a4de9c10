// The request parameters of every operation the local Stripe serves, as the `stripe` package
// declares them (generated from Stripe's OpenAPI description of the pinned API version), named
// for the schema generator (`bun run stripe:schemas` writes params.json). The contract test
// (stripe-emulator/contract/) names these per operation.
import type Stripe from "stripe";

export type CustomerCreate = Stripe.CustomerCreateParams;
export type CustomerRetrieve = Stripe.CustomerRetrieveParams;
export type CustomerUpdate = Stripe.CustomerUpdateParams;
export type PaymentMethodAttach = Stripe.PaymentMethodAttachParams;
export type PaymentMethodRetrieve = Stripe.PaymentMethodRetrieveParams;
export type ProductCreate = Stripe.ProductCreateParams;
export type ProductRetrieve = Stripe.ProductRetrieveParams;
export type PriceCreate = Stripe.PriceCreateParams;
export type PriceList = Stripe.PriceListParams;
export type PriceRetrieve = Stripe.PriceRetrieveParams;
export type PriceUpdate = Stripe.PriceUpdateParams;
export type WebhookEndpointCreate = Stripe.WebhookEndpointCreateParams;
export type WebhookEndpointList = Stripe.WebhookEndpointListParams;
export type WebhookEndpointRetrieve = Stripe.WebhookEndpointRetrieveParams;
export type WebhookEndpointUpdate = Stripe.WebhookEndpointUpdateParams;
export type WebhookEndpointDelete = Stripe.WebhookEndpointDeleteParams;
export type TestClockCreate = Stripe.TestHelpers.TestClockCreateParams;
export type TestClockRetrieve = Stripe.TestHelpers.TestClockRetrieveParams;
export type TestClockAdvance = Stripe.TestHelpers.TestClockAdvanceParams;
export type TestClockDelete = Stripe.TestHelpers.TestClockDeleteParams;
export type SubscriptionCreate = Stripe.SubscriptionCreateParams;
export type SubscriptionList = Stripe.SubscriptionListParams;
export type SubscriptionRetrieve = Stripe.SubscriptionRetrieveParams;
export type SubscriptionUpdate = Stripe.SubscriptionUpdateParams;
export type SubscriptionCancel = Stripe.SubscriptionCancelParams;
export type SubscriptionScheduleCreate = Stripe.SubscriptionScheduleCreateParams;
export type SubscriptionScheduleList = Stripe.SubscriptionScheduleListParams;
export type SubscriptionScheduleRetrieve = Stripe.SubscriptionScheduleRetrieveParams;
export type SubscriptionScheduleUpdate = Stripe.SubscriptionScheduleUpdateParams;
export type SubscriptionScheduleRelease = Stripe.SubscriptionScheduleReleaseParams;
export type SubscriptionScheduleCancel = Stripe.SubscriptionScheduleCancelParams;
export type InvoiceList = Stripe.InvoiceListParams;
export type InvoiceRetrieve = Stripe.InvoiceRetrieveParams;
export type InvoiceCreatePreview = Stripe.InvoiceCreatePreviewParams;
export type EventList = Stripe.EventListParams;
export type EventRetrieve = Stripe.EventRetrieveParams;
export type CheckoutSessionCreate = Stripe.Checkout.SessionCreateParams;
export type CheckoutSessionList = Stripe.Checkout.SessionListParams;
export type CheckoutSessionRetrieve = Stripe.Checkout.SessionRetrieveParams;
export type CheckoutSessionExpire = Stripe.Checkout.SessionExpireParams;
export type BillingPortalSessionCreate = Stripe.BillingPortal.SessionCreateParams;
export type BillingPortalConfigurationCreate = Stripe.BillingPortal.ConfigurationCreateParams;
export type BillingPortalConfigurationList = Stripe.BillingPortal.ConfigurationListParams;
export type BillingPortalConfigurationRetrieve = Stripe.BillingPortal.ConfigurationRetrieveParams;
export type BillingPortalConfigurationUpdate = Stripe.BillingPortal.ConfigurationUpdateParams;
export type MeterCreate = Stripe.Billing.MeterCreateParams;
export type MeterList = Stripe.Billing.MeterListParams;
export type MeterListEventSummaries = Stripe.Billing.MeterListEventSummariesParams;
export type MeterEventCreate = Stripe.Billing.MeterEventCreateParams;
