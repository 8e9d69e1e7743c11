/**
 * A PostgreSQL benchmark where tuning shows: the same data, the same run, several settings, each
 * server inside the tier's container limits (a cgroup with the container's memory limit and CPU
 * quota, as far as this machine allows), two workloads:
 *
 *   TPC-B-like   pgbench's built-in read-write script (short transactions; tuning barely matters)
 *   reporting    a mix of ORDER BY (window sort), GROUP BY (hash aggregate), hash joins and
 *                COUNT(DISTINCT) over 2M orders / 200k customers, sized so that a small work_mem
 *                spills to temp files
 *
 * both at the tier's connection budget (clients = the plan's connections.budget). Settings:
 *   plan       the plan's settings for the tier (resolveStack on the stack's config + advwell:tier)
 *   seed       the seed's literal settings (SEED_POSTGRES_SETTINGS)
 *   defaults   PostgreSQL 15's defaults
 *   pgtune@N   PGTune (model/postgres/pgtune.ts) for the tier's container at a budget-sized
 *              max_connections N = budget + superuser_reserved_connections
 *   pgtune@N capped   the same with work_mem capped so the worst case (model/postgres/memory.ts)
 *              fits 95 % of the container: what the plan is expected to emit once wired
 * Per setting and workload it reports TPS, average latency, temp bytes written
 * (pg_stat_database.temp_bytes delta), the cgroup's peak memory, and the setting's worst case.
 *
 *   npx ts-node scripts/bench-postgres.ts [tier] [--seconds 15] [--queries 6] [--warmup 5] [--stack production] [--scale 10]
 * (--seconds: the TPC-B-like run; --queries: reporting queries per client, the same ones for every
 *  setting; --rounds N: run every setting N times, interleaved, and show each one's median round)
 *
 * Each workload gets a short unmeasured warm-up on every server first. Not run in CI.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { applySet, loadStackConfig } from "../config/stackConfig";
import { isTierName, resolveStack, SEED_POSTGRES_SETTINGS, TIER_NAMES, TIERS } from "../model";
import { settingKiB } from "../model/postgres/catalog";
import { largestWorkMemKiB, worstCaseMemory } from "../model/postgres/memory";
import { pgtuneSettings } from "../model/postgres/pgtune";
import { cgroupMemoryEvents, cgroupPeakMiB, initDataDir, makeTempDir, PG_BIN, PgServer, runAsPostgres, serverVersion, SUPERUSER, SUPERUSER_PASSWORD } from "./lib/pgServer";

const WORST_CASE_CEILING = 0.95;

interface Options {
  readonly tier: string;
  readonly seconds: number;
  readonly warmup: number;
  readonly stack: string;
  readonly scale: number;
  readonly reportingPerClient: number;
  readonly rounds: number;
}

function parseArgs(argv: string[]): Options {
  const args = argv.filter((a) => a !== "--");
  const value = (flag: string, fallback: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const positional = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1].startsWith("--")));
  return { tier: positional[0] ?? "growth", seconds: Number(value("--seconds", "15")), warmup: Number(value("--warmup", "5")), stack: value("--stack", "production"), scale: Number(value("--scale", "10")), reportingPerClient: Number(value("--queries", "6")), rounds: Number(value("--rounds", "1")) };
}

// ---------- the data ----------

const REPORTING_SCHEMA = `
CREATE TABLE customers AS
  SELECT g AS id, 'customer ' || g AS name, g % 50 AS region, (g % 20)::numeric / 100 AS discount, md5(g::text) AS email
  FROM generate_series(1, 200000) g;
CREATE TABLE products AS
  SELECT g AS id, 'product ' || g AS name, g % 40 AS category, (random() * 500)::numeric(10,2) AS price
  FROM generate_series(1, 10000) g;
CREATE TABLE orders AS
  SELECT g AS id, (1 + (g * 7919) % 200000)::int AS customer_id, (1 + (g * 104729) % 10000)::int AS product_id,
         ((g * 31) % 100000)::numeric / 100 AS amount,
         timestamptz '2024-01-01' + ((g * 13) % 525600) * interval '1 minute' AS created_at,
         (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4] AS status
  FROM generate_series(1::bigint, 2000000) g;
ALTER TABLE customers ADD PRIMARY KEY (id);
ALTER TABLE products ADD PRIMARY KEY (id);
ALTER TABLE orders ADD PRIMARY KEY (id);
CREATE INDEX ON orders (created_at);
`;

/** pgbench scripts of the reporting mix: each sorts, hashes or aggregates tens of MB. */
const REPORTING_SCRIPTS: Readonly<Record<string, string>> = {
  "sort-window": `\\set c random(1, 180000)
SELECT max(rn) FROM (SELECT row_number() OVER (ORDER BY created_at, amount DESC) AS rn FROM orders WHERE customer_id BETWEEN :c AND :c + 20000) s;
`,
  "group-by": `\\set m random(0, 9)
SELECT customer_id, count(*), sum(amount) FROM orders WHERE created_at >= timestamptz '2024-01-01' + :m * interval '1 month' GROUP BY customer_id ORDER BY 3 DESC LIMIT 20;
`,
  "hash-join": `\\set m random(0, 10)
SELECT c.region, p.category, count(*), sum(o.amount * (1 - c.discount)) FROM orders o JOIN customers c ON c.id = o.customer_id JOIN products p ON p.id = o.product_id WHERE o.created_at BETWEEN timestamptz '2024-01-01' + :m * interval '1 month' AND timestamptz '2024-02-15' + :m * interval '1 month' GROUP BY 1, 2 ORDER BY 4 DESC LIMIT 10;
`,
  "count-distinct": `\\set p random(1, 9000)
SELECT count(DISTINCT customer_id), count(DISTINCT status) FROM orders WHERE product_id BETWEEN :p AND :p + 1000;
`,
};

