// Where outbound webhooks may go. In production: https only, and never to a private, loopback,
// link-local or otherwise non-public address, checked after DNS resolution at every delivery
// (a name that resolved to a public address yesterday may not today). The caller connects to
// the address checked here, not to a second resolution (no DNS rebinding between check and use).
// In development and test, http and loopback receivers are allowed.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { config } from "../platform/config.server";
import { AppError } from "../platform/errors.server";

// Addresses are compared as integers: IPv4 as a 32-bit number, IPv6 as a 128-bit bigint, so a
// prefix test is one shift whatever spelling the address came in (::ffff:7f00:1, ::ffff:127.0.0.1).
const parseIPv4 = (text: string): number | null => {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    n = n * 256 + Number(part);
  }
  return n;
};

const parseIPv6 = (raw: string): bigint | null => {
  let text = raw.toLowerCase().replace(/%.*$/, ""); // a zone id says which interface, not where
  if (text.includes(".")) {
    // A dotted IPv4 tail (::ffff:1.2.3.4) is the last two hextets written another way.
    const cut = text.lastIndexOf(":");
    const v4 = parseIPv4(text.slice(cut + 1));
    if (v4 === null) return null;
    text = `${text.slice(0, cut + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const groups = halves.length === 2 ? [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail] : head;
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.reduce((n, g) => (n << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
};

const v4Net = (net: string, bits: number) => ({ net: parseIPv4(net) as number, bits });
const refusedV4 = [
  v4Net("0.0.0.0", 8), // "this" network
  v4Net("10.0.0.0", 8),
  v4Net("100.64.0.0", 10), // carrier-grade NAT
  v4Net("127.0.0.0", 8),
  v4Net("169.254.0.0", 16), // link-local, cloud metadata
  v4Net("172.16.0.0", 12),
  v4Net("192.0.0.0", 24),
  v4Net("192.0.2.0", 24), // documentation (TEST-NET-1)
  v4Net("192.88.99.0", 24), // 6to4 relay anycast (deprecated)
  v4Net("192.168.0.0", 16),
  v4Net("198.18.0.0", 15),
  v4Net("198.51.100.0", 24), // documentation (TEST-NET-2)
  v4Net("203.0.113.0", 24), // documentation (TEST-NET-3)
  v4Net("224.0.0.0", 4), // multicast
  v4Net("240.0.0.0", 4), // reserved, and 255.255.255.255 broadcast
];
const publicV4 = (n: number) => !refusedV4.some(({ net, bits }) => n >>> (32 - bits) === net >>> (32 - bits));

const v6Net = (net: string, bits: number) => ({ net: parseIPv6(net) as bigint, bits: BigInt(bits) });
const inV6 = (n: bigint, { net, bits }: { net: bigint; bits: bigint }) => n >> (128n - bits) === net >> (128n - bits);
const refusedV6 = [
  v6Net("::", 128), // unspecified
  v6Net("::1", 128), // loopback
  v6Net("fe80::", 10), // link-local
  v6Net("fec0::", 10), // site-local: deprecated, but still private where it is used
  v6Net("fc00::", 7), // unique local
  v6Net("ff00::", 8), // multicast
  v6Net("2001:db8::", 32), // documentation
  v6Net("3fff::", 20), // documentation (RFC 9637)
  v6Net("2001::", 32), // Teredo: tunnels to an IPv4 address
  // NAT64 (the well-known prefix and the local-use one): a gateway forwards to the IPv4 address
  // inside, and a local-use prefix may put it anywhere, so these are refused whatever they carry.
  v6Net("64:ff9b::", 96),
  v6Net("64:ff9b:1::", 48),
];
// Ranges that carry an IPv4 address, judged as that address: [range, bits to shift it down].
const carriesV4 = [
  [v6Net("::", 96), 0n], // IPv4-compatible (deprecated)
  [v6Net("::ffff:0:0", 96), 0n], // IPv4-mapped
  [v6Net("::ffff:0:0:0", 96), 0n], // IPv4-translated
  [v6Net("2002::", 16), 80n], // 6to4: the IPv4 address is bits 16 to 48
] as const;
const publicV6 = (n: bigint) => {
  if (refusedV6.some((range) => inV6(n, range))) return false;
  const carrier = carriesV4.find(([range]) => inV6(n, range));
  return carrier ? publicV4(Number((n >> carrier[1]) & 0xffffffffn)) : true;
};

/** True when the address may be reached from production; anything unparsable is refused. */
export const isPublicAddress = (address: string, family: 4 | 6) => {
  if (family === 4) {
    const n = parseIPv4(address);
    return n !== null && publicV4(n);
  }
  const n = parseIPv6(address);
  return n !== null && publicV6(n);
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
  if (production && addresses.some((a) => !isPublicAddress(a.address, a.family as 4 | 6)))
    throw new UnsafeWebhookUrl(`${host} resolves to a private, loopback or link-local address`);
  const first = addresses[0];
  return { url, address: first.address, family: first.family as 4 | 6 };
}
