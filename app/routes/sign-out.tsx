import { type ActionFunctionArgs, redirect } from "@remix-run/node";
import { signOut } from "~/server/auth/session.server";
import { portalAction } from "~/server/http/portal-action.server";

export const action = (args: ActionFunctionArgs) =>
  portalAction(args, async ({ request }) => redirect("/", { headers: { "Set-Cookie": await signOut(request) } }), {}); // members too

export const loader = () => redirect("/");