function pgbench(port: number, args: string[]): string {
  const r = spawnSync(`${PG_BIN}/pgbench`, ["-h", "127.0.0.1", "-p", String(port), "-U", SUPERUSER, ...args, "bench"], { encoding: "utf8", env: { ...process.env, PGPASSWORD: SUPERUSER_PASSWORD } });
  if (r.status !== 0) throw new Error(`pgbench ${args.join(" ")} exited ${r.status}: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`);
  return r.stdout;
}

async function loadTemplate(scale: number): Promise<string> {
  const dataDir = initDataDir("advwell-bench-template-");
  // Loading is the same for every setting; generous settings make it quick.
  try {
    const server = await PgServer.start({ dataDir, settings: { maintenance_work_mem: "512MB", max_wal_size: "8GB", checkpoint_timeout: "30min" } });
    try {
      await server.query("CREATE DATABASE bench");
      pgbench(server.port, ["-i", "-q", "-s", String(scale)]);
      await server.query(REPORTING_SCHEMA, [], "bench");
      await server.query("VACUUM ANALYZE", [], "bench");
      await server.query("CHECKPOINT");
    } finally {
      server.stop("fast");
    }
    return dataDir;
  } catch (error) {
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    throw error;
  }
}

function copyDataDir(template: string): string {
  const root = makeTempDir("advwell-bench-run-");
  const dataDir = path.join(root, "data");
  runAsPostgres("cp", ["-a", template, dataDir]);
  return dataDir;
}

// ---------- one run ----------

interface WorkloadResult {
  readonly tps?: number;
  readonly latencyMs?: number;
  readonly transactions?: number;
  readonly tempBytes?: number;
  readonly error?: string;
}

interface ConfigResult {
  readonly label: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly worstCaseMiB: number;
  readonly cgroup: string;
  readonly inCgroup: boolean;
  readonly results: Record<string, WorkloadResult>;
  readonly peakMiB?: number;
  readonly memoryEvents?: string;
}

function readNumber(output: string, pattern: RegExp): number | undefined {
  const m = pattern.exec(output);
  return m ? Number(m[1]) : undefined;
}

