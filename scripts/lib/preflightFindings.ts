/**
 * The preflight's judgement (scripts/preflight.ts): what the Docker API said about the server
 * (an Inspection, gathered read-only by scripts/lib/preflightInspect.ts) against what the stack's
 * plan needs, turned into findings that say what to fix and, where a command fixes it, the exact
 * command. Pure, so every rule is unit-tested without a daemon (test/unit/preflight.test.ts).
 */
import { APP_ENV_KEYS, APP_ENV_SERVICES, AppEnvService, stackOwnedReason } from "../../model/config/appEnv";
import type { Settings } from "../../model/config/settings";
import type { Plan } from "../../model/plan/resolve";

export interface LiveNode {
  readonly id: string;
  readonly hostname: string;
  readonly role: "manager" | "worker";
  readonly state: string;
  readonly availability: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly cpus: number;
  readonly memoryMiB: number;
  /** Status.Addr (and the manager's advertise address). */
  readonly addresses: readonly string[];
}

export interface LiveServiceInfo {
  readonly name: string;
  readonly image: string;
  readonly env: readonly string[];
  /** Published ports: the port on the host, and whether host or ingress mode. */
  readonly ports: readonly { readonly published: number; readonly mode: string }[];
  readonly volumes: readonly { readonly source: string; readonly target: string }[];
}

export interface Inspection {
  readonly swarm: { readonly state: string; readonly controlAvailable: boolean };
  readonly nodes: readonly LiveNode[];
  readonly services: readonly LiveServiceInfo[];
  /** Free and total space of the manager's Docker root directory (volumes and images live there). */
  readonly disk?: { readonly freeMiB: number; readonly totalMiB: number } | { readonly error: string };
  /** The volume to adopt, and what a one-shot task on the live PostgreSQL's network read from it. */
  readonly volume?: {
    readonly name: string;
    readonly exists: boolean;
    readonly sizeMiB?: number;
    readonly pgVersion?: string;
    /** The live PostgreSQL's image and its C library, as the task saw it. */
    readonly liveImage?: string;
    readonly liveLibc?: "musl" | "glibc";
    /** The superuser's login over TCP with the configured password (never the password). */
    readonly login?: { readonly ok: boolean; readonly message: string };
    /** Databases: name, provider (c libc, i icu) and LC_COLLATE. */
    readonly collations?: readonly { readonly database: string; readonly provider: string; readonly collate: string }[];
    readonly error?: string;
  };
  readonly images: readonly { readonly ref: string; readonly status: "present" | "pullable" | "missing"; readonly message?: string }[];
  readonly dns: readonly { readonly host: string; readonly addresses: readonly string[]; readonly error?: string }[];
  /** The addresses the hosts must resolve to: the docker:host's and the managers'. */
  readonly serverAddresses: readonly string[];
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
  /** Commands that fix it, when a command does. */
  readonly fix?: readonly string[];
}

export interface PreflightOptions {
  /** Live services the cutover stops in its window (their ports and their volume are expected). */
  readonly replacing: readonly string[];
  /** The old stack's namespace: <from>_backend, <from>_frontend hold the environment to carry over. */
  readonly from: string;
  /** Whether a superuser password was given to try (the login check needs it). */
  readonly passwordGiven: boolean;
}

const PGDATA = "/var/lib/postgresql/data";
const REQUIRED_FREE_MIB = 2048;

const ok = (name: string, message: string): Check => ({ name, ok: true, message });
const fail = (name: string, message: string, fix?: string[]): Check => ({ name, ok: false, message, ...(fix ? { fix } : {}) });

/** The C library an image is built on, from its tag (official images tag Alpine builds `-alpine`). */
export function imageLibc(image: string): "musl" | "glibc" {
  return /alpine/i.test(image.split("@")[0].split("/").pop() ?? "") ? "musl" : "glibc";
}

function checkSwarm(i: Inspection): Check {
  if (i.swarm.state === "active" && i.swarm.controlAvailable) return ok("swarm", "the docker:host is an active Swarm manager");
  return fail("swarm", `the docker:host is not an active Swarm manager (Swarm state ${i.swarm.state}, manager ${i.swarm.controlAvailable})`, ["docker swarm init --advertise-addr <the server's address>"]);
}

