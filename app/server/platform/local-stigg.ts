// The API key shared by the local Stigg and the app when STIGG_API_KEY is unset and `npm start`
// runs the local Stigg (STIGG_API_URL points at it). Local only. No imports, so the run script
// and the local Stigg can use it before the app's configuration exists.
export const LOCAL_STIGG_API_KEY = "server-local-stigg-key";
