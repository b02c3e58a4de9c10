// Where outbound webhooks may go in production: every address is judged after resolution, and an
// IPv6 address that carries an IPv4 one (mapped, translated, compatible, 6to4, NAT64) is judged by it.
import { describe, expect, test } from "bun:test";
import { isPublicAddress, resolveDeliveryTarget } from "./url-safety.server";

const refused = async (url: string) => {
  try {
    await resolveDeliveryTarget(url, true);
    return false;
  } catch (err) {
    return (err as Error).message;
  }
};

describe("where webhooks may go in production", () => {
  test("private, loopback, link-local and plain-http targets are refused, after DNS resolution", async () => {
    for (const url of [
      "https://127.0.0.1/hook",
      "https://10.1.2.3/hook",
      "https://192.168.0.10/hook",
      "https://172.20.0.1/hook",
      "https://169.254.169.254/latest/meta-data",
      "https://[::1]/hook",
      "https://[fe80::1]/hook",
      "https://[::ffff:10.0.0.1]/hook",
      "https://localhost/hook", // a name: judged by the address it resolves to
    ])
      expect(await refused(url)).toContain("private, loopback or link-local");
    expect(await refused("http://93.184.215.14/hook")).toContain("https");
  });

  test("IPv6 spellings of private IPv4 addresses, and private IPv6 ranges, are refused", async () => {
    for (const url of [
      "https://[::127.0.0.1]/", // IPv4-compatible
      "https://[::ffff:127.0.0.1]/", // IPv4-mapped
      "https://[::ffff:7f00:1]/",
      "https://[::ffff:169.254.169.254]/",
      "https://[::ffff:0:7f00:1]/", // IPv4-translated
      "https://[::ffff:0:a9fe:a9fe]/",
      "https://[2002:a9fe:a9fe::]/", // 6to4 carrying 169.254.169.254
      "https://[2002:7f00:1::1]/",
      "https://[64:ff9b::a9fe:a9fe]/", // NAT64
      "https://[64:ff9b:1::a9fe:a9fe]/", // local-use NAT64
      "https://[fec0::1]/", // site-local
      "https://[fd00::1]/", // unique local
      "https://[ff02::1]/", // multicast
      "https://[2001:db8::1]/", // documentation
      "https://[3fff:0:1::1]/", // documentation (RFC 9637)
      "https://[::]/",
    ])
      expect([url, await refused(url)]).toEqual([url, expect.stringContaining("private, loopback or link-local")]);
  });

  test("addresses as a resolver writes them are judged the same way", () => {
    for (const address of ["::ffff:127.0.0.1", "::127.0.0.1", "::ffff:0:127.0.0.1", "64:ff9b::169.254.169.254", "FE80::1%eth0"])
      expect([address, isPublicAddress(address, 6)]).toEqual([address, false]);
    for (const address of [
      "0.1.2.3",
      "100.64.0.1",
      "192.0.0.8",
      "192.0.2.10",
      "192.88.99.1",
      "198.19.255.255",
      "198.51.100.7",
      "203.0.113.200",
      "224.0.0.1",
      "255.255.255.255",
    ])
      expect([address, isPublicAddress(address, 4)]).toEqual([address, false]);
    for (const junk of ["", "1.2.3", "1.2.3.256", "1::2::3", "12345::", "::ffff:1.2.3"])
      expect([junk, isPublicAddress(junk, junk.includes(":") ? 6 : 4)]).toEqual([junk, false]);
    for (const address of ["::ffff:93.184.216.34", "2002:5db8:d822::1"]) expect([address, isPublicAddress(address, 6)]).toEqual([address, true]);
  });

  test("public addresses are accepted and pinned", async () => {
    expect((await resolveDeliveryTarget("https://93.184.215.14/hook", true)).address).toBe("93.184.215.14");
    expect((await resolveDeliveryTarget("https://93.184.216.34/hook", true)).address).toBe("93.184.216.34");
    expect((await resolveDeliveryTarget("https://[2606:2800:220:1::1]/hook", true)).address).toBe("2606:2800:220:1::1");
  });

  test("in development and test, a loopback http receiver is allowed", async () => {
    expect((await resolveDeliveryTarget("http://127.0.0.1:8080/hook")).address).toBe("127.0.0.1");
  });
});
