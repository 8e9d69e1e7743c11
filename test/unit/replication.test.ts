/** The replication slice of the plan: names, the replica's settings, findings and the scripts' env contract. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { applySet, loadStackConfig } from "../../config/stackConfig";
import { Plan, PROJECT, reconcileEnvironment, resolvePlan, TIER_NAMES, validateSettings, worstCaseMemory } from "../../model";
import {
  hotStandbyShortfalls,
  planReplication,
  replicaDatabaseUrl,
  replicaEntrypointEnv,
  replicaSettings,
  replicationFindings,
} from "../../model/replication";
import { CONTAINER_FILES, containerFilePath } from "../../components/containerFiles";

const THREE_NODES = `${PROJECT}:nodes=["name=vps-1,cpus=4,memory=16GiB,role=manager","name=vps-2,cpus=4,memory=16GiB,role=worker","name=vps-3,cpus=4,memory=16GiB,role=worker"]`;

function planFor(tier: string, overrides: string[] = []): Plan {
  const { config } = loadStackConfig("production");
  applySet(config, `${PROJECT}:tier=${tier}`, PROJECT);
  applySet(config, THREE_NODES, PROJECT);
  if (overrides.length > 0) applySet(config, `${PROJECT}:overrides=${JSON.stringify(overrides)}`, PROJECT);
  const { settings, findings } = validateSettings(config, "production");
  if (!settings) throw new Error(JSON.stringify(findings));
  return resolvePlan(settings);
}

describe("enterprise tier replication plan", () => {
  const plan = planFor("enterprise");
  const replication = planReplication(plan.services, plan.postgres.settings)!;

  test("one replica task: role replicator, slot replica_1, volume advwell-postgres-replica-data-1, Swarm templates for the task slot", () => {
    expect(replication).toMatchObject({
      user: "replicator",
      primaryHost: "postgres",
      primaryPort: 5432,
      replicaHost: "postgres-replica",
      slots: ["replica_1"],
      slotTemplate: "replica_{{.Task.Slot}}",
      volumeNames: ["advwell-postgres-replica-data-1"],
      volumeTemplate: "advwell-postgres-replica-data-{{.Task.Slot}}",
      hbaLines: ["host replication replicator samenet scram-sha-256"],
    });
    expect(replication.service.placement.constraints).toEqual(["node.labels.advwell.postgres==replica"]);
  });

  test("the replica runs the primary's settings plus hot_standby_feedback, so no hot-standby minimum falls short", () => {
    // All but hba_file: the primary's pg_hba.conf is a config mounted on the primary only.
    const { hba_file: _hba, ...primary } = plan.postgres.settings;
    expect(replication.settings).toEqual({ ...primary, hot_standby: "on", hot_standby_feedback: "on" });
    expect(hotStandbyShortfalls(plan.postgres.settings, replication.settings)).toEqual([]);
    expect(replication.settings.max_connections).toBe(String(plan.connections.maxConnections));
  });

  test("/dev/shm of the replica follows the primary's rule", () => {
    expect(replication.shmSizeMiB).toBe(plan.postgres.shmSizeMiB);
  });

  test("the primary's settings leave a WAL sender and a slot for the replica: no findings", () => {
    expect(Number(plan.postgres.settings.max_wal_senders)).toBeGreaterThanOrEqual(1);
    expect(replicationFindings(plan.replication, plan.postgres.settings)).toEqual([]);
  });

  test("DATABASE_REPLICA_URL goes straight to postgres-replica:5432 with the backend's Prisma pool, never through PgBouncer", () => {
    expect(plan.backend.databaseHost).toBe("pgbouncer");
    const url = replicaDatabaseUrl({ user: "advwell", password: "p@ss:w/rd", database: "advtom" }, plan.backend);
    expect(url).toBe(`postgresql://advwell:p%40ss%3Aw%2Frd@postgres-replica:5432/advtom?connection_limit=${plan.backend.connectionLimit}&pool_timeout=10`);
  });
});

test.each(TIER_NAMES.filter((t) => t !== "enterprise"))("the %s tier has no replica, so no replication plan and no findings", (tier) => {
  const plan = planFor(tier);
  expect(planReplication(plan.services, plan.postgres.settings)).toBeUndefined();
  expect(plan.replication).toBeUndefined();
  expect(replicationFindings(plan.replication, plan.postgres.settings)).toEqual([]);
});

test("two replica tasks get a slot and a volume each", () => {
  const replication = (planFor("enterprise", ["postgres-replica.replicas=2"])).replication!;
  expect(replication.slots).toEqual(["replica_1", "replica_2"]);
  expect(replication.volumeNames).toEqual(["advwell-postgres-replica-data-1", "advwell-postgres-replica-data-2"]);
  expect(reconcileEnvironment({ host: "postgres", port: 5432, superuser: "postgres", databaseName: "advtom", appUser: "advwell", monitoring: false, replication }).REPLICATION_SLOTS).toBe("replica_1 replica_2");
});

test("a smaller replica container gets memory settings of its own but keeps the primary's hot-standby minimums", () => {
  const plan = planFor("enterprise", [
    "postgres-replica.memoryLimit=4GiB",
    "postgres-replica.memoryReservation=3GiB",
    "postgres-replica.cpuLimit=2",
    "postgres-replica.cpuReservation=1",
  ]);
  const replica = planReplication(plan.services, plan.postgres.settings)!.settings;
  expect(plan.postgres.settings.shared_buffers).toBe("2GB");
  expect(replica.shared_buffers).toBe("1GB");
  // Derived for 2 CPUs PGTune sets no parallel settings (PostgreSQL's 8 workers then apply), which
  // still allows the primary's 4: no hot-standby minimum falls short.
  expect(plan.postgres.settings.max_worker_processes).toBe("4");
  expect(replica.max_worker_processes).toBeUndefined();
  expect(replica.max_parallel_workers).toBe("2");
  expect(replica.max_connections).toBe(plan.postgres.settings.max_connections);
  expect(hotStandbyShortfalls(plan.postgres.settings, replica)).toEqual([]);
  expect(worstCaseMemory(replica).totalMiB).toBeLessThanOrEqual(4096);
});

describe("hotStandbyShortfalls", () => {
  test("names each setting the replica sets below the primary", () => {
    expect(hotStandbyShortfalls({ max_connections: "500", max_wal_senders: "3" }, { max_connections: "300", max_wal_senders: "3" })).toEqual(["max_connections"]);
  });
  test("compares an unset setting at PostgreSQL's default", () => {
    expect(hotStandbyShortfalls({ max_locks_per_transaction: "128" }, {})).toEqual(["max_locks_per_transaction"]);
    expect(hotStandbyShortfalls({}, { max_locks_per_transaction: "64" })).toEqual([]);
  });
  test("replicaSettings raises every short setting back to the primary's value", () => {
    const primary = { max_connections: "500", max_locks_per_transaction: "128", max_worker_processes: "8" };
    const replica = replicaSettings(primary, { memoryLimitMiB: 8192, cpuLimit: 8 }, { memoryLimitMiB: 2048, cpuLimit: 1 });
    expect(hotStandbyShortfalls(primary, replica)).toEqual([]);
    // Unset on a 1-CPU replica: PostgreSQL's default, 8, equals the primary's.
    expect(replica.max_worker_processes ?? "8").toBe("8");
    expect(Object.values(replica)).not.toContain(undefined);
    expect(replica.max_locks_per_transaction).toBe("128");
  });
});

describe("replicationFindings", () => {
  test("an override that would leave no WAL sender for the replica is refused: the stack owns max_wal_senders", () => {
    const plan = planFor("enterprise", ["postgres.settings.max_wal_senders=0"]);
    expect(plan.findings).toContainEqual(expect.objectContaining({ level: "error", key: "advwell:overrides[postgres.settings.max_wal_senders]", message: expect.stringContaining("the stack sets max_wal_senders itself") }));
    // Refused, so not applied: the replication plan still has its senders.
    expect(replicationFindings(plan.replication, plan.postgres.settings)).toEqual([]);
  });
  test("replicationFindings names the setting that starves a standby (settings given directly)", () => {
    const plan = planFor("enterprise");
    expect(replicationFindings(plan.replication, { ...plan.postgres.settings, max_wal_senders: "0" })).toEqual([expect.objectContaining({ level: "error", key: "advwell:overrides[postgres.settings.max_wal_senders]" })]);
    expect(replicationFindings(plan.replication, { ...plan.postgres.settings, wal_level: "minimal" })).toEqual([expect.objectContaining({ level: "error", key: "advwell:overrides[postgres.settings.wal_level]" })]);
  });
  test("wal_level=minimal cannot feed a standby: refused as a setting the stack owns", () => {
    const plan = planFor("enterprise", ["postgres.settings.wal_level=minimal"]);
    expect(plan.findings).toContainEqual(expect.objectContaining({ level: "error", key: "advwell:overrides[postgres.settings.wal_level]" }));
  });
});

describe("the scripts' environment contract", () => {
  const replication = (planFor("enterprise")).replication!;
  /** Variables a script refuses to run without: `${NAME:?...}`. */
  const required = (file: keyof typeof CONTAINER_FILES) => [...fs.readFileSync(containerFilePath(file), "utf8").matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1]).sort();

  test.each(Object.keys(CONTAINER_FILES).filter((f) => f.endsWith("nit") || f.endsWith("ntrypoint") || f.startsWith("backup") || f.startsWith("restore")))("%s parses with bash -n", (file) => {
    const result = spawnSync("bash", ["-n", containerFilePath(file as keyof typeof CONTAINER_FILES)], { encoding: "utf8" });
    expect([result.status, result.stderr]).toEqual([0, ""]);
  });

  test("the replica's env sets every variable its entrypoint requires, slot as a Swarm template", () => {
    const env = replicaEntrypointEnv(replication);
    expect(required("replicaEntrypoint").filter((name) => env[name] === undefined)).toEqual([]);
    expect(env.REPLICATION_SLOT).toBe("replica_{{.Task.Slot}}");
    expect(env.REPLICATION_PASSWORD_FILE).toBe("/run/secrets/postgres-replication-password");
  });

  test("the reconciler's env sets every variable its script requires, and the replicas' role and slots", () => {
    const env = reconcileEnvironment({ host: "postgres", port: 5432, superuser: "postgres", databaseName: "advtom", appUser: "advwell", monitoring: true, replication });
    expect(required("reconcile").filter((name) => env[name] === undefined)).toEqual([]);
    expect(env).toMatchObject({
      REPLICATION_USER: "replicator",
      REPLICATION_PASSWORD_FILE: "/run/secrets/postgres-replication-password",
      REPLICATION_SLOTS: "replica_1",
      MONITORING_ROLE: "advwell_monitor",
    });
    expect(Object.values(env).join(" ")).not.toMatch(/password=|mock-pw/);
  });

  test("the primary's pg_hba admits the replicas by the replication keyword, before the catch-all", () => {
    const plan = planFor("enterprise");
    const at = (line: string) => plan.postgres.hba.indexOf(line);
    expect(at("host replication replicator samenet scram-sha-256")).toBeGreaterThan(-1);
    expect(at("host replication replicator samenet scram-sha-256")).toBeLessThan(at("host all all all scram-sha-256"));
    expect(planFor("growth").postgres.hba.filter((l) => l.includes("replicator"))).toEqual([]);
  });
});
