// The webhook signing secret shared by the local Stripe and the app when STRIPE_SECRET_KEY is
// unset. Local only: a real deployment sets STRIPE_WEBHOOK_SECRET. No imports, so the run
// script can use it before the app's configuration exists.
export const LOCAL_WEBHOOK_SECRET = "whsec_local-stripe-only";