function checkNodes(i: Inspection, plan: Plan): Check[] {
  const checks: Check[] = [];
  const missingLabels: string[] = [];
  for (const planned of plan.nodes) {
    const live = i.nodes.find((n) => n.hostname === planned.name);
    if (!live) {
      checks.push(fail(`node ${planned.name}`, `advwell:nodes names ${planned.name}, which is not a Swarm node (nodes: ${i.nodes.map((n) => n.hostname).join(", ") || "none"}); advwell:nodes entries are node hostnames`));
      continue;
    }
    const problems: string[] = [];
    if (live.role !== planned.role) problems.push(`is a ${live.role}, the plan needs a ${planned.role}`);
    if (live.state !== "ready") problems.push(`is ${live.state}`);
    if (live.availability !== "active") problems.push(`has availability ${live.availability} (docker node update --availability active ${live.hostname})`);
    if (live.cpus < planned.cpus) problems.push(`has ${live.cpus} CPUs, advwell:nodes says ${planned.cpus}`);
    // The kernel keeps some memory for itself: MemTotal reads a little under the machine's size.
    if (live.memoryMiB < planned.memoryMiB * 0.9) problems.push(`has ${live.memoryMiB} MiB of memory, advwell:nodes says ${planned.memoryMiB}`);
    checks.push(problems.length === 0 ? ok(`node ${planned.name}`, `${planned.name} is a ready ${live.role} with ${live.cpus} CPUs and ${live.memoryMiB} MiB`) : fail(`node ${planned.name}`, `${planned.name} ${problems.join("; ")}`));
    const wanted = Object.entries(planned.labels).filter(([k, v]) => live.labels[k] !== v);
    if (wanted.length > 0) missingLabels.push(`docker node update ${wanted.map(([k, v]) => `--label-add ${k}=${v}`).join(" ")} ${live.hostname}`);
  }
  checks.push(
    missingLabels.length === 0
      ? ok("node labels", "every node has the labels the plan's placement needs")
      : fail("node labels", "nodes lack the labels the plan's placement constraints need (PostgreSQL would not be scheduled)", missingLabels),
  );
  return checks;
}

function checkPorts(i: Inspection, stackServices: ReadonlySet<string>, o: PreflightOptions): Check {
  const holders = i.services.filter((s) => !stackServices.has(s.name) && s.ports.some((p) => p.published === 80 || p.published === 443));
  const blocking = holders.filter((s) => !o.replacing.includes(s.name));
  const describe = (s: LiveServiceInfo) => `${s.name} (${s.ports.filter((p) => p.published === 80 || p.published === 443).map((p) => `${p.published}/${p.mode}`).join(", ")})`;
  if (blocking.length > 0) {
    return fail("ports 80 and 443", `held by ${blocking.map(describe).join(", ")}: the new Traefik publishes both in host mode and cannot start while they hold them; stop them in the window (docs/cutover.md step 1) and name them with --replacing`, blocking.map((s) => `docker service scale ${s.name}=0`));
  }
  return ok("ports 80 and 443", holders.length > 0 ? `held by ${holders.map(describe).join(", ")}, which the cutover stops (--replacing)` : "no other service publishes them");
}

function checkEnvironment(i: Inspection, settings: Settings, o: PreflightOptions): Check[] {
  const checks: Check[] = [];
  const imageKey: Record<AppEnvService, "backendImage" | "frontendImage"> = { backend: "backendImage", frontend: "frontendImage" };
  for (const service of APP_ENV_SERVICES) {
    const live = i.services.find((s) => s.name === `${o.from}_${service}`);
    if (!live) continue;
    const env = settings.appEnv[service];
    const known = new Set([...Object.keys(env.env), ...env.secretNames]);
    const names = live.env.map((e) => e.split("=")[0]);
    const homeless = names.filter((n) => !stackOwnedReason(service, n) && !known.has(n));
    const keys = APP_ENV_KEYS[service];
    if (homeless.length > 0 && env.secretUnread) {
      checks.push(fail(`${live.name} environment`, `${live.name}'s ${homeless.join(", ")} are not in advwell:${keys.plain}, and advwell:${keys.secret} is a secure: value this command cannot read; pass the stack's decrypted config (--config-json) or check it with pulumi config get`));
    } else if (homeless.length > 0) {
      checks.push(fail(`${live.name} environment`, `${live.name} runs with ${homeless.join(", ")}, which neither advwell:${keys.plain} nor advwell:${keys.secret} carries: the new ${service} would start without them`, [`npm run -s import-env -- --stack ${settings.stack} --from ${o.from}`]));
    } else {
      checks.push(ok(`${live.name} environment`, `every variable of ${live.name} is carried by advwell:${keys.plain} / advwell:${keys.secret} or set by the stack`));
    }
    const configured = settings.images[imageKey[service]];
    const sameImage = live.image === configured || live.image.split("@")[0] === configured.split("@")[0];
    checks.push(sameImage ? ok(`${live.name} image`, `advwell:${imageKey[service]} is the running ${live.image}`) : fail(`${live.name} image`, `${live.name} runs ${live.image}, advwell:${imageKey[service]} is ${configured}: a takeover deploys the running version`, [`npm run -s import-env -- --stack ${settings.stack} --from ${o.from}`]));
  }
  return checks;
}

