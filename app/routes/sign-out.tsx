import { redirect } from "@remix-run/node";
import { signOut } from "~/server/auth.server";
import { portalAction } from "~/server/portal.server";

export const action = portalAction(async ({ request }) => redirect("/", { headers: { "Set-Cookie": await signOut(request) } }));

export const loader = () => redirect("/");
