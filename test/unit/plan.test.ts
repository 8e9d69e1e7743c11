import { connectionHeadroom, derivePostgresSettings, maxConnectionsFor, parseSizeKiB, pgtuneSettings, prismaConnectionLimit, SEED_BACKEND, SEED_FRONTEND, SEED_POSTGRES, TIER_NAMES, TIERS, updateParallelism, worstCaseMemory, SEED_POSTGRES_SETTINGS } from "../../model";
import { planFor, seedNodes } from "../support/stacks";

/** Enough seed-sized nodes for every tier, so these tests see tier rules, not node-fit errors. */
const ROOMY = seedNodes(3);

describe.each(TIER_NAMES)("tier %s", (tier) => {
  const spec = TIERS[tier];
  const plan = planFor("production", [`advwell:tier=${tier}`, ROOMY]);

  test("has no error findings on three seed-sized nodes", () => {
    expect(plan.findings.filter((f) => f.level === "error")).toEqual([]);
  });

  test("runs the seed table's backend and frontend replicas", () => {
    expect(plan.services.backend!.replicas).toBe(spec.backendReplicas);
    expect(plan.services.frontend!.replicas).toBe(spec.frontendReplicas);
  });

  test("keeps the seed's per-replica limits and reservations", () => {
    expect(plan.services.backend).toMatchObject(SEED_BACKEND);
    expect(plan.services.frontend).toMatchObject(SEED_FRONTEND);
  });

  test("has PgBouncer exactly when the tier pools, and replicas exactly when it has them", () => {
    expect(plan.services.pgbouncer !== undefined).toBe(spec.pgbouncer);
    expect(plan.pgbouncer !== undefined).toBe(spec.pgbouncer);
    expect(plan.services["postgres-replica"]?.replicas ?? 0).toBe(spec.readReplicas);
    expect(plan.backend.databaseHost).toBe(spec.pgbouncer ? "pgbouncer" : "postgres");
  });

  test("derives max_connections from its connection budget: budget + headroom (a quarter, at least 5) + 3 superuser slots", () => {
    const c = plan.connections;
    expect(c.maxConnections).toBe(c.budget + Math.max(5, Math.ceil(c.budget / 4)) + 3);
    expect(plan.postgres.settings.max_connections).toBe(String(c.maxConnections));
    expect(c.maxConnections).toBeLessThan(spec.seedMaxConnections);
  });

  test("equals PGTune (le0pard/pgtune 830d3bb) for its container and max_connections, except where the plan says it departs", () => {
    const container = plan.services.postgres!;
    const reference = pgtuneSettings({ memoryMiB: container.memoryLimitMiB, cpus: Math.floor(container.cpuLimit), maxConnections: plan.connections.maxConnections });
    const departed = new Set(plan.postgres.departures.map((d) => d.setting));
    for (const [name, value] of Object.entries(reference)) {
      if (!departed.has(name)) expect({ name, value: plan.postgres.settings[name] }).toEqual({ name, value });
    }
    for (const d of plan.postgres.departures) {
      expect(plan.postgres.settings[d.setting]).toBe(d.plan);
      expect(d.pgtune).toBe(reference[d.setting]);
      expect(d.why.length).toBeGreaterThan(20);
    }
  });

  test("keeps the seed's logging", () => {
    expect(plan.postgres.settings).toMatchObject({ log_min_duration_statement: "1000", log_connections: "on", log_disconnections: "on" });
  });

  test("PostgreSQL's worst case fits its container", () => {
    expect(plan.postgres.worstCaseMemoryMiB).toBeGreaterThan(0);
    expect(plan.postgres.worstCaseMemoryMiB).toBeLessThanOrEqual(plan.postgres.memoryLimitMiB);
  });

  test("effective_cache_size never exceeds the container", () => {
    expect(parseSizeKiB(plan.postgres.settings.effective_cache_size)! / 1024).toBeLessThanOrEqual(plan.postgres.memoryLimitMiB);
  });

  test("the connection budget fits max_connections minus the superuser slots", () => {
    expect(plan.connections.budget).toBeLessThanOrEqual(plan.connections.maxConnections - 3);
    expect(plan.connections.budget).toBe(plan.connections.clients.reduce((s, c) => s + c.total, 0));
  });

  test("the Node heap stays below the backend's memory limit", () => {
    expect(plan.backend.nodeHeapMiB).toBeLessThan(plan.services.backend!.memoryLimitMiB);
  });

  test("rolling updates never drop below two thirds of the replicas", () => {
    for (const s of Object.values(plan.services)) {
      expect(s!.update.parallelism).toBeGreaterThanOrEqual(1);
      expect(s!.update.minHealthyReplicas).toBe(s!.replicas - s!.update.parallelism);
      expect(s!.update.minHealthyReplicas).toBeGreaterThanOrEqual(Math.floor((2 * s!.replicas) / 3));
    }
  });

  test("stateful and host-port services update stop-first, web services start-first with rollback", () => {
    for (const name of ["postgres", "traefik"] as const) expect(plan.services[name]!.update.order).toBe("stop-first");
    for (const name of ["backend", "frontend"] as const) {
      expect(plan.services[name]!.update).toMatchObject({ order: "start-first", failureAction: "rollback", delaySeconds: 10 });
      expect(plan.services[name]!.rollback).toMatchObject({ delaySeconds: 5 });
    }
  });

  test("every task is placed and node usage adds up", () => {
    const all = Object.values(plan.services);
    expect(plan.services.prometheus!.replicas).toBe(1);
    const tasks = all.reduce((n, s) => n + s!.replicas, 0);
    const placed = plan.nodes.reduce((n, node) => n + Object.values(node.tasks).reduce((a, b) => a + (b ?? 0), 0), 0);
    expect(placed).toBe(tasks);
    const cpu = all.reduce((n, s) => n + s!.replicas * s!.cpuReservation, 0);
    expect(plan.nodes.reduce((n, node) => n + node.cpuReserved, 0)).toBeCloseTo(cpu, 3);
    for (const node of plan.nodes) expect(node.cpuReserved).toBeLessThanOrEqual(node.cpus);
  });

  test("Postgres is pinned to the primary's node, Traefik to a manager", () => {
    const primary = plan.nodes.find((n) => n.labels["advwell.postgres"] === "primary")!;
    expect(primary.tasks.postgres).toBe(1);
    expect(plan.services.postgres!.placement.constraints).toEqual(["node.labels.advwell.postgres==primary"]);
    expect(plan.services.traefik!.placement.constraints).toEqual(["node.role==manager"]);
    const replicaNode = plan.nodes.find((n) => n.tasks["postgres-replica"]);
    if (spec.readReplicas > 0) expect(replicaNode!.name).not.toBe(primary.name);
  });
});

