// Where outbound webhooks may go. In production: https only, and never to a private, loopback,
// link-local or otherwise non-public address, checked after DNS resolution at every delivery
// (a name that resolved to a public address yesterday may not today). The caller connects to
// the address checked here, not to a second resolution (no DNS rebinding between check and use).
// In development and test, http and loopback receivers are allowed.
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { config } from "../platform/config.server";
import { AppError } from "../platform/errors.server";

const blocked = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], // "this" network
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const)
  blocked.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
  ["64:ff9b::", 96], // NAT64: embeds an IPv4 address
] as const)
  blocked.addSubnet(net, bits, "ipv6");

const isPublic = (address: string, family: 4 | 6) => {
  // IPv4-mapped IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it carries.
  const mapped = family === 6 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address) : null;
  if (mapped) return !blocked.check(mapped[1], "ipv4");
  return !blocked.check(address, family === 4 ? "ipv4" : "ipv6");
};

export class UnsafeWebhookUrl extends AppError {
  constructor(reason: string) {
    super("VALIDATION_FAILED", `The webhook URL is not allowed: ${reason}.`, { issues: [{ path: "url", message: reason }] });
  }
}

export type DeliveryTarget = { url: URL; address: string; family: 4 | 6 };

/** Checks the URL's form (at creation and at each delivery). */
export function checkUrlShape(raw: string, production = config.NODE_ENV === "production"): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeWebhookUrl("it is not a URL");
  }
  if (url.username || url.password) throw new UnsafeWebhookUrl("credentials in the URL are not allowed");
  if (production ? url.protocol !== "https:" : url.protocol !== "https:" && url.protocol !== "http:")
    throw new UnsafeWebhookUrl(production ? "use an https:// URL" : "use an http:// or https:// URL");
  return url;
}

/** Resolves the host once and answers the address to connect to, or throws UnsafeWebhookUrl. */
export async function resolveDeliveryTarget(raw: string, production = config.NODE_ENV === "production"): Promise<DeliveryTarget> {
  const url = checkUrlShape(raw, production);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const literal = isIP(host);
  let addresses: { address: string; family: number }[];
  try {
    addresses = literal ? [{ address: host, family: literal }] : await lookup(host, { all: true, verbatim: true });
  } catch {
    throw new UnsafeWebhookUrl(`${host} does not resolve`);
  }
  if (addresses.length === 0) throw new UnsafeWebhookUrl(`${host} does not resolve`);
  // Every address must be public: otherwise a second resolution could pick the private one.
  if (production && addresses.some((a) => !isPublic(a.address, a.family as 4 | 6)))
    throw new UnsafeWebhookUrl(`${host} resolves to a private, loopback or link-local address`);
  const first = addresses[0];
  return { url, address: first.address, family: first.family as 4 | 6 };
}
