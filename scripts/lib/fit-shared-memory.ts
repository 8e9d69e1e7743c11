/**
 * Measures PostgreSQL 15's own shared-memory figure (`postgres -C shared_memory_size`, MB rounded
 * up) over a grid of settings and fits the linear model model/postgres/memory.ts states:
 *
 *   shared MiB = c0 + c1 x shared_buffers MiB + c2 x wal_buffers MiB + c3 x N
 *                   + c4 x N x max_locks_per_transaction + c5 x N x max_pred_locks_per_transaction
 *   N = MaxBackends + max_prepared_transactions,
 *   MaxBackends = max_connections + autovacuum_max_workers + 1 + max_worker_processes + max_wal_senders
 *
 * Prints the coefficients and the largest error over the grid; the coefficients are copied into
 * memory.ts by hand, and test/integration/pg-memory.test.ts checks them against the server again.
 *
 *   npx ts-node scripts/lib/fit-shared-memory.ts
 */
import * as fs from "fs";
import * as path from "path";
import { initDataDir, PG_BIN, runAsPostgresAsync } from "./pgServer";
import { renderPostgresArgs } from "../../model/render/postgres";
import { sharedMemoryTerms } from "../../model/postgres/memory";

function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r][col] / m[col][col];
      for (let c = col; c <= n; c++) m[r][c] -= f * m[col][c];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

/** Ordinary least squares: the x minimising |X x - y|. */
export function leastSquares(rows: number[][], y: number[]): number[] {
  const k = rows[0].length;
  const xtx = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => rows.reduce((s, r) => s + r[i] * r[j], 0)));
  const xty = Array.from({ length: k }, (_, i) => rows.reduce((s, r, n) => s + r[i] * y[n], 0));
  return solve(xtx, xty);
}

export function grid(): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  const sb = ["128MB", "512MB", "768MB", "1GB", "1536MB", "2GB", "3GB"];
  const wal = ["-1", "4MB", "16MB", "64MB"];
  const conns = ["20", "60", "100", "300", "500", "1000"];
  const workers = ["2", "8", "16"];
  const senders = ["0", "3", "10"];
  const av = ["3", "6"];
  const locks = ["64", "128"];
  const pred = ["64", "256"];
  const prepared = ["0", "10"];
  // A deterministic spread over the grid: every value of every axis, mixed (not the full product).
  let i = 0;
  for (const s of sb)
    for (const c of conns)
      for (const w of wal) {
        i++;
        out.push({
          shared_buffers: s,
          wal_buffers: w,
          max_connections: c,
          max_worker_processes: workers[i % workers.length],
          max_wal_senders: senders[(i >> 1) % senders.length],
          autovacuum_max_workers: av[(i >> 2) % av.length],
          max_locks_per_transaction: locks[(i >> 3) % locks.length],
          max_pred_locks_per_transaction: pred[(i >> 4) % pred.length],
          max_prepared_transactions: prepared[(i * 7) % 3 === 0 ? 1 : 0],
        });
      }
  return out;
}

export async function measureSharedMemoryMiB(dataDir: string, settings: Readonly<Record<string, string>>): Promise<number> {
  const run = await runAsPostgresAsync(`${PG_BIN}/postgres`, ["-D", dataDir, "-C", "shared_memory_size", ...renderPostgresArgs(settings)]);
  if (run.status !== 0) throw new Error(`postgres -C shared_memory_size failed: ${run.stderr}`);
  return Number(run.stdout.trim());
}

async function main(): Promise<void> {
  const dataDir = initDataDir("advwell-shmfit-");
  try {
    const settings = grid();
    // One at a time: for a runtime-computed value `postgres -C` takes the data dir's lock file.
    const measured: number[] = [];
    for (const s of settings) measured.push(await measureSharedMemoryMiB(dataDir, s));
    const rows = settings.map((s) => {
      const t = sharedMemoryTerms(s);
      return [1, t.sharedBuffersMiB, t.walBuffersMiB, t.lockSlots, t.lockSlots * t.maxLocksPerTransaction, t.lockSlots * t.maxPredLocksPerTransaction, t.hashBucketsMiB, t.slruMiB];
    });
    // shared_memory_size is rounded up to whole MB: the true size lies in (MB - 1, MB]; fit the midpoint.
    const coef = leastSquares(rows, measured.map((m) => m - 0.5));
    const errors = rows.map((r, i) => r.reduce((s, x, j) => s + x * coef[j], 0) - (measured[i] - 0.5));
    console.log(`${settings.length} settings; coefficients (MiB): ${coef.map((c) => c.toPrecision(8)).join(", ")}`);
    console.log(`error vs the midpoint of the reported MB: max ${Math.max(...errors.map(Math.abs)).toFixed(3)} MiB, mean |e| ${(errors.reduce((s, e) => s + Math.abs(e), 0) / errors.length).toFixed(3)} MiB`);
    console.log(`per-entry bytes: per MiB of shared_buffers ${(coef[1] * 1048576).toFixed(0)}, per MiB of wal_buffers ${(coef[2] * 1048576).toFixed(0)}, per backend slot ${(coef[3] * 1048576).toFixed(0)}, per lock entry ${(coef[4] * 1048576).toFixed(1)}, per predicate-lock entry ${(coef[5] * 1048576).toFixed(1)}; hash buckets x ${coef[6].toFixed(3)}, SLRU buffers x ${coef[7].toFixed(3)}`);
  } finally {
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
