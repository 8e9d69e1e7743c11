/**
 * The app's own environment (the backend's and the frontend's variables beyond what the stack
 * sets): plain variables as `NAME=value` list entries, secret ones as an env file held in one
 * `pulumi config set --secret` value. The seed deployed with `set -a && source .env`, so the live
 * services carry variables (signing keys, mail, storage) the stack must keep delivering.
 *
 * Pure: settings.ts validates the keys with it, the preflight compares a live service's
 * environment against it, and scripts/import-env.ts decides secret or plain with it.
 */
import type { ConfigKey } from "./keys";

/** The services whose environment the operator configures. */
export const APP_ENV_SERVICES = ["backend", "frontend"] as const;
export type AppEnvService = (typeof APP_ENV_SERVICES)[number];

/** The config keys of one service's environment. */
export const APP_ENV_KEYS: { readonly [S in AppEnvService]: { readonly plain: ConfigKey; readonly secret: ConfigKey } } = {
  backend: { plain: "backendEnv", secret: "backendSecretEnv" },
  frontend: { plain: "frontendEnv", secret: "frontendSecretEnv" },
};

/**
 * Names the stack sets itself (components/advwell.ts), per service. Any `*_FILE` name is the
 * stack's too: containers/backend/secrets-env.js turns NAME_FILE into NAME, which is how the
 * secret variables and the database URLs arrive.
 */
export const STACK_OWNED_ENV: { readonly [S in AppEnvService]: readonly string[] } = {
  backend: ["DATABASE_URL", "DIRECT_DATABASE_URL", "DATABASE_REPLICA_URL", "NODE_ENV", "PORT", "NODE_OPTIONS"],
  frontend: ["API_URL"],
};

/** POSIX shell names (what `set -a && source .env` and Docker's --env-file accept). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * Names that hold credentials by convention. scripts/import-env.ts puts a live variable whose name
 * matches (or whose value is a URL with a password) into the secret key, and the plan refuses
 * such a variable in a plain key: a plain key's value is printed by `npm run plan` and stored in
 * the service spec, where `docker service inspect` shows it.
 */
export const CREDENTIAL_NAME = /(PASS(WORD|WD)?|SECRET|TOKEN|CREDENTIAL|PRIVATE|(^|_)KEY(S)?($|_)|APIKEY|SALT|(^|_)DSN$|(^|_)AUTH($|_))/i;

/** A URL carrying a password (scheme://user:password@host). */
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:[^\s/@]+@/i;

/** Whether a variable holds a credential, by its name or a password inside a URL in its value. */
export function isCredential(name: string, value: string): boolean {
  return CREDENTIAL_NAME.test(name) || URL_WITH_PASSWORD.test(value);
}

/** Why the stack refuses a name for a service, or undefined when the name is the app's to set. */
export function stackOwnedReason(service: AppEnvService, name: string): string | undefined {
  if (STACK_OWNED_ENV[service].includes(name)) return `${name} is set by the stack`;
  if (name.endsWith("_FILE")) return `${name} is a *_FILE name, which the stack uses to deliver secrets`;
  if (name.startsWith("ADVWELL_")) return `${name} starts with ADVWELL_, which the stack reserves`;
  return undefined;
}

export interface EnvProblem {
  /** The entry's position (list index, or 1-based line of the env file). */
  readonly at: number;
  /** The variable's name when one could be read (never its value). */
  readonly name?: string;
  readonly problem: string;
}

export interface ParsedEnv {
  readonly vars: ReadonlyMap<string, string>;
  readonly problems: readonly EnvProblem[];
}

function check(service: AppEnvService, name: string, at: number, seen: Map<string, string>, problems: EnvProblem[]): boolean {
  if (!ENV_NAME.test(name)) {
    problems.push({ at, problem: "a name that is not a shell variable name (letters, digits and _, not starting with a digit)" });
    return false;
  }
  const owned = stackOwnedReason(service, name);
  if (owned) {
    problems.push({ at, name, problem: owned });
    return false;
  }
  if (seen.has(name)) {
    problems.push({ at, name, problem: `${name} is given twice` });
    return false;
  }
  return true;
}

/** The plain key's entries, `NAME=value` each (the value may be empty, may not span lines). */
export function parsePlainEnv(service: AppEnvService, entries: readonly string[]): ParsedEnv {
  const vars = new Map<string, string>();
  const problems: EnvProblem[] = [];
  entries.forEach((entry, at) => {
    const eq = entry.indexOf("=");
    const name = entry.slice(0, Math.max(0, eq));
    const value = entry.slice(eq + 1);
    if (eq < 0) problems.push({ at, problem: "an entry without =" });
    else if (!check(service, name, at, vars, problems)) return;
    else if (/[\r\n\0]/.test(value)) problems.push({ at, name, problem: `${name}'s value has a line break or a NUL` });
    else if (isCredential(name, value)) problems.push({ at, name, problem: `${name} looks like a credential (by its name or a password in a URL): put it in ${APP_ENV_KEYS[service].secret}, set with --secret` });
    else vars.set(name, value);
  });
  return { vars, problems };
}

/**
 * The secret key's env file: `NAME=value` lines, blank lines and `#` comments skipped, values taken
 * literally up to the end of the line (no quotes, no expansion), as Docker's --env-file reads them
 * (docker/cli opts/envfile.go parseKeyValueFile). A line without `=` is refused: Docker would take
 * its value from the caller's environment, which a deploy does not have.
 */
export function parseSecretEnv(service: AppEnvService, text: string): ParsedEnv {
  const vars = new Map<string, string>();
  const problems: EnvProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) return;
    const at = index + 1;
    const eq = line.indexOf("=");
    const name = line.slice(0, Math.max(0, eq));
    const value = line.slice(eq + 1);
    if (eq < 0) problems.push({ at, problem: "a line without =" });
    else if (!check(service, name, at, vars, problems)) return;
    else if (value.includes("\0")) problems.push({ at, name, problem: `${name}'s value has a NUL` });
    else vars.set(name, value);
  });
  return { vars, problems };
}

/** The env-file text for a set of variables (what scripts/import-env.ts writes; parseSecretEnv reads it back). */
export function envFileText(vars: ReadonlyMap<string, string> | Iterable<[string, string]>): string {
  return [...vars].map(([k, v]) => `${k}=${v}\n`).join("");
}

/** A secret variable's Swarm secret file name (under /run/secrets) and the *_FILE variable that points at it. */
export function secretEnvFile(name: string): { readonly fileName: string; readonly path: string; readonly fileVar: string } {
  const fileName = `env-${name}`;
  return { fileName, path: `/run/secrets/${fileName}`, fileVar: `${name}_FILE` };
}
