/**
 * The offline plan: `npm run plan -- --stack production [--json] [--set key=value ...] [--tiers]`.
 * Reads the same files the Pulumi CLI reads (Pulumi.yaml defaults, then Pulumi.<stack>.yaml),
 * resolves the plan without any Pulumi package, prints it, and exits 1 when it has errors.
 * Argument parsing is node's built-in util.parseArgs: no dependency needed for a few flags.
 *
 * Exit codes: 0 the plan (or diff) has no errors; 1 it has errors, each naming its config key;
 * 2 the command itself was used wrongly (unknown flag, conflicting flags, unknown stack, unreadable
 * file). Every failure is one message on stderr, never a stack trace.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { applySet, listStacks, loadStackConfig, projectDir } from "../config/stackConfig";
import { diffResources, Finding, formatBlockedMarkdown, formatBlockedText, formatDiffMarkdown, formatDiffText, formatFindingsTable, formatMiB, formatPlan, formatResourceTree, planJson, postgresRestartNote, resolveStack, rotationCommand, rotationRefusal, shownAssignment, table, tierSummaries } from "../model";
import type { ResourceRunResult, RunRequest } from "./lib/resourceRun";

const USAGE = `usage: npm run plan -- --stack <name> [--json] [--set key=value ...]
       npm run plan -- --stack <name> --resources [--json]          (runs index.ts under Pulumi mocks)
       npm run plan -- --stack <name> --diff <other-stack> [--markdown|--json]
       npm run plan -- --stack <name> --diff --set advwell:tier=<t> [--markdown|--json]
       npm run plan -- --stack <name> --diff-from <resources.json> [--markdown|--json]
       npm run plan -- --stack <name> --rotate <password>                (prints the pulumi up --replace command)
       npm run plan -- --tiers [--stack <name>] [--json]
       --cwd <dir>: read Pulumi.yaml and the stack files from <dir> instead of the project's folder`;

/** A mistake in how the command was called: exit 2, one line, no trace. */
class UsageError extends Error {}

function knownStack(name: string, flag: string, dir: string): string {
  const stacks = listStacks(dir);
  if (!stacks.includes(name)) throw new UsageError(`${flag}: no stack "${name}" (no Pulumi.${name}.yaml in ${dir}); stacks here: ${stacks.join(", ")}`);
  return name;
}

/** A stack's config with the --set assignments applied, as the program would read it. */
function stackConfig(stack: string, sets: readonly string[], dir: string) {
  const loaded = loadStackConfig(stack, dir);
  for (const assignment of sets) applySet(loaded.config, assignment, loaded.project);
  return loaded;
}

/**
 * Runs the real program under mocks for each side, in this process, one after another (the SDK
 * loads once; scripts/lib/resourceRun.ts). Loaded only here: the plan itself needs no Pulumi package.
 */
function captureResources(sides: readonly RunRequest[]): Promise<ResourceRunResult[]> {
  const { runStacks } = require("./lib/resourceRun") as typeof import("./lib/resourceRun");
  return runStacks(sides).catch((e: Error) => {
    throw new Error(`the program run for stack ${sides.map((s) => s.stack).join(" and ")} failed: ${e.message}`);
  });
}

/** A capture saved with `--resources --json`, checked before it is diffed. */
function readCapture(file: string): ResourceRunResult {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`--diff-from: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--diff-from: ${file} is not JSON (${(e as Error).message}); write it with npm run plan -- --stack <s> --resources --json`);
  }
  const capture = parsed as Partial<ResourceRunResult>;
  const valid =
    typeof capture === "object" && capture !== null && typeof capture.stack === "string" && Array.isArray(capture.resources) &&
    capture.resources.every((r) => r && typeof r.type === "string" && typeof r.name === "string" && typeof r.inputs === "object");
  if (!valid) throw new UsageError(`--diff-from: ${file} is not a resource capture (it needs "stack" and "resources" with type, name and inputs); write it with npm run plan -- --stack <s> --resources --json`);
  return capture as ResourceRunResult;
}

