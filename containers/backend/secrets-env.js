"use strict";
// AdvWell (containers/backend/secrets-env.js), preloaded with NODE_OPTIONS=--require: for every
// NAME_FILE variable, set NAME to the contents of that file (a Swarm secret), before the app starts.
const fs = require("fs");
for (const [key, file] of Object.entries(process.env)) {
  if (!key.endsWith("_FILE") || !file) continue;
  const name = key.slice(0, -"_FILE".length);
  if (process.env[name] !== undefined) continue;
  try {
    process.env[name] = fs.readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    process.stderr.write("secrets-env: cannot read " + key + "=" + file + ": " + error.message + "\n");
    process.exit(78);
  }
}
