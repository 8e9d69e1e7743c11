/**
 * Names drift in the plan's terms. Reads the JSON that `pulumi preview --refresh --json` prints (a
 * PreviewDigest: pkg/display/json.go in pulumi/pulumi) and says, per changed property, what runs
 * live and what the code says:
 *
 *   backend runs 5 replicas, plan says 3
 *   backend runs image tomautomations/advwell-backend:v53, plan says tomautomations/advwell-backend:v52
 *   BucketVersioning backup-versioning versioningConfiguration.status: live "Suspended", code "Enabled"
 *
 * After `--refresh`, a step's oldState is what runs (refreshed), its newState what the program
 * declares; detailedDiff names the property paths that differ. Secrets print as [secret].
 *
 *   npx ts-node .github/scripts/drift-summary.ts preview.json --stack production [--run-url URL] > drift.md
 *
 * Exit 0: no drift (nothing printed). Exit 2: drift, the issue body (Markdown) on stdout. Exit 1:
 * the file is not a preview digest.
 */
import * as fs from "fs";

export interface PropertyDiff {
  readonly kind: string;
  readonly inputDiff?: boolean;
}

export interface ResourceState {
  readonly urn?: string;
  readonly type?: string;
  readonly id?: string;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
}

export interface PreviewStep {
  readonly op: string;
  readonly urn: string;
  readonly provider?: string;
  readonly oldState?: ResourceState;
  readonly newState?: ResourceState;
  readonly diffReasons?: string[];
  readonly replaceReasons?: string[];
  readonly detailedDiff?: Record<string, PropertyDiff> | null;
}

export interface PreviewDigest {
  readonly config?: Record<string, string>;
  readonly steps?: PreviewStep[];
  readonly diagnostics?: { readonly urn?: string; readonly message?: string; readonly severity?: string }[];
  readonly duration?: number;
  readonly changeSummary?: Record<string, number>;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
/** Steps that change nothing. */
const QUIET_OPS = new Set(["same", "read", "refresh"]);
/** The halves of a replacement, which the "replace" step already names. */
const REPLACEMENT_HALVES = new Set(["create-replacement", "delete-replaced", "discard-replaced", "read-discard", "remove-pending-replace"]);

/** Splits a Pulumi property path: a.b[0].c, a["key.with.dots"]. */
export function parsePath(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  for (const m of path.matchAll(re)) parts.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : JSON.parse(`"${m[3]}"`)));
  return parts;
}

export function valueAt(root: unknown, path: string): unknown {
  let v: any = root;
  for (const p of parsePath(path)) {
    if (v && typeof v === "object" && v[SECRET_SIG] !== undefined) return v;
    if (v === null || v === undefined || typeof v !== "object") return undefined;
    v = v[p as any];
  }
  return v;
}

const isSecret = (v: unknown) => typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] !== undefined;

export function formatValue(v: unknown): string {
  if (v === undefined) return "(none)";
  if (isSecret(v) || v === "[secret]") return "[secret]";
  const text = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v, (_, x) => (isSecret(x) ? "[secret]" : x));
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

const cpus = (n: unknown) => (typeof n === "number" ? `${+(n / 1e9).toFixed(3)} CPU${n === 1e9 ? "" : "s"}` : formatValue(n));
function bytes(n: unknown): string {
  if (typeof n !== "number") return formatValue(n);
  const gib = n / 2 ** 30;
  return gib >= 1 && Number.isInteger(gib * 4) ? `${gib} GiB` : `${+(n / 2 ** 20).toFixed(1)} MiB`;
}

/** The program's name for a resource: a Docker service's name, otherwise its Pulumi resource name. */
function subject(step: PreviewStep): { label: string; service?: string } {
  const type = step.newState?.type ?? step.oldState?.type ?? step.urn.split("::")[2] ?? "";
  const name = step.urn.split("::").pop() ?? step.urn;
  if (type === "docker:index/service:Service") {
    const service = (step.newState?.inputs?.name ?? step.oldState?.outputs?.name ?? step.oldState?.inputs?.name ?? name) as string;
    return { label: `service ${service}`, service: String(service) };
  }
  const short = type.split(":").pop() || type;
  return { label: `${short} ${name}` };
}

