/**
 * Jest's TypeScript transform: @swc/core with the options the plan command's build uses
 * (scripts/build.js), so tests run the code as the command and ts-node run it. It only strips
 * types: `tsc --noEmit`, first in `npm test`, is the type check. `jest.mock(...)` calls are hoisted
 * above the imports as ts-jest and babel-jest hoist them.
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { SWC_OPTIONS } = require("../build.js");

let swc;
let version;

/** This file, the build options and the compiler's version: a change to any of them invalidates jest's cache. */
function transformVersion() {
  if (version === undefined) {
    const swcPackage = fs.readFileSync(require.resolve("@swc/core/package.json"), "utf8");
    version = crypto
      .createHash("sha256")
      .update(fs.readFileSync(__filename))
      .update(fs.readFileSync(path.join(__dirname, "..", "build.js")))
      .update(JSON.parse(swcPackage).version)
      .digest("hex");
  }
  return version;
}

module.exports = {
  process(source, filename) {
    swc ??= require("@swc/core");
    const { code, map } = swc.transformSync(source, {
      ...SWC_OPTIONS,
      filename,
      sourceMaps: true,
      inlineSourcesContent: true,
      jsc: { ...SWC_OPTIONS.jsc, transform: { ...SWC_OPTIONS.jsc.transform, hidden: { jest: true } } },
    });
    return { code, map };
  },
  getCacheKey(source, filename, options) {
    return crypto.createHash("sha256").update(transformVersion()).update("\0").update(filename).update("\0").update(source).update("\0").update(options.configString).digest("hex");
  },
};