function checkVolume(i: Inspection, settings: Settings, plan: Plan, o: PreflightOptions): Check[] {
  const liveDatabases = i.services.filter((s) => s.volumes.some((v) => v.target === PGDATA));
  if (!settings.adoption) {
    const live = liveDatabases.filter((s) => !s.volumes.some((v) => v.source === plan.postgres.dataVolume));
    if (live.length === 0) return [ok("volume to adopt", "no running PostgreSQL holds a data volume: the stack creates its own")];
    return [fail("volume to adopt", `${live.map((s) => `${s.name} runs PostgreSQL on ${s.volumes.find((v) => v.target === PGDATA)!.source}`).join("; ")}; the stack would start an empty cluster beside it: set advwell:adoptPostgresVolume, advwell:adoptPostgresMajor and advwell:postgresSuperuserPassword`, [`npm run -s import-env -- --stack ${settings.stack} --from ${o.from}`])];
  }
  const v = i.volume;
  const name = settings.adoption.volume;
  if (!v || !v.exists) return [fail("volume to adopt", `advwell:adoptPostgresVolume is ${name}, which is not a volume on the manager`)];
  if (v.error) return [fail("volume to adopt", `${name}: ${v.error}`)];
  const checks: Check[] = [];
  checks.push(
    v.pgVersion === String(settings.adoption.major)
      ? ok("volume to adopt", `${name} holds a PostgreSQL ${v.pgVersion} data directory${v.sizeMiB !== undefined ? ` (${v.sizeMiB} MiB)` : ""}`)
      : fail("volume to adopt", `${name}'s PG_VERSION is ${v.pgVersion ?? "missing (not a data directory at the volume's root)"}, advwell:adoptPostgresMajor is ${settings.adoption.major}`),
  );
  const newLibc = imageLibc(settings.images.postgresImage);
  if (v.liveLibc) {
    const localeBound = (v.collations ?? []).filter((c) => c.provider === "c" && !["C", "POSIX"].includes(c.collate));
    if (v.liveLibc !== newLibc && localeBound.length > 0) {
      checks.push(fail("collations", `the live cluster runs on ${v.liveLibc} (${v.liveImage}) and ${localeBound.map((c) => `${c.database} collates ${c.collate} through libc`).join(", ")}; ${settings.images.postgresImage} is ${newLibc}: text indexes would be ordered differently (silently wrong results). Use a ${v.liveLibc} image for the takeover, or dump and restore`));
    } else {
      checks.push(ok("collations", `live ${v.liveLibc}, new ${newLibc}${localeBound.length > 0 ? `; ${localeBound.map((c) => c.database).join(", ")} collate through libc` : "; no database collates through libc outside C"}`));
    }
  }
  if (!o.passwordGiven) checks.push(fail("superuser login", "no password to try: give --superuser-password-file (the file import-env wrote)"));
  else if (v.login) checks.push(v.login.ok ? ok("superuser login", v.login.message) : fail("superuser login", v.login.message));
  return checks;
}

function checkDisk(i: Inspection): Check {
  const d = i.disk;
  if (!d) return fail("free disk", "not measured");
  if ("error" in d) return fail("free disk", `could not be measured: ${d.error}`);
  const need = REQUIRED_FREE_MIB + 2 * (i.volume?.sizeMiB ?? 0);
  const text = `${d.freeMiB} MiB free of ${d.totalMiB} MiB under the Docker root`;
  return d.freeMiB >= need ? ok("free disk", text) : fail("free disk", `${text}; the cutover needs ${need} MiB (${REQUIRED_FREE_MIB} MiB for the new images, twice the data volume for the dumps)`);
}

function checkImages(i: Inspection): Check {
  const missing = i.images.filter((x) => x.status === "missing");
  if (missing.length === 0) return ok("images", `${i.images.length} images present or pullable`);
  return fail("images", `not on the manager and not pullable with the configured credentials: ${missing.map((m) => `${m.ref}${m.message ? ` (${m.message})` : ""}`).join("; ")}`);
}

function checkDns(i: Inspection): Check {
  const wrong = i.dns.filter((d) => d.error || !d.addresses.some((a) => i.serverAddresses.includes(a)));
  if (wrong.length === 0) return ok("dns", `${i.dns.map((d) => d.host).join(", ")} resolve to the server`);
  return fail("dns", `${wrong.map((d) => `${d.host} ${d.error ? `does not resolve (${d.error})` : `resolves to ${d.addresses.join(", ")}`}`).join("; ")}; the server is ${i.serverAddresses.join(", ")}. Let's Encrypt's TLS challenge reaches the host by its name: fix DNS before the window`);
}

/** Every check, in the order an operator fixes things. */
export function preflightChecks(i: Inspection, settings: Settings, plan: Plan, stackServices: ReadonlySet<string>, o: PreflightOptions): Check[] {
  const swarm = checkSwarm(i);
  if (!swarm.ok) return [swarm];
  return [swarm, ...checkNodes(i, plan), checkPorts(i, stackServices, o), ...checkEnvironment(i, settings, o), ...checkVolume(i, settings, plan, o), checkDisk(i), checkImages(i), checkDns(i)];
}

/** The report: what to fix first, each with its commands. */
export function preflightText(checks: readonly Check[]): string {
  const failed = checks.filter((c) => !c.ok);
  const lines = checks.map((c) => `${c.ok ? "ok  " : "FIX "} ${c.name}: ${c.message}${c.fix ? c.fix.map((f) => `\n       ${f}`).join("") : ""}`);
  lines.push(failed.length === 0 ? "preflight: nothing to fix" : `preflight: ${failed.length} to fix: ${failed.map((c) => c.name).join(", ")}`);
  return `${lines.join("\n")}\n`;
}
