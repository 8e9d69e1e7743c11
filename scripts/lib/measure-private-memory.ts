/**
 * Measures the private memory of PostgreSQL 15's processes on a real server: for each process,
 * Pss_Anon from /proc/<pid>/smaps_rollup (its anonymous memory, pages shared copy-on-write with
 * the postmaster split between the sharers; shared memory is not in it). That is what the
 * container's memory cgroup charges per process beyond shared memory and work_mem.
 *
 * The server gets a realistic load first: a 1.5M-row table, ten sessions that run catalog-heavy
 * and join queries and then sit idle, a parallel query (its workers are caught while they run),
 * an autovacuum worker caught while it vacuums 600k dead rows, and a WAL sender (pg_receivewal).
 *
 *   npx ts-node scripts/lib/measure-private-memory.ts      prints the figures
 */
import { spawn } from "child_process";
import * as fs from "fs";
import { Client } from "pg";
import { makeTempDir, PG_BIN, PgServer, SUPERUSER, SUPERUSER_PASSWORD } from "./pgServer";

export interface ProcessMemory {
  readonly pid: number;
  readonly type: string;
  /** Pss_Anon, kB. */
  readonly pssAnonKiB: number;
  /** RssAnon from /proc/<pid>/status, kB (copy-on-write pages counted in full). */
  readonly rssAnonKiB: number;
}

export function processMemory(pid: number, type: string): ProcessMemory | undefined {
  try {
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
    return { pid, type, pssAnonKiB: field(rollup, "Pss_Anon"), rssAnonKiB: field(status, "RssAnon") };
  } catch {
    return undefined; // the process ended
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls pg_stat_activity until a process of the type shows up, then measures it. */
async function catchProcess(observer: Client, type: string, timeoutMs: number): Promise<ProcessMemory | undefined> {
  const end = Date.now() + timeoutMs;
  let best: ProcessMemory | undefined;
  while (Date.now() < end) {
    const rows = (await observer.query("SELECT pid FROM pg_stat_activity WHERE backend_type = $1", [type])).rows as { pid: number }[];
    for (const { pid } of rows) {
      const m = processMemory(pid, type);
      if (m && (!best || m.pssAnonKiB > best.pssAnonKiB)) best = m;
    }
    await sleep(20);
  }
  return best;
}

export async function measurePrivateMemory(settings: Readonly<Record<string, string>>): Promise<ProcessMemory[]> {
  const server = await PgServer.start({ settings: { ...settings, autovacuum_naptime: "1s", log_connections: "off", log_disconnections: "off" } });
  const clients: Client[] = [];
  let receiver: ReturnType<typeof spawn> | undefined;
  const walDir = makeTempDir("advwell-receivewal-");
  try {
    const observer = await server.client();
    await observer.query("CREATE TABLE big AS SELECT g AS id, g % 1000 AS k, md5(g::text) AS t FROM generate_series(1, 1500000) g");
    await observer.query("CREATE TABLE small AS SELECT g AS k, md5(g::text) AS name FROM generate_series(0, 999) g");
    await observer.query("ANALYZE big; ANALYZE small");
    // Ten sessions that did real work and now sit idle, as a pooled app connection does.
    for (let i = 0; i < 10; i++) {
      const c = await server.client();
      clients.push(c);
      await c.query("SELECT c.relname, a.attname, t.typname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid JOIN pg_type t ON t.oid = a.atttypid WHERE c.relkind = 'r' ORDER BY 1, 2 LIMIT 200");
      await c.query({ name: `q${i}`, text: "SELECT s.name, count(*) FROM big b JOIN small s USING (k) WHERE b.id < $1 GROUP BY s.name ORDER BY 2 DESC LIMIT 10", values: [20000 + i] });
      await c.query("SELECT k, count(*), max(t) FROM big WHERE id < 50000 GROUP BY k ORDER BY k LIMIT 5");
    }
    await sleep(300);
    const measured: ProcessMemory[] = [];
    const activity = (await observer.query("SELECT pid, backend_type, state FROM pg_stat_activity")).rows as { pid: number; backend_type: string; state: string | null }[];
    const observerPid = (await observer.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
    for (const row of activity) {
      if (row.pid === observerPid) continue;
      const m = processMemory(row.pid, row.backend_type === "client backend" ? "idle client backend" : row.backend_type);
      if (m) measured.push(m);
    }
    const postmaster = processMemory(server.pid(), "postmaster");
    if (postmaster) measured.push(postmaster);

    // Parallel workers, caught while they run.
    const runner = clients[0];
    await runner.query("SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0");
    const parallelQuery = runner.query("SELECT count(*) FROM big WHERE md5(t) LIKE 'ab%' AND md5(md5(t)) LIKE '%a%'");
    const worker = await catchProcess(observer, "parallel worker", 1500);
    await parallelQuery;
    if (worker) measured.push(worker);

    // An autovacuum worker, caught while it vacuums.
    await observer.query("DELETE FROM big WHERE id % 5 <> 0 AND id <= 750000");
    const av = await catchProcess(observer, "autovacuum worker", 6000);
    if (av) measured.push(av);

    // A WAL sender streaming to pg_receivewal.
    const args = ["-h", "127.0.0.1", "-p", String(server.port), "-U", SUPERUSER, "-D", walDir, "--no-password"];
    receiver = spawn("runuser", ["-u", "postgres", "--", `${PG_BIN}/pg_receivewal`, ...args], { env: { ...process.env, PGPASSWORD: SUPERUSER_PASSWORD }, stdio: "ignore" });
    await observer.query("INSERT INTO small SELECT g, md5(g::text) FROM generate_series(1000, 200000) g");
    const sender = await catchProcess(observer, "walsender", 2000);
    if (sender) measured.push(sender);
    await observer.end();
    return measured;
  } finally {
    receiver?.kill("SIGTERM");
    for (const c of clients) await c.end().catch(() => undefined);
    server.destroy();
    fs.rmSync(walDir, { recursive: true, force: true });
  }
}

/** Per type: count, median and max Pss_Anon (MiB). */
export function summarise(measured: readonly ProcessMemory[]): Record<string, { count: number; medianMiB: number; maxMiB: number; maxRssAnonMiB: number }> {
  const out: Record<string, { count: number; medianMiB: number; maxMiB: number; maxRssAnonMiB: number }> = {};
  for (const type of [...new Set(measured.map((m) => m.type))].sort()) {
    const values = measured.filter((m) => m.type === type).map((m) => m.pssAnonKiB).sort((a, b) => a - b);
    const rss = measured.filter((m) => m.type === type).map((m) => m.rssAnonKiB);
    out[type] = { count: values.length, medianMiB: values[Math.floor(values.length / 2)] / 1024, maxMiB: values[values.length - 1] / 1024, maxRssAnonMiB: Math.max(...rss) / 1024 };
  }
  return out;
}

if (require.main === module) {
  const settings = JSON.parse(process.argv[2] ?? "{}") as Record<string, string>;
  measurePrivateMemory(settings)
    .then((m) => {
      for (const [type, s] of Object.entries(summarise(m))) console.log(`${type.padEnd(30)} n=${s.count}  Pss_Anon median ${s.medianMiB.toFixed(2)} MiB, max ${s.maxMiB.toFixed(2)} MiB; RssAnon max ${s.maxRssAnonMiB.toFixed(2)} MiB`);
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
