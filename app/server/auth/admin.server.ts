// Platform admins only: the role is checked on the server for every admin route and page.

import { AppError } from "../platform/errors.server";
import { requireSession, requireUser } from "./session.server";

export async function requireAdmin(request: Request) {
  const session = await requireSession(request);
  if (!session.isAdmin) throw new AppError("FORBIDDEN", "Platform admins only.");
  return session;
}

export async function requireAdminPage(request: Request) {
  const user = await requireUser(request);
  if (!user.isAdmin) throw new Response("Not found", { status: 404 });
  return user;
}
