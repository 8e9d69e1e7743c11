/**
 * Takeover step 0 (docs/cutover.md): the live services' environment and image tags, turned into
 * the stack's config keys. Pure: scripts/import-env.ts reads the services through the Docker API
 * and writes what this returns. Secret values go only into files (mode 0600) that the printed
 * `pulumi config set --secret ... < file` lines read from stdin: never into argv, never printed.
 */
import { APP_ENV_KEYS, AppEnvService, envFileText, ENV_NAME, isCredential, stackOwnedReason } from "../../model/config/appEnv";

/** What `docker service inspect` says about a service, as far as the import needs it. */
export interface LiveService {
  readonly name: string;
  /** Spec.TaskTemplate.ContainerSpec.Image (a digest the deploy resolved is kept: it pins the tag). */
  readonly image: string;
  /** Spec.TaskTemplate.ContainerSpec.Env, NAME=value each. */
  readonly env: readonly string[];
  /** Volume mounts: source -> target. */
  readonly volumes: readonly { readonly source: string; readonly target: string }[];
}

export interface ImportResult {
  /** The commands to run (and comments saying what was decided and why), in order. */
  readonly lines: string[];
  /** Secret files to write: name -> content (each read by one `pulumi config set --secret ... < name`). */
  readonly files: Record<string, string>;
}

/** Single-quoted for a POSIX shell. */
export const shellQuote = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

const IMAGE_KEYS: Record<AppEnvService, string> = { backend: "backendImage", frontend: "frontendImage" };
/** Where the official postgres image keeps PGDATA (the seed's volume mount). */
const PGDATA = "/var/lib/postgresql/data";

function splitEnv(entry: string): [string, string] {
  const eq = entry.indexOf("=");
  return eq < 0 ? [entry, ""] : [entry.slice(0, eq), entry.slice(eq + 1)];
}

function importApp(service: AppEnvService, live: LiveService, dir: string, out: ImportResult): void {
  const keys = APP_ENV_KEYS[service];
  out.lines.push(`# ${live.name} -> the ${service}`);
  out.lines.push(`pulumi config set advwell:${IMAGE_KEYS[service]} ${shellQuote(live.image)}`);
  const plain: [string, string][] = [];
  const secret: [string, string][] = [];
  const owned: string[] = [];
  const invalid: string[] = [];
  for (const entry of live.env) {
    const [name, value] = splitEnv(entry);
    if (!ENV_NAME.test(name)) invalid.push(name);
    else if (stackOwnedReason(service, name)) owned.push(name);
    else if (isCredential(name, value)) secret.push([name, value]);
    else plain.push([name, value]);
  }
  if (owned.length > 0) out.lines.push(`# not imported, the stack sets them itself: ${owned.join(", ")}`);
  if (invalid.length > 0) out.lines.push(`# not imported, not shell variable names: ${invalid.map((n) => JSON.stringify(n)).join(", ")}`);
  if (plain.length > 0) out.lines.push(`# plain (no credential by name, no password in a URL): ${plain.map(([n]) => n).join(", ")}`);
  plain.forEach(([name, value], i) => out.lines.push(`pulumi config set --path 'advwell:${keys.plain}[${i}]' ${shellQuote(`${name}=${value}`)}`));
  if (secret.length > 0) {
    const file = `${dir}/${keys.secret}.env`;
    out.files[file] = envFileText(secret);
    out.lines.push(`# secret (a credential's name: PASSWORD, SECRET, TOKEN, KEY, ...; or a password in a URL): ${secret.map(([n]) => n).join(", ")}`);
    out.lines.push(`pulumi config set --secret advwell:${keys.secret} < ${file}`);
  }
}

function importPostgres(live: LiveService, dir: string, out: ImportResult): void {
  out.lines.push(`# ${live.name} -> the adopted PostgreSQL`);
  const data = live.volumes.find((v) => v.target === PGDATA);
  if (data) out.lines.push(`pulumi config set advwell:adoptPostgresVolume ${shellQuote(data.source)}`);
  else out.lines.push(`# no named volume at ${PGDATA}: nothing to adopt (set advwell:adoptPostgresVolume by hand)`);
  const env = Object.fromEntries(live.env.map(splitEnv));
  if (env.POSTGRES_USER && env.POSTGRES_USER !== "postgres") out.lines.push(`# POSTGRES_USER is ${env.POSTGRES_USER}: the stack's superuser is postgres; the takeover needs a cluster whose superuser is postgres`);
  if (env.POSTGRES_DB) out.lines.push(`pulumi config set advwell:databaseName ${shellQuote(env.POSTGRES_DB)}`);
  if (env.POSTGRES_PASSWORD !== undefined) {
    const file = `${dir}/postgresSuperuserPassword`;
    out.files[file] = env.POSTGRES_PASSWORD;
    out.lines.push(`# the superuser's password, from POSTGRES_PASSWORD in the service's env`);
    out.lines.push(`pulumi config set --secret advwell:postgresSuperuserPassword < ${file}`);
  } else {
    out.lines.push(`# no POSTGRES_PASSWORD in the service's env (POSTGRES_PASSWORD_FILE?): set advwell:postgresSuperuserPassword with --secret from the old .env`);
  }
}

/** The commands for the old stack's backend, frontend and postgres services (any of them may be missing). */
export function importCommands(live: { readonly backend?: LiveService; readonly frontend?: LiveService; readonly postgres?: LiveService }, dir: string): ImportResult {
  const out: ImportResult = { lines: [], files: {} };
  if (live.backend) importApp("backend", live.backend, dir, out);
  if (live.frontend) importApp("frontend", live.frontend, dir, out);
  if (live.postgres) importPostgres(live.postgres, dir, out);
  return out;
}
