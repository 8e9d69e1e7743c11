/**
 * The worst-case memory model against a real PostgreSQL 15:
 *   - its shared-memory part equals the server's own `postgres -C shared_memory_size` for every
 *     tier's container with PGTune's settings at several max_connections, every tier's current
 *     plan, the seed's settings and PostgreSQL's defaults, within 1 MiB;
 *   - the private memory it counts per process is not below what the server's processes use
 *     (Pss_Anon) under a realistic load.
 */
import * as fs from "fs";
import * as path from "path";
import { PRIVATE_MEMORY_MIB, sharedMemoryMiB } from "../../model/postgres/memory";
import { pgtuneSettings } from "../../model/postgres/pgtune";
import { SEED_POSTGRES_SETTINGS, TIERS, TIER_NAMES } from "../../model";
import { initDataDir } from "../../scripts/lib/pgServer";
import { measureSharedMemoryMiB } from "../../scripts/lib/fit-shared-memory";
import { measurePrivateMemory, summarise } from "../../scripts/lib/measure-private-memory";
import { allTierPlans } from "./support/tierPlans";

jest.setTimeout(300_000);

/** The server reports whole MB rounded up, so the true size lies in (reported - 1, reported]. */
const TOLERANCE_MIB = 1;

function cases(): [string, Record<string, string>][] {
  const out: [string, Record<string, string>][] = [["PostgreSQL defaults", {}], ["seed", { ...SEED_POSTGRES_SETTINGS }]];
  for (const tier of TIER_NAMES) {
    const { cpuLimit, memoryLimitMiB } = TIERS[tier].postgres;
    for (const maxConnections of [18, 24, 40, 60, 100, 300, 500]) {
      out.push([`${tier} PGTune at ${maxConnections}`, pgtuneSettings({ memoryMiB: memoryLimitMiB, cpus: cpuLimit, maxConnections })]);
    }
  }
  for (const [tier, { plan }] of allTierPlans()) {
    const { listen_addresses: _l, ...settings } = plan.postgres.settings;
    out.push([`${tier} plan`, settings]);
  }
  return out;
}

describe("shared memory: the model against postgres -C shared_memory_size", () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = initDataDir("advwell-pgmemory-");
  });
  afterAll(() => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));

  it(`within ${TOLERANCE_MIB} MiB of the server for every tier's container, plan, the seed and the defaults`, async () => {
    const rows: string[] = [];
    const misses: string[] = [];
    for (const [label, settings] of cases()) {
      const reported = await measureSharedMemoryMiB(dataDir, settings);
      const model = sharedMemoryMiB(settings);
      const error = model - (reported - 0.5);
      rows.push(`${label}: server ${reported} MB, model ${model.toFixed(1)} MiB`);
      if (Math.abs(error) > TOLERANCE_MIB) misses.push(`${label}: server ${reported} MB, model ${model.toFixed(2)} MiB (off by ${error.toFixed(2)})`);
    }
    expect(misses).toEqual([]);
    expect(rows.length).toBe(2 + 7 * TIER_NAMES.length + TIER_NAMES.length);
  });
});

describe("private memory: the model's figures against the server's processes", () => {
  it("each process type uses no more than the model counts for it", async () => {
    const settings = pgtuneSettings({ memoryMiB: 3072, cpus: 2, maxConnections: 40 });
    const summary = summarise(await measurePrivateMemory(settings));
    // Every kind of process was measured, and the measurement is not trivially empty.
    for (const type of ["idle client backend", "parallel worker", "autovacuum worker", "walsender", "postmaster", "checkpointer", "background writer", "walwriter", "autovacuum launcher", "logical replication launcher"]) {
      expect(summary[type]?.count).toBeGreaterThan(0);
    }
    expect(summary["idle client backend"].medianMiB).toBeGreaterThan(0.5);
    expect(summary["idle client backend"].maxMiB).toBeLessThanOrEqual(PRIVATE_MEMORY_MIB.backend);
    expect(summary["parallel worker"].maxMiB).toBeLessThanOrEqual(PRIVATE_MEMORY_MIB.parallelWorker);
    expect(summary["walsender"].maxMiB).toBeLessThanOrEqual(PRIVATE_MEMORY_MIB.walSender);
    // The autovacuum worker was caught vacuuming 600k dead rows: its dead-tuple array (6 bytes a row) is autovacuum_work_mem's part.
    expect(summary["autovacuum worker"].maxMiB).toBeLessThanOrEqual(PRIVATE_MEMORY_MIB.autovacuumWorker + (600000 * 6) / 1048576);
    const background = ["postmaster", "checkpointer", "background writer", "walwriter", "autovacuum launcher", "logical replication launcher"].reduce((sum, t) => sum + summary[t].maxMiB, 0);
    expect(background).toBeLessThanOrEqual(PRIVATE_MEMORY_MIB.background);
  });
});
