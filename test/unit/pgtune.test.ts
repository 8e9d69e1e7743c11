/**
 * The PGTune port against values computed by PGTune's own code (le0pard/pgtune at the commit the
 * fixture names) on a grid that includes every tier's container.
 */
import reference from "./fixtures/pgtune-reference.json";
import { PGTUNE_REFERENCE, pgtuneFormatKb, pgtuneSettings } from "../../model/postgres/pgtune";
import { TIERS, TIER_NAMES } from "../../model/tiers";

interface Row {
  readonly case: string;
  readonly memoryMiB: number;
  readonly cpus: number;
  readonly maxConnections: number;
  readonly settings: Record<string, string>;
}
const rows = reference.rows as Row[];

describe("pgtuneSettings equals PGTune's own output", () => {
  it("the fixture and the port cite the same commit", () => {
    expect(reference.source.commit).toBe(PGTUNE_REFERENCE.commit);
    expect(reference.inputs).toMatchObject({ dbVersion: 15, osType: "linux", dbType: "web", hdType: "ssd", dbSize: "mid_ram" });
  });

  it("the grid holds every tier's container at several connection counts", () => {
    for (const tier of TIER_NAMES) {
      const { cpuLimit, memoryLimitMiB } = TIERS[tier].postgres;
      const at = rows.filter((r) => r.cpus === cpuLimit && r.memoryMiB === memoryLimitMiB).map((r) => r.maxConnections);
      expect(at).toEqual(expect.arrayContaining([18, 24, 40, 60, 100, 300, 500]));
    }
  });

  it.each(rows.map((r) => [`${r.case} ${r.cpus} CPU ${r.memoryMiB} MiB, max_connections ${r.maxConnections}`, r] as const))("%s", (_label, row) => {
    const port = pgtuneSettings({ memoryMiB: row.memoryMiB, cpus: row.cpus, maxConnections: row.maxConnections });
    expect(port).toEqual(row.settings);
    // Same settings in the same order as PGTune prints them.
    expect(Object.keys(port)).toEqual(Object.keys(row.settings));
  });
});

describe("PGTune's rules, by example", () => {
  it("work_mem: (RAM - shared_buffers) / ((max_connections + 8) x 3) below 4 CPUs, floor 4MB", () => {
    // growth, 24 connections: (3072 - 768) MiB / (32 x 3) = 24 MiB exactly.
    expect(pgtuneSettings({ memoryMiB: 3072, cpus: 2, maxConnections: 24 }).work_mem).toBe("24MB");
    // growth, 300 connections: 2359296 kB / 924 = 2553 kB, below the 4MB floor.
    expect(pgtuneSettings({ memoryMiB: 3072, cpus: 2, maxConnections: 300 }).work_mem).toBe("4MB");
    // enterprise, 500 connections: (8192 - 2048) MiB / ((500 + 4) x 3) = 4161 kB; W is the 4 CPUs' max_worker_processes.
    expect(pgtuneSettings({ memoryMiB: 8192, cpus: 4, maxConnections: 500 }).work_mem).toBe("4161kB");
  });

  it("no parallel settings below 4 CPUs; CPUs and ceil(CPUs/2) from 4", () => {
    const three = pgtuneSettings({ memoryMiB: 6144, cpus: 3, maxConnections: 60 });
    expect(Object.keys(three).filter((k) => k.includes("parallel") || k === "max_worker_processes")).toEqual([]);
    const four = pgtuneSettings({ memoryMiB: 8192, cpus: 4, maxConnections: 60 });
    expect(four).toMatchObject({ max_worker_processes: "4", max_parallel_workers: "4", max_parallel_workers_per_gather: "2", max_parallel_maintenance_workers: "2" });
  });

  it("huge_pages try from 2GB of shared_buffers; jit off and wal_compression lz4 always", () => {
    expect(pgtuneSettings({ memoryMiB: 8191, cpus: 4, maxConnections: 60 }).huge_pages).toBe("off");
    expect(pgtuneSettings({ memoryMiB: 8192, cpus: 4, maxConnections: 60 })).toMatchObject({ huge_pages: "try", jit: "off", wal_compression: "lz4" });
  });

  it("a 0.5 CPU limit is 'not given' to PGTune, a 4.9 CPU limit is 4", () => {
    expect(pgtuneSettings({ memoryMiB: 2048, cpus: 0.5, maxConnections: 20 })).toEqual(pgtuneSettings({ memoryMiB: 2048, cpus: 1, maxConnections: 20 }));
    expect(pgtuneSettings({ memoryMiB: 8192, cpus: 4.9, maxConnections: 20 }).max_worker_processes).toBe("4");
  });

  it("refuses inputs PGTune could not be given", () => {
    expect(() => pgtuneSettings({ memoryMiB: 3072.5, cpus: 2, maxConnections: 20 })).toThrow(/memoryMiB/);
    expect(() => pgtuneSettings({ memoryMiB: 3072, cpus: 2, maxConnections: 0 })).toThrow(/maxConnections/);
    expect(() => pgtuneSettings({ memoryMiB: 3072, cpus: -1, maxConnections: 20 })).toThrow(/cpus/);
  });

  it("formats sizes as PGTune does", () => {
    expect([pgtuneFormatKb(1048576), pgtuneFormatKb(786432), pgtuneFormatKb(2621), pgtuneFormatKb(32)]).toEqual(["1GB", "768MB", "2621kB", "32kB"]);
  });
});