/** `--diff` without a stack name means "this stack, before and after --set". */
function normaliseDiffFlag(argv: string[]): string[] {
  return argv.map((a, i) => (a === "--diff" && (argv[i + 1] === undefined || argv[i + 1].startsWith("--")) ? "--diff=@self" : a));
}

/** Each key once, with how many findings name it: `advwell:nodes (13)`. */
export function summariseKeys(findings: readonly Finding[]): string {
  const counts = new Map<string, number>();
  for (const f of findings) counts.set(f.key, (counts.get(f.key) ?? 0) + 1);
  return [...counts].map(([key, n]) => (n > 1 ? `${key} (${n})` : key)).join(", ");
}

interface Flags {
  stack?: string;
  json: boolean;
  set: string[];
  tiers: boolean;
  resources: boolean;
  diff?: string;
  "diff-from"?: string;
  markdown: boolean;
  rotate?: string;
  cwd?: string;
  help: boolean;
}

function parse(argv: string[]): Flags {
  let values;
  try {
    values = parseArgs({
      args: normaliseDiffFlag(argv),
      options: {
        stack: { type: "string", short: "s" },
        json: { type: "boolean", default: false },
        set: { type: "string", multiple: true, default: [] },
        tiers: { type: "boolean", default: false },
        resources: { type: "boolean", default: false },
        diff: { type: "string" },
        "diff-from": { type: "string" },
        markdown: { type: "boolean", default: false },
        rotate: { type: "string" },
        cwd: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    // parseArgs quotes the argument it stumbled on; one that is not a flag may be a secret
    // (`--set advwell:postgresSuperuserPassword hunter2`), so it is not repeated.
    throw new UsageError((e as Error).message.replace(/'(?!--?[A-Za-z])[^']*'/g, "(not shown: it may be a value; write --set key=value)"));
  }
  const f = values as Flags;
  // Conflicting flags are refused rather than one silently winning.
  const diffing = f.diff !== undefined || f["diff-from"] !== undefined;
  if (f.json && f.markdown) throw new UsageError("--json and --markdown both choose the output format; give one");
  if (f.markdown && !diffing) throw new UsageError("--markdown formats a diff; add --diff <stack>, --diff with --set, or --diff-from <file>");
  if (f.diff !== undefined && f["diff-from"] !== undefined) throw new UsageError("--diff and --diff-from both name what to compare against; give one");
  if (f.resources && diffing) throw new UsageError("--resources prints one stack's resources and --diff compares two; give one");
  if (f.tiers && (f.resources || diffing)) throw new UsageError("--tiers prints the tier table; it does not combine with --resources or --diff");
  if (f.rotate !== undefined && (f.resources || diffing || f.tiers || f.markdown)) throw new UsageError("--rotate prints one command; it does not combine with --resources, --diff, --tiers or --markdown");
  return f;
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await run(parse(argv));
  } catch (e) {
    const usage = e instanceof UsageError;
    process.stderr.write(`plan: ${(e as Error).message}${usage ? `\n${USAGE}` : ""}\n`);
    return 2;
  }
}

/** The folder the stack files are read from: --cwd, as `pulumi --cwd` takes it, or the project's. */
function configDir(args: Flags): string {
  if (args.cwd === undefined) return projectDir();
  const dir = path.resolve(args.cwd);
  if (!fs.existsSync(path.join(dir, "Pulumi.yaml"))) throw new UsageError(`--cwd: no Pulumi.yaml in ${dir}`);
  return dir;
}

async function run(args: Flags): Promise<number> {
  const dir = configDir(args);
  if (args.help) {
    process.stdout.write(`${USAGE}\nstacks: ${listStacks(dir).join(", ")}\n`);
    return 0;
  }
  if (args.tiers) return tiers(args, dir);
  if (!args.stack) throw new UsageError("--stack is required");
  const stack = knownStack(args.stack, "--stack", dir);
  // Read (and --set applied) before any mode, so a bad file or assignment fails the same way in each.
  const loaded = stackConfig(stack, args.set, dir);
  if (args.rotate !== undefined) return rotate(stack, args, dir);
  if (args.resources || args.diff !== undefined || args["diff-from"] !== undefined) return resourceMode(stack, args, dir);

  const { plan, findings } = resolveStack(loaded.config, stack, loaded.secureKeys);
  const errors = findings.filter((f) => f.level === "error");
  if (args.json) {
    process.stdout.write(`${JSON.stringify(plan ? planJson(plan) : { stack, findings }, null, 2)}\n`);
  } else {
    process.stdout.write(plan ? `${formatPlan(plan)}\n` : `Invalid config for stack ${stack}\n${formatFindingsTable(findings)}\n`);
  }
  if (errors.length > 0) process.stderr.write(`plan has errors: ${summariseKeys(errors)}\n`);
  return errors.length > 0 ? 1 : 0;
}

function tiers(args: Flags, dir: string): number {
  const base = stackConfig(knownStack(args.stack ?? "production", "--stack", dir), args.set, dir).config;
  const rows = tierSummaries(base);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  } else {
    process.stdout.write(
      table(
        ["tier", "companies", "backend", "frontend", "max_conn", "pgbouncer", "replicas", "postgres", "reserved", "4cpu/16GiB nodes"],
        rows.map((t) => [t.name, t.companies, t.backendReplicas, t.frontendReplicas, t.maxConnections, t.pgbouncer ? "yes" : "no", t.readReplicas, `${t.postgresCpuLimit} CPU/${formatMiB(t.postgresMemoryLimitMiB)}`, `${t.cpuReserved} CPU/${formatMiB(t.memoryReservedMiB)}`, `${t.seedNodesNeeded ?? ">8"}${t.fitsOneSeedNode ? " (fits one)" : ""}`]),
      ) + "\n",
    );
  }
  return 0;
}

/**
 * `--rotate app-password`: the one command that rotates a generated password, with the URN the
 * engine gives its resource in this stack (read from the program run, not typed by hand).
 */
async function rotate(stack: string, args: Flags, dir: string): Promise<number> {
  const refusal = rotationRefusal(args.rotate!);
  if (refusal) throw new UsageError(`--rotate: ${refusal}`);
  const [run] = await captureResources([{ stack, sets: args.set, dir }]);
  if (run.error) {
    process.stderr.write(`${run.error}\n`);
    return 1;
  }
  const found = rotationCommand(stack, run.resources, args.rotate!);
  if ("refused" in found) throw new UsageError(`--rotate: ${found.refused}`);
  process.stdout.write(`${found.command}\n`);
  return 0;
}

async function resourceMode(stack: string, args: Flags, dir: string): Promise<number> {
  const sets = args.set;
  if (args.diff === undefined && args["diff-from"] === undefined) {
    const [run] = await captureResources([{ stack, sets, dir }]);
    if (run.error) {
      process.stderr.write(`${run.error}\n`);
      return 1;
    }
    if (args.json) {
      const loaded = stackConfig(stack, sets, dir);
      const { plan } = resolveStack(loaded.config, stack, loaded.secureKeys);
      process.stdout.write(`${JSON.stringify({ ...(plan ? (planJson(plan) as object) : {}), resources: run.resources, outputs: run.outputs, ...(run.blockedBy ? { blockedBy: run.blockedBy } : {}) }, null, 2)}\n`);
    } else {
      process.stdout.write(`Resources of stack ${stack} (${run.resources.length}), as index.ts registers them under Pulumi mocks; secrets print as [secret]\n\n`);
      process.stdout.write(formatResourceTree(run.resources));
    }
    return blocked([run]);
  }
  let before: ResourceRunResult;
  let after: ResourceRunResult;
  let beforeName: string;
  let afterName: string;
  // The header repeats the --set assignments, a credential's as [secret] (issue 22 item 6).
  const shownSets = sets.map((s) => shownAssignment(s, loadStackConfig(stack, dir).secureKeys));
  if (args["diff-from"] !== undefined) {
    before = readCapture(args["diff-from"]);
    [after] = await captureResources([{ stack, sets, dir }]);
    beforeName = `${before.stack} (${path.basename(args["diff-from"])})`;
    afterName = stack;
  } else if (args.diff === "@self") {
    [before, after] = await captureResources([{ stack, sets: [], dir }, { stack, sets, dir }]);
    beforeName = stack;
    afterName = `${stack} with ${shownSets.join(" ") || "no change"}`;
  } else {
    const other = knownStack(args.diff!, "--diff", dir);
    [before, after] = await captureResources([{ stack, sets, dir }, { stack: other, sets, dir }]);
    beforeName = stack;
    afterName = other;
  }
  for (const r of [before, after]) {
    if (r.error) {
      process.stderr.write(`${r.stack}: ${r.error}\n`);
      return 1;
    }
  }
  const diff = diffResources(beforeName, before.resources, afterName, after.resources);
  // A restart is what deploying the change does to one stack; two stacks are only compared. The
  // side being deployed decides how long it takes (its health timings).
  if (before.stack === after.stack) {
    const afterConfig = stackConfig(after.stack, sets, dir);
    const afterPlan = resolveStack(afterConfig.config, after.stack, afterConfig.secureKeys).plan;
    const restart = afterPlan?.services.postgres && postgresRestartNote(diff, afterPlan.services.postgres);
    if (restart) diff.notes.push(restart);
  }
  const errors = after.blockedBy ?? [];
  if (args.json) process.stdout.write(`${JSON.stringify({ ...diff, blockedBy: errors }, null, 2)}\n`);
  // A PR comment leads with what matters most: that the change cannot be deployed at all.
  else if (args.markdown) process.stdout.write(`${errors.length > 0 ? `${formatBlockedMarkdown(errors)}\n` : ""}${formatDiffMarkdown(diff)}`);
  else process.stdout.write(`${formatDiffText(diff)}${errors.length > 0 ? `\n${formatBlockedText(errors)}` : ""}`);
  if (errors.length > 0) process.stderr.write(`plan has errors: ${summariseKeys(errors)}\n`);
  return errors.length > 0 ? 1 : 0;
}

/** The errors that keep a captured stack from deploying, printed after its resources; exit 1 when there are any. */
function blocked(runs: readonly ResourceRunResult[]): number {
  const errors = runs.flatMap((r) => r.blockedBy ?? []);
  if (errors.length === 0) return 0;
  process.stdout.write(`\n${formatBlockedText(errors)}`);
  process.stderr.write(`plan has errors: ${summariseKeys(errors)}\n`);
  return 1;
}

/**
 * The command as a process: exit code, a quiet end when the reader closes the pipe, and one line
 * (never a stack trace) for anything unexpected, also from inside a program run.
 */
export function cli(argv: string[]): void {
  // `npm run plan -- --resources | head -1` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
  });
  const fail = (e: unknown) => {
    process.stderr.write(`plan: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  };
  const crash = (e: unknown) => {
    fail(e);
    process.exit(2);
  };
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
  main(argv).then((code) => (process.exitCode = code), fail);
}

if (require.main === module) {
  // `node dist/<key>/scripts/plan.js` runs only the build of the sources as they are now; any other
  // build hands over to that one (made if need be). bin/advwell-plan checks the same before loading.
  const own = path.extname(__filename) === ".js" ? path.resolve(__dirname, "..") : undefined;
  const current = own && (require(path.join(projectDir(), "scripts", "build.js")) as { ensureBuild(): string }).ensureBuild();
  if (current && current !== own) (require(path.join(current, "scripts", "plan.js")) as { cli: typeof cli }).cli(process.argv.slice(2));
  else cli(process.argv.slice(2));
}