const SERVICE_PROPERTIES: Record<string, (svc: string, live: unknown, code: unknown) => string> = {
  "mode.replicated.replicas": (s, l, c) => `${s} runs ${formatValue(l)} replicas, plan says ${formatValue(c)}`,
  "taskSpec.containerSpec.image": (s, l, c) => `${s} runs image ${typeof l === "string" ? l : formatValue(l)}, plan says ${typeof c === "string" ? c : formatValue(c)}`,
  "taskSpec.resources.limits.nanoCpus": (s, l, c) => `${s} has a CPU limit of ${cpus(l)}, plan says ${cpus(c)}`,
  "taskSpec.resources.limits.memoryBytes": (s, l, c) => `${s} has a memory limit of ${bytes(l)}, plan says ${bytes(c)}`,
  "taskSpec.resources.reservation.nanoCpus": (s, l, c) => `${s} reserves ${cpus(l)}, plan says ${cpus(c)}`,
  "taskSpec.resources.reservation.memoryBytes": (s, l, c) => `${s} reserves ${bytes(l)} of memory, plan says ${bytes(c)}`,
};

/** What runs (refreshed state: outputs, then inputs) and what the code declares (new inputs). */
function liveAndCode(step: PreviewStep, path: string): [unknown, unknown] {
  const live = valueAt(step.oldState?.outputs, path) ?? valueAt(step.oldState?.inputs, path);
  const code = valueAt(step.newState?.inputs, path);
  return [live, code];
}

/** One line per drifted property, in the plan's terms where the property has them. */
export function driftLines(digest: PreviewDigest): string[] {
  // The last step per resource: with --refresh the refresh step comes first (rewritten to an update
  // when the refresh changed the state), the program's step (same, update, replace...) after it.
  const last = new Map<string, PreviewStep>();
  for (const step of digest.steps ?? []) if (!REPLACEMENT_HALVES.has(step.op)) last.set(step.urn, step);
  const lines: string[] = [];
  for (const step of last.values()) {
    if (QUIET_OPS.has(step.op) || step.urn.includes("::pulumi:pulumi:Stack::")) continue;
    const { label, service } = subject(step);
    if (step.op === "create" || step.op === "import") {
      lines.push(`${label} does not exist live (removed by hand?); pulumi up creates it`);
      continue;
    }
    if (step.op === "delete") {
      lines.push(`${label} exists in the stack but not in the code; pulumi up deletes it`);
      continue;
    }
    const paths = step.detailedDiff ? Object.keys(step.detailedDiff).sort() : [...(step.diffReasons ?? [])].sort();
    const replaces = step.op === "replace" ? " (pulumi up replaces it)" : "";
    if (paths.length === 0) {
      lines.push(`${label}: ${step.op}${replaces}`);
      continue;
    }
    for (const path of paths) {
      const [live, code] = liveAndCode(step, path);
      const named = service !== undefined ? SERVICE_PROPERTIES[path] : undefined;
      lines.push(`${named ? named(service!, live, code) : `${label} ${path}: live ${formatValue(live)}, code ${formatValue(code)}`}${replaces}`);
    }
  }
  return lines;
}

export function errorDiagnostics(digest: PreviewDigest): string[] {
  return (digest.diagnostics ?? []).filter((d) => d.severity === "error").map((d) => (d.message ?? "").trim());
}

export function driftMarkdown(stack: string, digest: PreviewDigest, runUrl?: string): string {
  const lines = driftLines(digest);
  const counts = Object.entries(digest.changeSummary ?? {})
    .filter(([op]) => op !== "same")
    .map(([op, n]) => `${op} ${n}`)
    .join(", ");
  return [
    `What runs on \`${stack}\` no longer matches the code (\`pulumi preview --refresh --expect-no-changes\`${runUrl ? `, [run](${runUrl})` : ""}):`,
    "",
    ...lines.map((l) => `- ${l}`),
    "",
    `Changes pulumi up would make: ${counts || "none counted"}.`,
    "",
    "To restore the code's state, run `pulumi up` on this stack (or re-run the deploy workflow). If the live change was intended, change the code (tier, overrides, images) and merge it; a hand-made `docker service scale` or `docker service update` is undone by the next deploy.",
    "",
  ].join("\n");
}

export function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): number {
  const file = argv.find((a) => !a.startsWith("--") && argv[argv.indexOf(a) - 1] !== "--stack" && argv[argv.indexOf(a) - 1] !== "--run-url");
  const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  let digest: PreviewDigest;
  try {
    digest = JSON.parse(fs.readFileSync(file ?? 0, "utf8"));
    if (typeof digest !== "object" || digest === null || Array.isArray(digest)) throw new Error("not a JSON object");
  } catch (e) {
    err(`drift-summary: ${file ?? "stdin"} is not a pulumi preview --json digest: ${(e as Error).message}\n`);
    return 1;
  }
  if (driftLines(digest).length === 0) return 0;
  out(driftMarkdown(flag("--stack") ?? "?", digest, flag("--run-url")));
  return 2;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
