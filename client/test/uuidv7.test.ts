import { expect, test } from "bun:test";
import { uuidv7, uuidv7Generator } from "../src/uuidv7";

const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("a UUIDv7 carries its millisecond timestamp, version 7 and the RFC variant", () => {
  const at = Date.UTC(2026, 10, 25, 12, 0, 0, 123);
  const id = uuidv7Generator(() => at)();
  expect(id).toMatch(SHAPE);
  expect(Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(at);
});

test("ids made in the same millisecond are distinct and increasing", () => {
  const at = Date.now();
  const next = uuidv7Generator(() => at);
  const ids = Array.from({ length: 5000 }, next);
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(ids);
  for (const id of ids) expect(id).toMatch(SHAPE);
});

test("the default maker follows the clock", () => {
  const before = Date.now();
  const ms = Number.parseInt(uuidv7().replace(/-/g, "").slice(0, 12), 16);
  expect(ms).toBeGreaterThanOrEqual(before);
  expect(ms).toBeLessThanOrEqual(Date.now() + 1);
});
