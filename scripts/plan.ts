/**
 * The offline plan: `npm run plan -- --stack production [--json] [--set key=value ...] [--tiers]`.
 * Reads the same files the Pulumi CLI reads (Pulumi.yaml defaults, then Pulumi.<stack>.yaml),
 * resolves the plan without any Pulumi package, prints it, and exits 1 when it has errors.
 * Argument parsing is node's built-in util.parseArgs: no dependency needed for five flags.
 */
import { parseArgs } from "util";
import { applySet, listStacks, loadStackConfig } from "../config/stackConfig";
import { formatFindingsTable, formatPlan, planJson, resolveStack, table, tierSummaries, formatMiB } from "../model";

const USAGE = `usage: npm run plan -- --stack <name> [--json] [--set key=value ...]
       npm run plan -- --tiers [--json]
stacks: ${listStacks().join(", ")}`;

export function main(argv: string[]): number {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        stack: { type: "string", short: "s" },
        json: { type: "boolean", default: false },
        set: { type: "string", multiple: true, default: [] },
        tiers: { type: "boolean", default: false },
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

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
