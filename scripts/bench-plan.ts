/**
 * Times the plan command as people and CI run it: `npm run plan -- <args>` and the direct entry
 * `bin/advwell-plan <args>`, each a fresh process started from here as a shell would, its output
 * discarded. Every command runs --runs times (default 9, at least 7 for figures worth quoting), in
 * rotation so that a busy moment on the machine spreads over all of them; each row gives min,
 * median and max of the wall time of the whole process.
 *
 * The same runs also report where their time went (ADVWELL_PLAN_TIMINGS, scripts/lib/phase-timer.js):
 * the phase split printed after the table. It is a split of those runs, not separate measurements.
 *
 *   npm run bench:plan [-- --runs 9] [-- --project <checkout>]
 *
 * --project times another checkout with the same commands (its own `npm run plan`), e.g. an older
 * commit unpacked beside this one with node_modules linked; rows its checkout lacks are skipped.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { listStacks, projectDir } from "../config/stackConfig";

const { values } = parseArgs({ options: { runs: { type: "string", default: "9" }, project: { type: "string" } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number, got ${values.runs}`);
const root = path.resolve(values.project ?? projectDir());
const direct = path.join(root, "bin", "advwell-plan");

interface Command {
  readonly label: string;
  readonly args: string[];
}
const commands: Command[] = [
  ...listStacks(root).map((s) => ({ label: `--stack ${s}`, args: ["--stack", s] })),
  { label: "--stack production --json", args: ["--stack", "production", "--json"] },
  { label: "--stack production --resources", args: ["--stack", "production", "--resources"] },
  { label: "--stack production --diff --set advwell:tier=starter", args: ["--stack", "production", "--diff", "--set", "advwell:tier=starter"] },
  { label: "--stack staging --diff production --markdown", args: ["--stack", "staging", "--diff", "production", "--markdown"] },
];

interface Entry {
  readonly label: string;
  readonly argv: (args: string[]) => [string, string[]];
}
const entries: Entry[] = [
  { label: "npm run plan --", argv: (args) => ["npm", ["run", "plan", "--", ...args]] },
  ...(fs.existsSync(direct) ? [{ label: "bin/advwell-plan", argv: (args: string[]): [string, string[]] => [direct, args] }] : []),
];

interface Phases {
  start: number;
  build: number;
  load: number;
  work: number;
  total: number;
}
interface Sample {
  wallMs: number;
  code: number | null;
  phases?: Phases;
}

const timingsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "advwell-bench-")), "timings.jsonl");

function once(entry: Entry, command: Command): Sample {
  const [file, argv] = entry.argv(command.args);
  fs.rmSync(timingsFile, { force: true });
  const start = process.hrtime.bigint();
  const r = spawnSync(file, argv, { cwd: root, stdio: "ignore", env: { ...process.env, ADVWELL_PLAN_TIMINGS: timingsFile } });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.error) throw new Error(`${file} ${argv.join(" ")}: ${r.error.message}`);
  const lines = fs.existsSync(timingsFile) ? fs.readFileSync(timingsFile, "utf8").trim().split("\n") : [];
  return { wallMs, code: r.status, phases: lines.length > 0 ? (JSON.parse(lines[lines.length - 1]) as Phases) : undefined };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => {
  const s = sorted(xs);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const seconds = (ms: number) => (ms / 1000).toFixed(3);
const loadavg = () => os.loadavg()[0].toFixed(2);

function cpuModel(): string {
  try {
    const line = fs.readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"));
    return line ? line.split(":")[1].trim() : os.cpus()[0]?.model ?? "unknown";
  } catch {
    return os.cpus()[0]?.model ?? "unknown";
  }
}

const samples = new Map<string, Sample[]>();
const key = (e: Entry, c: Command) => `${e.label}\0${c.label}`;
const loadAtStart = loadavg();
const npmVersion = spawnSync("npm", ["--version"], { encoding: "utf8" }).stdout.trim();
// One untimed run of each command first: builds what a first run would build, warms the file cache.
for (const c of commands) for (const e of entries) once(e, c);
for (let round = 0; round < runs; round++) {
  for (const c of commands) {
    for (const e of entries) {
      const k = key(e, c);
      samples.set(k, [...(samples.get(k) ?? []), once(e, c)]);
    }
  }
}
const loadAtEnd = loadavg();

const out: string[] = [];
out.push(`npm run bench:plan: ${runs} runs of each command, in rotation, after one untimed run of each (it makes the build and the YAML cache if they are missing)`);
out.push(`date     ${new Date().toISOString()}`);
out.push(`cpu      ${cpuModel()}, ${os.cpus().length} cores`);
out.push(`node     ${process.version}, npm ${npmVersion}`);
out.push(`load     1-minute load average ${loadAtStart} at start, ${loadAtEnd} at end`);
out.push(`project  ${root}`);
out.push("");
out.push("Wall time of the whole process, as started from a shell (s)");
const w = Math.max(...commands.map((c) => c.label.length));
out.push(`${"command".padEnd(w)}  ${"entry".padEnd(16)}  ${"min".padStart(6)}  ${"median".padStart(6)}  ${"max".padStart(6)}  exit`);
for (const c of commands) {
  entries.forEach((e, i) => {
    const s = samples.get(key(e, c))!;
    const walls = s.map((x) => x.wallMs);
    const codes = [...new Set(s.map((x) => x.code))].join("/");
    out.push(`${(i === 0 ? c.label : "").padEnd(w)}  ${e.label.padEnd(16)}  ${seconds(Math.min(...walls)).padStart(6)}  ${seconds(median(walls)).padStart(6)}  ${seconds(Math.max(...walls)).padStart(6)}  ${codes}`);
  });
}

const timed = [...samples.values()].some((s) => s.some((x) => x.phases));
out.push("");
if (!timed) {
  out.push("Phase split: not available (this checkout's command does not report ADVWELL_PLAN_TIMINGS).");
} else {
  out.push("Phase split of the same runs (median ms of each phase; medians do not add up exactly to the median wall):");
  out.push("  node start = process start to the first line of bin/advwell-plan; build check = finding the build of the current");
  out.push("  sources by content hash; module load = time inside require() (ours and zod; yaml only when a stack file's parse");
  out.push("  is not cached yet; for --resources/--diff the Pulumi SDK and providers, and index.ts and the components again for");
  out.push("  each run); work = the rest inside node (config, plan, program runs under mocks, output); outside node = wall minus");
  out.push("  node's own time: npm itself for `npm run`, process creation and exit for both.");
  out.push(`${"command".padEnd(w)}  ${"entry".padEnd(16)}  ${"node start".padStart(10)}  ${"build check".padStart(11)}  ${"module load".padStart(11)}  ${"work".padStart(6)}  ${"outside node".padStart(12)}`);
  for (const c of commands) {
    entries.forEach((e, i) => {
      const s = samples.get(key(e, c))!.filter((x) => x.phases);
      if (s.length === 0) return;
      const m = (f: (x: Sample) => number) => median(s.map(f)).toFixed(0);
      out.push(
        `${(i === 0 ? c.label : "").padEnd(w)}  ${e.label.padEnd(16)}  ${m((x) => x.phases!.start).padStart(10)}  ${m((x) => x.phases!.build).padStart(11)}  ${m((x) => x.phases!.load).padStart(11)}  ${m((x) => x.phases!.work).padStart(6)}  ${m((x) => x.wallMs - x.phases!.total).padStart(12)}`,
      );
    });
  }
}
fs.rmSync(path.dirname(timingsFile), { recursive: true, force: true });
process.stdout.write(`${out.join("\n")}\n`);
