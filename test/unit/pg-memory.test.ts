/** The worst-case memory arithmetic (model/postgres/memory.ts); the integration test checks the measured parts against a real server. */
import { largestWorkMemKiB, PRIVATE_MEMORY_MIB, sharedMemoryMiB, sharedMemoryTerms, worstCaseMemory } from "../../model/postgres/memory";
import { pgtuneSettings } from "../../model/postgres/pgtune";
import { SEED_POSTGRES_SETTINGS } from "../../model/postgres/tuning";

describe("sharedMemoryTerms", () => {
  it("reads settings as PostgreSQL does, defaults included", () => {
    const t = sharedMemoryTerms({});
    // Defaults: 128MB of buffers (16384 x 8kB), wal_buffers -1 = 1/32 of them = 4MB, MaxBackends 100 + 3 + 1 + 8 + 10.
    expect(t).toMatchObject({ sharedBuffersMiB: 128, walBuffersMiB: 4, maxBackends: 122, lockSlots: 122, maxLocksPerTransaction: 64, maxPredLocksPerTransaction: 64 });
    expect(sharedMemoryTerms({ shared_buffers: "1GB" }).walBuffersMiB).toBe(16); // capped at one WAL segment
    expect(sharedMemoryTerms({ shared_buffers: "1MB" }).walBuffersMiB).toBe(0.0625); // at least 8 blocks
    expect(sharedMemoryTerms({ wal_buffers: "1" }).walBuffersMiB).toBe(0.03125); // at least 4 blocks
    expect(sharedMemoryTerms({ shared_buffers: "16384" }).sharedBuffersMiB).toBe(128);
    expect(sharedMemoryTerms({ max_prepared_transactions: "10" }).lockSlots).toBe(132);
  });
  it("refuses values PostgreSQL would refuse", () => {
    expect(() => sharedMemoryTerms({ shared_buffers: "lots" })).toThrow(/shared_buffers/);
  });
});

describe("sharedMemoryMiB", () => {
  it("is the fitted model: about 1.02 MiB per MiB of shared_buffers plus ~20-40 MiB of structures", () => {
    // PostgreSQL 15.20 reported 143 MB for the defaults and 1074 MB for shared_buffers=1GB (postgres -C shared_memory_size).
    expect(sharedMemoryMiB({})).toBeGreaterThan(141.5);
    expect(sharedMemoryMiB({})).toBeLessThan(143.5);
    expect(sharedMemoryMiB({ shared_buffers: "1GB" })).toBeGreaterThan(1072.5);
    expect(sharedMemoryMiB({ shared_buffers: "1GB" })).toBeLessThan(1074.5);
    expect(sharedMemoryMiB({ max_connections: "500" }) - sharedMemoryMiB({ max_connections: "100" })).toBeGreaterThan(10);
  });
});

describe("worstCaseMemory", () => {
  const growth24 = pgtuneSettings({ memoryMiB: 3072, cpus: 2, maxConnections: 24 });

  it("counts each part by the formula", () => {
    const w = worstCaseMemory(growth24);
    // 24MB work_mem, hash_mem_multiplier 2.0: 48 MiB per process.
    expect(w.inputs).toMatchObject({ maxConnections: 24, parallelWorkers: 8, autovacuumWorkers: 3, walSenders: 10, workMemKiB: 24576, hashMemMultiplier: 2, autovacuumWorkMemKiB: 196608, maintenanceWorkMemKiB: 196608 });
    expect(w.parts.connections).toBeCloseTo(24 * (48 + PRIVATE_MEMORY_MIB.backend));
    expect(w.parts.parallelWorkers).toBeCloseTo(8 * (48 + PRIVATE_MEMORY_MIB.parallelWorker));
    expect(w.parts.autovacuum).toBeCloseTo(3 * (192 + PRIVATE_MEMORY_MIB.autovacuumWorker));
    expect(w.parts.manualMaintenance).toBe(192);
    expect(w.parts.walSenders).toBeCloseTo(10 * PRIVATE_MEMORY_MIB.walSender);
    expect(w.parts.tempBuffers).toBe(0);
    expect(w.totalMiB).toBeCloseTo(Object.values(w.parts).reduce((a, b) => a + b, 0));
  });

  it("honours the settings that change it: hash_mem_multiplier, parallel workers, autovacuum_work_mem (capped at 1GB), temp_buffers", () => {
    const base = worstCaseMemory(growth24);
    expect(worstCaseMemory({ ...growth24, hash_mem_multiplier: "1" }).parts.connections).toBeCloseTo(24 * (24 + PRIVATE_MEMORY_MIB.backend));
    expect(worstCaseMemory({ ...growth24, max_parallel_workers: "2" }).inputs.parallelWorkers).toBe(2);
    expect(worstCaseMemory({ ...growth24, max_worker_processes: "1" }).inputs.parallelWorkers).toBe(1);
    expect(worstCaseMemory({ ...growth24, autovacuum_work_mem: "64MB" }).parts.autovacuum).toBeCloseTo(3 * (64 + PRIVATE_MEMORY_MIB.autovacuumWorker));
    expect(worstCaseMemory({ ...growth24, maintenance_work_mem: "4GB" }).inputs.autovacuumWorkMemKiB).toBe(1048576);
    expect(worstCaseMemory(growth24, { countTempBuffers: true }).parts.tempBuffers).toBe(24 * 8);
    expect(worstCaseMemory(growth24, { manualMaintenance: 0 }).totalMiB).toBeCloseTo(base.totalMiB - 192);
    expect(worstCaseMemory(growth24, { privateMiB: { backend: 10 } }).parts.connections).toBeCloseTo(24 * 58);
  });

  it("the seed's settings: 300 connections x 16MB x 2 alone are 9.4 GiB, three times the seed's 3 GiB container", () => {
    const w = worstCaseMemory(SEED_POSTGRES_SETTINGS);
    expect(w.parts.connections).toBeCloseTo(300 * (32 + PRIVATE_MEMORY_MIB.backend));
    expect(w.totalMiB).toBeGreaterThan(3 * 3072);
  });
});

describe("largestWorkMemKiB", () => {
  it("returns the largest work_mem whose worst case fits, and one kB more does not", () => {
    const settings = pgtuneSettings({ memoryMiB: 3072, cpus: 2, maxConnections: 24 });
    const ceiling = 0.95 * 3072;
    const kb = largestWorkMemKiB(settings, ceiling)!;
    expect(kb).toBeGreaterThan(16 * 1024);
    expect(worstCaseMemory({ ...settings, work_mem: `${kb}kB` }).totalMiB).toBeLessThanOrEqual(ceiling);
    expect(worstCaseMemory({ ...settings, work_mem: `${kb + 1}kB` }).totalMiB).toBeGreaterThan(ceiling);
  });

  it("is undefined when not even 64kB fits", () => {
    expect(largestWorkMemKiB(pgtuneSettings({ memoryMiB: 3072, cpus: 2, maxConnections: 500 }), 0.95 * 3072)).toBeUndefined();
  });
});