describe("the growth tier reproduces the seed where the seed is sound", () => {
  const plan = planFor("production");
  test("production is the growth tier, 21-50 companies", () => {
    expect(plan.tier).toBe("growth");
    expect(plan.companies).toBe("21-50");
  });
  test("3 backend replicas with 1 CPU / 1 GiB limits and 0.5 CPU / 512 MiB reservations", () => {
    expect(plan.services.backend).toMatchObject({ replicas: 3, cpuLimit: 1, memoryLimitMiB: 1024, cpuReservation: 0.5, memoryReservationMiB: 512 });
  });
  test("2 frontend replicas with 0.5 CPU / 256 MiB limits", () => {
    expect(plan.services.frontend).toMatchObject({ replicas: 2, cpuLimit: 0.5, memoryLimitMiB: 256, cpuReservation: 0.25, memoryReservationMiB: 128 });
  });
  test("Postgres at 2 CPU / 3 GiB limits, 1 CPU / 2 GiB reserved", () => {
    expect(plan.services.postgres).toMatchObject(SEED_POSTGRES);
  });
  test("parallelism 1, delay 10s, start-first, as the seed's update_config", () => {
    expect(plan.services.backend!.update).toMatchObject({ parallelism: 1, delaySeconds: 10, order: "start-first" });
  });
  test("wal_buffers 16MB as deployed; max_connections from the budget, the seed's 300 still reachable as an override", () => {
    expect(plan.postgres.settings.wal_buffers).toBe(SEED_POSTGRES_SETTINGS.wal_buffers);
    expect(plan.connections.maxConnections).toBe(maxConnectionsFor(plan.connections.budget));
    expect(plan.connections.maxConnections).toBeLessThan(40);
    const seed = planFor("production", ['advwell:overrides=["postgres.maxConnections=300"]']);
    expect(seed.postgres.settings.max_connections).toBe("300");
    expect(seed.findings).toContainEqual(expect.objectContaining({ level: "warning", key: "advwell:overrides[postgres.maxConnections]" }));
  });
  test("effective_cache_size is 3/4 of the 3 GiB container, not the seed's 4GB", () => {
    expect(plan.postgres.settings.effective_cache_size).toBe("2304MB");
  });
  test("work_mem from the budget-sized max_connections, capped to fit the container, is above the seed's 16MB", () => {
    const kib = parseSizeKiB(plan.postgres.settings.work_mem)!;
    expect(kib).toBeGreaterThan(16 * 1024);
    expect(plan.postgres.worstCaseMemoryMiB).toBeLessThanOrEqual(0.95 * 3072 + 1);
    expect(plan.postgres.departures.map((d) => d.setting)).toEqual(["max_parallel_workers", "work_mem"]);
  });
  test("Node heap is 768 MiB, below the 1 GiB limit (the seed's 1024 is not)", () => {
    expect(plan.backend.nodeHeapMiB).toBe(768);
  });
  test("fits the seed's single 4 CPU / 16 GiB node", () => {
    expect(plan.nodes).toHaveLength(1);
    expect(plan.nodes[0]).toMatchObject({ cpus: 4, memoryMiB: 16384 });
    expect(plan.findings.filter((f) => f.level === "error")).toEqual([]);
  });
});

