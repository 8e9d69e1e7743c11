/**
 * The offline plan: `npm run plan -- --stack production [--json] [--set key=value ...] [--tiers]`.
 * Reads the same files the Pulumi CLI reads (Pulumi.yaml defaults, then Pulumi.<stack>.yaml),
 * resolves the plan without any Pulumi package, prints it, and exits 1 when it has errors.
 * Argument parsing is node's built-in util.parseArgs: no dependency needed for five flags.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { applySet, listStacks, loadStackConfig } from "../config/stackConfig";
import { diffResources, formatDiffMarkdown, formatDiffText, formatFindingsTable, formatMiB, formatPlan, formatResourceTree, planJson, resolveStack, table, tierSummaries } from "../model";
import type { ResourceRunResult } from "./lib/resourceRun";

const USAGE = `usage: npm run plan -- --stack <name> [--json] [--set key=value ...]
       npm run plan -- --stack <name> --resources [--json]          (runs index.ts under Pulumi mocks)
       npm run plan -- --stack <name> --diff <other-stack> [--markdown|--json]
       npm run plan -- --stack <name> --diff --set advwell:tier=<t> [--markdown|--json]
       npm run plan -- --stack <name> --diff-from <resources.json> [--markdown|--json]
       npm run plan -- --tiers [--json]
stacks: ${listStacks().join(", ")}`;

/** Runs the real program under mocks in a child process (one SDK instance per config). */
export function captureResources(stack: string, sets: readonly string[]): Promise<ResourceRunResult> {
  const root = path.resolve(__dirname, "..");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-r", "ts-node/register", path.join(root, "scripts/lib/resourceRun.ts"), stack, JSON.stringify(sets)], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`program run for ${stack} failed (${code}):\n${err}`));
      resolve(JSON.parse(out) as ResourceRunResult);
    });
  });
}

/** `--diff` without a stack name means "this stack, before and after --set". */
function normaliseDiffFlag(argv: string[]): string[] {
  return argv.map((a, i) => (a === "--diff" && (argv[i + 1] === undefined || argv[i + 1].startsWith("--")) ? "--diff=@self" : a));
}

export async function main(rawArgv: string[]): Promise<number> {
  const argv = normaliseDiffFlag(rawArgv);
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        stack: { type: "string", short: "s" },
        json: { type: "boolean", default: false },
        set: { type: "string", multiple: true, default: [] },
        tiers: { type: "boolean", default: false },
        resources: { type: "boolean", default: false },
        diff: { type: "string" },
        "diff-from": { type: "string" },
        markdown: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.tiers) {
    const base = loadStackConfig(args.stack ?? "production").config;
    for (const assignment of args.set ?? []) applySet(base, assignment, "advwell");
    const tiers = tierSummaries(base);
    if (args.json) {
      process.stdout.write(`${JSON.stringify(tiers, null, 2)}\n`);
    } else {
      process.stdout.write(
        table(
          ["tier", "companies", "backend", "frontend", "max_conn", "pgbouncer", "replicas", "postgres", "reserved", "4cpu/16GiB nodes"],
          tiers.map((t) => [t.name, t.companies, t.backendReplicas, t.frontendReplicas, t.maxConnections, t.pgbouncer ? "yes" : "no", t.readReplicas, `${t.postgresCpuLimit} CPU/${formatMiB(t.postgresMemoryLimitMiB)}`, `${t.cpuReserved} CPU/${formatMiB(t.memoryReservedMiB)}`, `${t.seedNodesNeeded ?? ">8"}${t.fitsOneSeedNode ? " (fits one)" : ""}`]),
        ) + "\n",
      );
    }
    return 0;
  }
  if (!args.stack) {
    process.stderr.write(`--stack is required\n${USAGE}\n`);
    return 2;
  }
  let loaded;
  try {
    loaded = loadStackConfig(args.stack);
    for (const assignment of args.set ?? []) applySet(loaded.config, assignment, loaded.project);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (args.resources || args.diff !== undefined || args["diff-from"] !== undefined) {
    return resourceMode(args.stack, args.set ?? [], {
      json: args.json === true,
      markdown: args.markdown === true,
      diff: args.diff,
      diffFrom: args["diff-from"],
      resources: args.resources === true,
    });
  }
  const { plan, findings } = resolveStack(loaded.config, args.stack);
  const failed = findings.some((f) => f.level === "error");
  if (args.json) {
    process.stdout.write(`${JSON.stringify(plan ? planJson(plan) : { stack: args.stack, findings }, null, 2)}\n`);
  } else {
    process.stdout.write(plan ? `${formatPlan(plan)}\n` : `Invalid config for stack ${args.stack}\n${formatFindingsTable(findings)}\n`);
  }
  if (failed) {
    process.stderr.write(`plan has errors: ${findings.filter((f) => f.level === "error").map((f) => f.key).join(", ")}\n`);
  }
  return failed ? 1 : 0;
}

async function resourceMode(
  stack: string,
  sets: readonly string[],
  o: { json: boolean; markdown: boolean; diff?: string; diffFrom?: string; resources: boolean },
): Promise<number> {
  if (o.diff === undefined && o.diffFrom === undefined) {
    const run = await captureResources(stack, sets);
    if (run.error) {
      process.stderr.write(`${run.error}\n`);
      return 1;
    }
    if (o.json) {
      const { plan } = resolveStack(applyAll(stack, sets), stack);
      process.stdout.write(`${JSON.stringify({ ...(plan ? (planJson(plan) as object) : {}), resources: run.resources, outputs: run.outputs }, null, 2)}\n`);
    } else {
      process.stdout.write(`Resources of stack ${stack} (${run.resources.length}), as index.ts registers them under Pulumi mocks; secrets print as [secret]\n\n`);
      process.stdout.write(formatResourceTree(run.resources));
    }
    return 0;
  }
  let before: ResourceRunResult;
  let after: ResourceRunResult;
  let beforeName: string;
  let afterName: string;
  if (o.diffFrom !== undefined) {
    before = JSON.parse(fs.readFileSync(o.diffFrom, "utf8")) as ResourceRunResult;
    after = await captureResources(stack, sets);
    beforeName = `${before.stack} (${path.basename(o.diffFrom)})`;
    afterName = stack;
  } else if (o.diff === "@self") {
    [before, after] = await Promise.all([captureResources(stack, []), captureResources(stack, sets)]);
    beforeName = stack;
    afterName = `${stack} with ${sets.join(" ") || "no change"}`;
  } else {
    [before, after] = await Promise.all([captureResources(stack, sets), captureResources(o.diff!, sets)]);
    beforeName = stack;
    afterName = o.diff!;
  }
  for (const r of [before, after]) {
    if (r.error) {
      process.stderr.write(`${r.stack}: ${r.error}\n`);
      return 1;
    }
  }
  const diff = diffResources(beforeName, before.resources, afterName, after.resources);
  process.stdout.write(o.json ? `${JSON.stringify(diff, null, 2)}\n` : o.markdown ? formatDiffMarkdown(diff) : formatDiffText(diff));
  return 0;
}

function applyAll(stack: string, sets: readonly string[]): Record<string, string> {
  const loaded = loadStackConfig(stack);
  for (const s of sets) applySet(loaded.config, s, loaded.project);
  return loaded.config;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
