/**
 * Prisma reads its URLs from environment variables, but a URL with a password in a Swarm
 * service's env is readable by anyone who can `docker service inspect`. Instead the URLs are
 * Swarm secrets (files under /run/secrets), and this preload, started through
 * `NODE_OPTIONS=--require ...`, copies each `<NAME>_FILE` into `<NAME>` before the app (or
 * `prisma migrate deploy`) starts. It needs no knowledge of the image's command.
 */
export const SECRETS_ENV_PRELOAD_PATH = "/run/advwell/secrets-env.js";

export const SECRETS_ENV_PRELOAD = `"use strict";
// Rendered by the AdvWell plan. For every NAME_FILE variable, set NAME to the file's contents.
const fs = require("fs");
for (const [key, file] of Object.entries(process.env)) {
  if (!key.endsWith("_FILE") || !file) continue;
  const name = key.slice(0, -"_FILE".length);
  if (process.env[name] !== undefined) continue;
  try {
    process.env[name] = fs.readFileSync(file, "utf8").replace(/\\r?\\n$/, "");
  } catch (error) {
    process.stderr.write("secrets-env: cannot read " + key + "=" + file + ": " + error.message + "\\n");
    process.exit(78);
  }
}
`;
