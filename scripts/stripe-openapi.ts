// `bun run stripe:openapi <full-spec.json> [out-dir] [--commit <sha>]`: cuts from Stripe's full
// OpenAPI document (github.com/stripe/openapi, `openapi/spec3.json`, MIT) the subset for the
// operations the local Stripe serves (stripe-emulator/contract.ts): their paths and every
// component schema they reach, pretty-printed, with a README naming the source and its license.
// The contract test (stripe-emulator/contract.test.ts) reads it from the places named in
// stripe-emulator/openapi.ts; `out-dir` defaults to the last of them, `.data/stripe-openapi/`.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Stripe from "stripe";
import { openapiSubset, SUBSET_PLACES } from "../stripe-emulator/openapi";

const args = process.argv.slice(2);
const commitAt = args.indexOf("--commit");
const commit = commitAt >= 0 ? args.splice(commitAt, 2)[1] : "unknown";
const [source, outArg] = args;
if (!source) {
  console.error("usage: bun run stripe:openapi <path-to-spec3.json> [out-dir] [--commit <sha of stripe/openapi>]");
  process.exit(2);
}
const out = outArg ?? join(SUBSET_PLACES.at(-1)!, "..");
const full = JSON.parse(readFileSync(source, "utf8"));
const { doc, missing } = openapiSubset(full);
const version = String(full.info?.version ?? "unknown");
mkdirSync(out, { recursive: true });
const text = `${JSON.stringify(doc, null, 2)}\n`;
writeFileSync(join(out, "spec3.subset.json"), text);
writeFileSync(
  join(out, "README.md"),
  `# Stripe's OpenAPI document: the subset the local Stripe serves

\`spec3.subset.json\` is cut from \`openapi/spec3.json\` of https://github.com/stripe/openapi
(commit \`${commit}\`, API version \`${version}\`) by \`bun run stripe:openapi\`: the
${Object.keys(doc.paths).length} paths of the operations in \`stripe-emulator/contract.ts\` and the
${Object.keys(doc.components.schemas).length} component schemas they reach; an expandable field's
object outside those operations' resources is left as "an object" (\`x-pruned\`).

The source is published by Stripe, Inc. under the MIT License:

    The MIT License

    Copyright (c) 2011- Stripe, Inc. (https://stripe.com)

    Permission is hereby granted, free of charge, to any person obtaining a copy
    of this software and associated documentation files (the "Software"), to deal
    in the Software without restriction, including without limitation the rights
    to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
    copies of the Software, and to permit persons to whom the Software is
    furnished to do so, subject to the following conditions:

    The above copyright notice and this permission notice shall be included in
    all copies or substantial portions of the Software.

    THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
    IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
    FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
    AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
    LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
    OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
    THE SOFTWARE.
`,
);
console.log(
  `${join(out, "spec3.subset.json")}: ${Object.keys(doc.paths).length} paths, ${Object.keys(doc.components.schemas).length} schemas, ${Math.round(text.length / 1024)} KB`,
);
if (version !== Stripe.API_VERSION) console.warn(`warning: the document is of API version ${version}; the stripe package pins ${Stripe.API_VERSION}`);
if (missing.length > 0) console.warn(`warning: the document lacks ${missing.length} operation(s): ${missing.join(", ")}`);
