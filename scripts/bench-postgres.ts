/**
 * pgbench on this machine with three settings for one tier, each on a fresh PostgreSQL 15:
 *   plan      the tier's generated settings (plan.postgres.settings)
 *   defaults  PostgreSQL's defaults, only max_connections set to the plan's
 *   seed      the seed's literal settings (SEED_POSTGRES_SETTINGS)
 * Each cluster gets `pgbench -i` at scale 10 and then a TPC-B-like read-write run with as many
 * clients as the tier's connection budget, 2 threads.
 *
 *   npx ts-node --transpile-only scripts/bench-postgres.ts [tier] [seconds]
 *
 * The server runs on the host, not in the tier's container: there is no cgroup memory limit, so
 * this compares the settings' speed, not whether they fit (the plan's worst-case check does that).
 */
import { spawnSync } from "child_process";
import * as os from "os";
import { isTierName, SEED_POSTGRES_SETTINGS, TIER_NAMES } from "../model";
import { PG_BIN, PgCluster, SUPERUSER, SUPERUSER_PASSWORD } from "../test/integration/support/pgCluster";
import { tierPlan } from "../test/integration/support/tierPlans";

const SCALE = 10;
const THREADS = 2;

interface Result {
  readonly label: string;
  readonly tps: number;
  readonly latencyMs: number;
  readonly transactions: number;
}

function pgbench(cluster: PgCluster, args: string[]): string {
  const result = spawnSync(`${PG_BIN}/pgbench`, ["-h", "127.0.0.1", "-p", String(cluster.port), "-U", SUPERUSER, ...args, "postgres"], {
    encoding: "utf8",
    env: { ...process.env, PGPASSWORD: SUPERUSER_PASSWORD },
  });
  if (result.status !== 0) throw new Error(`pgbench ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}\n${cluster.log().slice(-2000)}`);
  return result.stdout;
}

function readNumber(output: string, pattern: RegExp, what: string): number {
  const match = pattern.exec(output);
  if (!match) throw new Error(`pgbench printed no ${what}:\n${output}`);
  return Number(match[1]);
}

async function run(label: string, settings: Readonly<Record<string, string>>, clients: number, seconds: number): Promise<Result> {
  const cluster = await PgCluster.start({ settings });
  try {
    pgbench(cluster, ["-i", "-q", "-s", String(SCALE)]);
    const output = pgbench(cluster, ["-c", String(clients), "-j", String(THREADS), "-T", String(seconds)]);
    return {
      label,
      tps: readNumber(output, /tps = ([\d.]+) \(without initial connection time\)/, "tps"),
      latencyMs: readNumber(output, /latency average = ([\d.]+) ms/, "average latency"),
      transactions: readNumber(output, /number of transactions actually processed: (\d+)/, "transaction count"),
    };
  } finally {
    cluster.destroy();
  }
}

async function main(): Promise<void> {
  const tier = process.argv[2] ?? "growth";
  if (!isTierName(tier)) throw new Error(`unknown tier "${tier}"; tiers: ${TIER_NAMES.join(", ")}`);
  const seconds = Number(process.argv[3] ?? "20");
  const { plan } = tierPlan(tier);
  const clients = plan.connections.budget;
  const configs: [string, Readonly<Record<string, string>>][] = [
    ["plan", plan.postgres.settings],
    ["defaults", { max_connections: String(plan.connections.maxConnections) }],
    ["seed", SEED_POSTGRES_SETTINGS],
  ];
  const version = spawnSync(`${PG_BIN}/postgres`, ["--version"], { encoding: "utf8" }).stdout.trim();
  console.log(`pgbench, ${tier} tier: ${new Date().toISOString()}`);
  console.log(`machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, ${os.platform()} ${os.release()}; ${version}`);
  console.log(`workload: pgbench -i -s ${SCALE}, then TPC-B-like read-write, ${clients} clients (the tier's connection budget), ${THREADS} threads, ${seconds} s per run; no container limits`);

  const results: Result[] = [];
  for (const [label, settings] of configs) {
    const result = await run(label, settings, clients, seconds);
    results.push(result);
    console.log(`  ${label.padEnd(9)} ${result.tps.toFixed(1).padStart(9)} tps  ${result.latencyMs.toFixed(3).padStart(8)} ms avg latency  (${result.transactions} transactions)`);
  }
  const [planned, defaults, seed] = results;
  console.log(`plan / defaults: ${(planned.tps / defaults.tps).toFixed(2)}x tps, ${(planned.latencyMs / defaults.latencyMs).toFixed(2)}x latency`);
  console.log(`plan / seed:     ${(planned.tps / seed.tps).toFixed(2)}x tps, ${(planned.latencyMs / seed.latencyMs).toFixed(2)}x latency`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