describe("the seed's literal PostgreSQL settings", () => {
  test("need more than twice the 3 GiB container at worst", () => {
    const worst = worstCaseMemory(SEED_POSTGRES_SETTINGS)!;
    expect(worst.totalMiB).toBeGreaterThan(2 * 3072);
  });
});

describe("derivation rules", () => {
  test("PGTune's web rules on 4 GiB / 2 CPU / 200 connections give PGTune's numbers where the plan does not depart", () => {
    const s = derivePostgresSettings({ memoryLimitMiB: 4096, cpuLimit: 2, maxConnections: 200, replicationSlots: 0 });
    expect(s).toMatchObject({ shared_buffers: "1GB", effective_cache_size: "3GB", maintenance_work_mem: "256MB", wal_buffers: "16MB", huge_pages: "off", jit: "off", wal_compression: "lz4" });
    // No parallel settings from PGTune below 4 CPUs; the plan caps the workers at the container's CPUs.
    expect(s.max_parallel_workers).toBe("2");
    expect(s.max_parallel_workers_per_gather).toBeUndefined();
  });
  test("on one CPU parallel query is off", () => {
    expect(derivePostgresSettings({ memoryLimitMiB: 2048, cpuLimit: 1, maxConnections: 20, replicationSlots: 0 })).toMatchObject({ max_parallel_workers: "1", max_parallel_workers_per_gather: "0" });
  });
  test("work_mem shrinks below PGTune's when the honest worst case would not fit", () => {
    const s = derivePostgresSettings({ memoryLimitMiB: 1536, cpuLimit: 1, maxConnections: 100, replicationSlots: 0 });
    const pgtune = pgtuneSettings({ memoryMiB: 1536, cpus: 1, maxConnections: 100 });
    expect(parseSizeKiB(s.work_mem)!).toBeLessThan(parseSizeKiB(pgtune.work_mem)!);
    expect(worstCaseMemory(s).totalMiB).toBeLessThanOrEqual(1536);
  });
  test("headroom is a quarter of the budget, at least 5", () => {
    expect([connectionHeadroom(8), connectionHeadroom(20), connectionHeadroom(60)]).toEqual([5, 5, 15]);
  });
  test.each([1, 2, 3, 4, 5, 7, 10, 30])("parallelism for %i replicas keeps at least two thirds up", (n) => {
    const p = updateParallelism(n);
    expect(p).toBeGreaterThanOrEqual(1);
    expect(n - p).toBeGreaterThanOrEqual(Math.floor((2 * n) / 3));
  });
  test("Prisma's pool formula counts the container's CPUs, not the host's", () => {
    expect(prismaConnectionLimit(1)).toBe(3);
    expect(prismaConnectionLimit(4)).toBe(9);
  });
});
