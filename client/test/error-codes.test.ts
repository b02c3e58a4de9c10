// The client's list of documented error codes is the server's, exactly: a code added to the API
// (as PREVIEW_EXPIRED was) must reach the client's types too.
import { expect, test } from "bun:test";
import { ERROR_STATUS } from "../../app/server/platform/errors.server";
import { API_ERROR_CODES } from "../src/types";

test("the client knows every error code the server answers, and no other", () => {
  expect<string[]>([...API_ERROR_CODES].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
});