async function tempBytes(server: PgServer): Promise<number> {
  const [row] = await server.query<{ temp_bytes: string }>("SELECT temp_bytes FROM pg_stat_database WHERE datname = 'bench'");
  return Number(row.temp_bytes);
}

async function workload(server: PgServer, scriptsDir: string, name: string, clients: number, seconds: number, warmup: number, reportingPerClient: number): Promise<WorkloadResult> {
  const threads = Math.min(clients, os.cpus().length);
  const scriptArgs = name === "tpcb" ? ["-b", "tpcb-like"] : Object.keys(REPORTING_SCRIPTS).flatMap((s) => ["-f", path.join(scriptsDir, `${s}.sql`)]);
  try {
    if (warmup > 0) pgbench(server.port, ["-n", "--random-seed", "7", "-c", String(clients), "-j", String(threads), "-T", String(warmup), ...scriptArgs]);
    await sleep(1200); // backends flush their statistics at most once a second
    const before = await tempBytes(server);
    // The same seed for every setting: every client draws the same queries in the same order. The
    // reporting mix runs a fixed number of queries per client (its queries take seconds, so a time
    // limit would cut each client off after a handful and the count at the cut-off would dominate);
    // TPC-B-like runs for a time.
    const length = name === "tpcb" ? ["-T", String(seconds)] : ["-t", String(reportingPerClient)];
    const output = pgbench(server.port, ["-n", "--random-seed", "42", "-c", String(clients), "-j", String(threads), ...length, ...scriptArgs]);
    await sleep(1200);
    const after = await tempBytes(server);
    return {
      tps: readNumber(output, /tps = ([\d.]+) \(without initial connection time\)/),
      latencyMs: readNumber(output, /latency average = ([\d.]+) ms/),
      transactions: readNumber(output, /number of transactions actually processed: (\d+)/),
      tempBytes: after - before,
    };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function inCgroup(pid: number, placement: { dirs: readonly string[] }): boolean {
  if (placement.dirs.length === 0) return false;
  const cg = fs.readFileSync(`/proc/${pid}/cgroup`, "utf8");
  return placement.dirs.every((d) => cg.includes(path.basename(d)));
}

async function runConfig(template: string, scriptsDir: string, label: string, settings: Readonly<Record<string, string>>, limits: { memoryMiB: number; cpus: number }, clients: number, opts: Options): Promise<ConfigResult> {
  const dataDir = copyDataDir(template);
  const worstCaseMiB = worstCaseMemory(settings).totalMiB;
  let server: PgServer | undefined;
  try {
    server = await PgServer.start({ dataDir, settings: { ...settings, log_connections: "off", log_disconnections: "off" }, cgroup: limits });
    const placed = inCgroup(server.pid(), server.placement);
    const results: Record<string, WorkloadResult> = {};
    for (const name of ["tpcb", "reporting"]) {
      results[name] = await workload(server, scriptsDir, name, clients, opts.seconds, opts.warmup, opts.reportingPerClient);
      const r = results[name];
      console.error(`  ${label} ${name}: ${r.error ?? `${r.tps?.toFixed(1)} tps, ${r.latencyMs} ms, ${((r.tempBytes ?? 0) / 1048576).toFixed(0)} MiB temp`}`);
    }
    return { label, settings, worstCaseMiB, cgroup: server.placement.description, inCgroup: placed, results, peakMiB: cgroupPeakMiB(server.placement), memoryEvents: cgroupMemoryEvents(server.placement) };
  } catch (error) {
    return { label, settings, worstCaseMiB, cgroup: server?.placement.description ?? "not started", inCgroup: false, results: { tpcb: { error: (error as Error).message }, reporting: { error: (error as Error).message } } };
  } finally {
    if (server) server.destroy();
    else fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
}

/** Per workload, the round with the median TPS (failed rounds sort last). */
function medianRun(runs: readonly ConfigResult[]): ConfigResult {
  const pick = (name: string): WorkloadResult => {
    const sorted = runs.map((r) => r.results[name]).sort((a, b) => (b.tps ?? -1) - (a.tps ?? -1));
    return sorted[Math.floor((sorted.length - 1) / 2)];
  };
  const tpsRange = (name: string) => runs.map((r) => r.results[name].tps?.toFixed(name === "tpcb" ? 0 : 2) ?? "failed").join(", ");
  if (runs.length > 1) console.log(`rounds of ${runs[0].label}: TPC-B tps ${tpsRange("tpcb")}; reporting tps ${tpsRange("reporting")}`);
  return { ...runs[0], results: { tpcb: pick("tpcb"), reporting: pick("reporting") }, peakMiB: Math.max(...runs.map((r) => r.peakMiB ?? 0)) };
}

// ---------- output ----------

const mib = (bytes: number | undefined) => (bytes === undefined ? "-" : `${(bytes / 1048576).toFixed(0)} MiB`);

function table(results: readonly ConfigResult[], limitMiB: number): string {
  const lines = [
    "| settings | max_connections | work_mem | worst case / container | TPC-B tps | TPC-B latency | TPC-B temp | reporting tps | reporting latency | reporting temp (per query) | cgroup peak |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    const cell = (w: WorkloadResult | undefined, f: (w: WorkloadResult) => string) => (w === undefined ? "-" : w.error ? "failed" : f(w));
    const t = r.results.tpcb;
    const q = r.results.reporting;
    lines.push(
      `| ${r.label} | ${r.settings.max_connections ?? "100 (default)"} | ${r.settings.work_mem ?? "4MB (default)"} | ${Math.round(r.worstCaseMiB)} / ${limitMiB} MiB${r.worstCaseMiB <= limitMiB ? "" : " (exceeds)"} | ` +
        `${cell(t, (w) => w.tps!.toFixed(1))} | ${cell(t, (w) => `${w.latencyMs!.toFixed(1)} ms`)} | ${cell(t, (w) => mib(w.tempBytes))} | ` +
        `${cell(q, (w) => w.tps!.toFixed(2))} | ${cell(q, (w) => `${w.latencyMs!.toFixed(0)} ms`)} | ${cell(q, (w) => `${mib(w.tempBytes)} (${(w.tempBytes! / w.transactions! / 1048576).toFixed(1)} MiB)`)} | ${r.peakMiB === undefined ? "-" : `${Math.round(r.peakMiB)} MiB`} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (!isTierName(opts.tier)) throw new Error(`unknown tier "${opts.tier}"; tiers: ${TIER_NAMES.join(", ")}`);
  const { config, project } = loadStackConfig(opts.stack);
  applySet(config, `${project}:tier=${opts.tier}`, project);
  const { plan, findings } = resolveStack(config, opts.stack);
  if (!plan) throw new Error(`the ${opts.stack} stack with tier ${opts.tier} has no plan: ${findings.map((f) => f.message).join("; ")}`);
  const container = TIERS[opts.tier].postgres;
  const limits = { memoryMiB: container.memoryLimitMiB, cpus: container.cpuLimit };
  const clients = plan.connections.budget;
  const budgetMax = plan.connections.budget + plan.connections.superuserReserved;
  const pgtune = pgtuneSettings({ memoryMiB: container.memoryLimitMiB, cpus: container.cpuLimit, maxConnections: budgetMax });
  const capKiB = largestWorkMemKiB(pgtune, WORST_CASE_CEILING * container.memoryLimitMiB);
  const pgtuneCapped = capKiB === undefined ? undefined : { ...pgtune, work_mem: `${Math.min(capKiB, settingKiB("work_mem", pgtune.work_mem)!)}kB` };
  const { listen_addresses: _harnessOwned, ...planSettings } = plan.postgres.settings;
  const configs: [string, Readonly<Record<string, string>>][] = [
    ["plan", planSettings],
    ["seed", SEED_POSTGRES_SETTINGS],
    ["defaults", {}],
    [`pgtune@${budgetMax}`, pgtune],
  ];
  if (pgtuneCapped) configs.push([`pgtune@${budgetMax}, work_mem capped`, pgtuneCapped]);

  const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
  const machine = `${cpu}, ${os.cpus().length} CPUs, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, ${os.platform()} ${os.release()}`;
  console.log(`# bench-postgres-v2: ${opts.tier} tier, ${opts.stack} stack, ${new Date().toISOString()}`);
  console.log(`machine: ${machine}; ${serverVersion()}`);
  console.log(`container: ${limits.cpus} CPU, ${limits.memoryMiB} MiB; clients = connection budget = ${clients}; TPC-B-like ${opts.seconds} s, reporting ${opts.reportingPerClient} queries per client (${opts.reportingPerClient * clients} in all, the same for every setting); each after a ${opts.warmup} s warm-up`);
  console.log(`data: pgbench scale ${opts.scale}; orders 2,000,000, customers 200,000, products 10,000 (the same copy for every setting)`);

  const scriptsDir = makeTempDir("advwell-bench-scripts-");
  for (const [name, text] of Object.entries(REPORTING_SCRIPTS)) fs.writeFileSync(path.join(scriptsDir, `${name}.sql`), text);
  console.error("loading the data once ...");
  let template: string;
  try {
    template = await loadTemplate(opts.scale);
  } catch (error) {
    fs.rmSync(scriptsDir, { recursive: true, force: true });
    throw error;
  }
  const results: ConfigResult[] = [];
  try {
    // Rounds interleave the settings (A B C, A B C, ...) so that a slow spell of the machine does
    // not land on one setting; the table shows each setting's median round.
    const rounds: ConfigResult[][] = configs.map(() => []);
    for (let round = 0; round < opts.rounds; round++) {
      // Each round starts at the next setting, so no setting always runs first (after another's
      // cache state) or last.
      const order = configs.map((_, k) => (k + round) % configs.length);
      for (const i of order) {
        const [label, settings] = configs[i];
        console.error(`${label}, round ${round + 1} of ${opts.rounds} ...`);
        rounds[i].push(await runConfig(template, scriptsDir, label, settings, limits, clients, opts));
      }
    }
    for (const runs of rounds) results.push(medianRun(runs));
  } finally {
    fs.rmSync(path.dirname(template), { recursive: true, force: true });
    fs.rmSync(scriptsDir, { recursive: true, force: true });
  }
  const placed = results.filter((r) => r.inCgroup).length;
  console.log(`limits: ${results[0]?.cgroup ?? "-"}; postmaster inside the limits for ${placed} of ${results.length} settings${limits.cpus > os.cpus().length ? `; the ${limits.cpus}-CPU quota cannot bind on ${os.cpus().length} CPUs` : ""}; pgbench runs outside them on the same CPUs`);
  console.log("");
  console.log(table(results, limits.memoryMiB));
  console.log("");
  for (const r of results) {
    const errors = Object.entries(r.results).filter(([, w]) => w.error).map(([n, w]) => `${n}: ${w.error}`);
    console.log(`- ${r.label}: memory ${r.memoryEvents ?? "-"}${errors.length ? `; ${errors.join("; ")}` : ""}`);
  }
  const byLabel = new Map(results.map((r) => [r.label, r]));
  const seed = byLabel.get("seed")?.results.reporting;
  for (const label of ["plan", ...configs.slice(3).map(([l]) => l)]) {
    const r = byLabel.get(label);
    const q = r?.results.reporting;
    if (!r || !q || q.error || !seed || seed.error) continue;
    const fits = r.worstCaseMiB <= limits.memoryMiB;
    const seedFits = (byLabel.get("seed")?.worstCaseMiB ?? Infinity) <= limits.memoryMiB;
    console.log(
      `goal check, ${label} vs seed (reporting): temp ${mib(q.tempBytes)} vs ${mib(seed.tempBytes)} (${q.tempBytes! <= seed.tempBytes! ? "no more" : "MORE"}), tps ${((q.tps! / seed.tps!) * 100).toFixed(0)} % of the seed's (${q.tps! >= 0.9 * seed.tps! ? "within 10 % or better" : "more than 10 % slower"}), worst case ${fits ? "fits" : "exceeds"} the container, the seed's ${seedFits ? "fits" : "exceeds"}`,
    );
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
