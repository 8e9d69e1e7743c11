/**
 * Streaming replication with real PostgreSQL 15 on loopback, driven by the two shell scripts the
 * stack mounts (scripts/postgres/*.sh), unchanged: only their environment points them at
 * loopback ports and temp dirs instead of the overlay network and Swarm secrets.
 *
 * The primary runs the enterprise tier's planned settings; the replica runs the planned replica
 * settings. The script is started as root, as Swarm starts it, and drops to `postgres` itself.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { applySet, loadStackConfig } from "../../config/stackConfig";
import { containerFilePath } from "../../components/containerFiles";
import { Plan, postgresReadyProbe, PROJECT, reconcileEnvironment, renderPostgresArgs, replicaEntrypointEnv, replicationHbaLine, ReplicationPlan, resolvePlan, validateSettings } from "../../model";
import { freePort, makeTempDir, PG_BIN, PgCluster, runAsPostgres, SUPERUSER, SUPERUSER_PASSWORD } from "./support/pgCluster";

const REPLICA_ENTRYPOINT_SOURCE = containerFilePath("replicaEntrypoint");
/** The entrypoint as Swarm mounts it (a 0555 config file), copied where the postgres user can read it. */
let REPLICA_ENTRYPOINT: string;

function enterpriseReplication(): { replication: ReplicationPlan; primarySettings: Readonly<Record<string, string>>; plan: Plan } {
  const { config } = loadStackConfig("production");
  applySet(config, `${PROJECT}:tier=enterprise`, PROJECT);
  applySet(
    config,
    `${PROJECT}:nodes=["name=vps-1,cpus=4,memory=16GiB,role=manager","name=vps-2,cpus=4,memory=16GiB,role=worker","name=vps-3,cpus=4,memory=16GiB,role=worker"]`,
    PROJECT,
  );
  const { settings, findings } = validateSettings(config, "production");
  if (!settings) throw new Error(`enterprise settings do not validate: ${JSON.stringify(findings)}`);
  const plan = resolvePlan(settings);
  const replication = plan.replication;
  if (!replication) throw new Error("the enterprise plan has no postgres-replica");
  return { replication, primarySettings: plan.postgres.settings, plan };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One run of the replica entrypoint: the process (postgres after exec) and everything it logged. */
class ReplicaRun {
  output = "";
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    child.stdout!.on("data", (d) => (this.output += d));
    child.stderr!.on("data", (d) => (this.output += d));
    this.exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  }
}

describe("PostgreSQL streaming read replica (enterprise tier, real servers)", () => {
  const { replication, primarySettings, plan } = enterpriseReplication();
  const slot = replication.slots[0];
  const password = crypto.randomBytes(18).toString("base64url");
  let primary: PgCluster;
  let work: string;
  let secretFile: string;
  let replicaData: string;
  let passfile: string;
  let replicaPort: number;
  let runs: ReplicaRun[] = [];
  let primarySystemId: string;

  let reconcileScript: string;
  let superuserPasswordFile: string;
  // The postgres-reconcile service's env (the script's inputs), pointed at this test's primary.
  const reconcileEnv = () => ({
    ...reconcileEnvironment({ host: "127.0.0.1", port: primary.port, superuser: SUPERUSER, databaseName: "advtom", appUser: "advwell", monitoring: false, replication }),
    PATH: `${PG_BIN}:${process.env.PATH}`,
    SUPERUSER_PASSWORD_FILE: superuserPasswordFile,
    APP_DB_PASSWORD_FILE: superuserPasswordFile.replace(/superuser$/, "app"),
    REPLICATION_PASSWORD_FILE: secretFile,
    // Its health marker goes in this test's folder, not in the host's /tmp.
    RECONCILE_STATE_DIR: path.join(work, "reconcile-state"),
  });
  const runReconcile = () => {
    const r = spawnSync("bash", [reconcileScript, "once"], { env: reconcileEnv(), encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`reconcile.sh failed: ${r.stderr}`);
    return r;
  };

  function startReplica(): ReplicaRun {
    const env = {
      ...replicaEntrypointEnv(replication),
      // Where loopback differs from the stack: no DNS name, no Swarm slot template, temp paths.
      PGDATA: replicaData,
      PRIMARY_HOST: "127.0.0.1",
      PRIMARY_PORT: String(primary.port),
      REPLICATION_SLOT: slot,
      REPLICATION_PASSWORD_FILE: secretFile,
      REPLICATION_PASSFILE: passfile,
      PRIMARY_WAIT_SECONDS: "20",
      PATH: `${PG_BIN}:${process.env.PATH}`,
    };
    const args = renderPostgresArgs({ ...replication.settings, listen_addresses: "127.0.0.1", port: String(replicaPort), unix_socket_directories: "" });
    const run = new ReplicaRun(spawn("bash", [REPLICA_ENTRYPOINT, "postgres", ...args], { env, stdio: ["ignore", "pipe", "pipe"] }));
    runs.push(run);
    return run;
  }

  async function replicaClient(): Promise<Client> {
    const client = new Client({ host: "127.0.0.1", port: replicaPort, user: SUPERUSER, password: SUPERUSER_PASSWORD, database: "postgres" });
    await client.connect();
    return client;
  }

  async function replicaQuery<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = await replicaClient();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** Resolves once the replica serves reads in recovery; fails at once if the entrypoint exits. */
  async function waitUntilServing(run: ReplicaRun): Promise<void> {
    const serving = until("the replica to accept connections", async () => {
      const rows = await replicaQuery<{ r: boolean }>("SELECT pg_is_in_recovery() AS r");
      return rows[0].r === true ? true : undefined;
    }, 30000);
    const died = run.exited.then((code) => {
      throw new Error(`replica entrypoint exited with ${code}:\n${run.output}`);
    });
    try {
      await Promise.race([serving, died]);
    } finally {
      died.catch(() => undefined); // the process exits later, on purpose, when the test stops it
    }
  }

  async function stopReplica(run: ReplicaRun): Promise<void> {
    runAsPostgres(`${PG_BIN}/pg_ctl`, ["-D", replicaData, "-m", "fast", "-w", "stop"]);
    await run.exited;
  }

  beforeAll(async () => {
    // The plan's pg_hba.conf admits the replica through its replication line (the stack mounts it as hba_file).
    primary = await PgCluster.start({ settings: primarySettings, hba: plan.postgres.hba.filter((line) => line.includes(" replication ") && !line.includes("trust")) });
    work = makeTempDir("advwell-replication-");
    secretFile = path.join(work, "postgres-replication-password");
    // As Swarm mounts the secret: one line, no newline, readable by postgres only.
    fs.writeFileSync(secretFile, password, { mode: 0o400 });
    fs.chownSync(secretFile, uid("postgres"), gid("postgres"));
    replicaData = path.join(work, "volume", "pgdata");
    passfile = path.join(work, "home", "replication.pgpass");
    replicaPort = await freePort();
    // The replica script re-executes itself as postgres, which may not read the checkout (CI clones
    // into a 0700 folder): mount it the way Swarm does, a 0555 file with the script's exact text.
    REPLICA_ENTRYPOINT = path.join(work, "advwell-replica-entrypoint.sh");
    fs.writeFileSync(REPLICA_ENTRYPOINT, fs.readFileSync(REPLICA_ENTRYPOINT_SOURCE, "utf8"), { mode: 0o555 });
    // The reconciler makes the replicator role and the slot, exactly as the postgres-reconcile service runs it.
    reconcileScript = path.join(work, "advwell-reconcile.sh");
    fs.writeFileSync(reconcileScript, fs.readFileSync(containerFilePath("reconcile"), "utf8"), { mode: 0o555 });
    superuserPasswordFile = path.join(work, "superuser");
    fs.writeFileSync(superuserPasswordFile, SUPERUSER_PASSWORD, { mode: 0o400 });
    fs.writeFileSync(path.join(work, "app"), "app-password", { mode: 0o400 });
    runReconcile();
    primarySystemId = String((await primary.query<{ id: string }>("SELECT system_identifier::text AS id FROM pg_control_system()"))[0].id);
    await primary.query("CREATE TABLE items (id int PRIMARY KEY, note text)");
  });

  afterAll(async () => {
    for (const run of runs) {
      if (run.child.exitCode === null) {
        try {
          runAsPostgres(`${PG_BIN}/pg_ctl`, ["-D", replicaData, "-m", "immediate", "-w", "stop"]);
        } catch {
          run.child.kill("SIGKILL");
        }
        await run.exited;
      }
    }
    primary?.destroy();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test("the reconciler makes a REPLICATION-only role and the slot, the plan's pg_hba line admits the replica; a second run changes nothing", async () => {
    runReconcile();
    const roles = await primary.query("SELECT rolreplication, rolsuper, rolcanlogin FROM pg_roles WHERE rolname = $1", [replication.user]);
    expect(roles).toEqual([{ rolreplication: true, rolsuper: false, rolcanlogin: true }]);
    const slots = await primary.query("SELECT slot_name, slot_type, restart_lsn IS NOT NULL AS reserved FROM pg_replication_slots");
    expect(slots).toEqual([{ slot_name: slot, slot_type: "physical", reserved: true }]);
    const hba = fs.readFileSync(path.join(primary.dataDir, "pg_hba.conf"), "utf8").split("\n");
    expect(hba.filter((line) => line === replicationHbaLine())).toHaveLength(1);
    const rules = await primary.query("SELECT database, user_name, address, auth_method FROM pg_hba_file_rules WHERE 'replication' = ANY(database)");
    expect(rules).toEqual([{ database: ["replication"], user_name: [replication.user], address: "samenet", auth_method: "scram-sha-256" }]);
  });

  test("first start: pg_basebackup clones the primary, and the replica catches up and serves reads", async () => {
    await primary.query("INSERT INTO items SELECT g, 'before the clone' FROM generate_series(1, 100) g");
    const run = startReplica();
    await waitUntilServing(run);
    expect(run.output).toMatch(/no cluster in .*: cloning 127\.0\.0\.1:\d+ with pg_basebackup \(slot replica_1\)/);
    const id = (await replicaQuery<{ id: string }>("SELECT system_identifier::text AS id FROM pg_control_system()"))[0].id;
    expect(id).toBe(primarySystemId);
    expect(run.output).toContain(`base backup complete: system identifier ${primarySystemId}`);

    await primary.query("INSERT INTO items VALUES (1001, 'written after the clone')");
    const note = await until("row 1001 on the replica", async () => (await replicaQuery<{ note: string }>("SELECT note FROM items WHERE id = 1001"))[0]?.note);
    expect(note).toBe("written after the clone");
    expect((await replicaQuery<{ n: string }>("SELECT count(*) AS n FROM items"))[0].n).toBe("101");
  });

  test("the stack's health probes on the real data directories: the replica's passes on the streaming standby and fails on the primary; the primary's passes on the primary", () => {
    // Swarm runs a CMD-SHELL check as `/bin/sh -c` with the container's environment (PGDATA).
    const probe = (role: "primary" | "standby", pgdata: string) => spawnSync("/bin/sh", ["-c", postgresReadyProbe(role)[1]], { env: { ...process.env, PGDATA: pgdata } }).status;
    const status = (pgdata: string) => fs.readFileSync(path.join(pgdata, "postmaster.pid"), "utf8").split("\n")[7].trim();
    // A hot standby reports "ready" (pidfile.h: "standby" is a standby that refuses connections).
    expect({ replica: status(replicaData), primary: status(primary.dataDir) }).toEqual({ replica: "ready", primary: "ready" });
    expect({ standbyOnReplica: probe("standby", replicaData), standbyOnPrimary: probe("standby", primary.dataDir), primaryOnPrimary: probe("primary", primary.dataDir) }).toEqual({
      standbyOnReplica: 0,
      standbyOnPrimary: 1,
      primaryOnPrimary: 0,
    });
  });

  test("the replica runs the planned settings, which meet the hot-standby minimums", async () => {
    const names = ["max_connections", "max_worker_processes", "max_wal_senders", "shared_buffers", "work_mem", "hot_standby", "hot_standby_feedback"];
    const rows = await replicaQuery<{ name: string; setting: string }>("SELECT name, current_setting(name) AS setting FROM unnest($1::text[]) AS name", [names]);
    const live = Object.fromEntries(rows.map((r) => [r.name, r.setting]));
    for (const name of names) expect([name, live[name]]).toEqual([name, replication.settings[name]]);
    expect(live.max_connections).toBe(primarySettings.max_connections);
  });

  test("the replica refuses writes with SQLSTATE 25006 (read_only_sql_transaction)", async () => {
    const client = await replicaClient();
    try {
      await expect(client.query("INSERT INTO items VALUES (2000, 'must fail')")).rejects.toMatchObject({ code: "25006" });
    } finally {
      await client.end();
    }
  });

  test("the primary sees the replica streaming through its slot, and the lag is measurable and drains to 0 bytes", async () => {
    await primary.query("INSERT INTO items SELECT g, 'lag probe' FROM generate_series(3000, 3999) g");
    const streaming = await until("pg_stat_replication to show the replica streaming", async () => {
      const rows = await primary.query<{ application_name: string; state: string; sync_state: string; replay_lag: unknown }>(
        "SELECT application_name, state, sync_state, replay_lag FROM pg_stat_replication",
      );
      return rows.length === 1 && rows[0].state === "streaming" ? rows[0] : undefined;
    });
    expect(streaming).toMatchObject({ application_name: slot, state: "streaming", sync_state: "async" });
    const active = await primary.query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [slot]);
    expect(active).toEqual([{ active: true }]);

    const primaryLsn = (await primary.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn"))[0].lsn;
    const lagBytes = await until("the replica to replay up to the primary's LSN", async () => {
      const rows = await replicaQuery<{ lag: string }>("SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::bigint AS lag", [primaryLsn]);
      return Number(rows[0].lag) <= 0 ? Number(rows[0].lag) : undefined;
    });
    expect(lagBytes).toBeLessThanOrEqual(0);
    // replay_lag on the primary: how long WAL took from flush there to replay on the replica.
    // An idle standby reports only every wal_receiver_status_interval (10 s), so keep writing.
    let probe = 4000;
    const replayLag = await until("replay_lag to be reported", async () => {
      await primary.query("INSERT INTO items VALUES ($1, 'replay_lag probe')", [probe++]);
      const rows = await primary.query<{ ms: number | null }>("SELECT extract(epoch FROM replay_lag) * 1000 AS ms FROM pg_stat_replication");
      return rows[0]?.ms ?? undefined;
    });
    expect(Number(replayLag)).toBeGreaterThanOrEqual(0);
    expect(Number(replayLag)).toBeLessThan(5000);
  });

  test("the password is in the 0600 passfile only: not in primary_conninfo, not in the data directory, not in any log", async () => {
    const auto = fs.readFileSync(path.join(replicaData, "postgresql.auto.conf"), "utf8");
    expect(auto).toContain(`primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=${replication.user} passfile=${passfile} application_name=${slot}'`);
    expect(auto).toContain(`primary_slot_name = '${slot}'`);
    const stat = fs.statSync(passfile);
    expect([stat.mode & 0o777, stat.uid]).toEqual([0o600, uid("postgres")]);
    expect(fs.readFileSync(passfile, "utf8")).toContain(password);
    const leaks = filesContaining(replicaData, password);
    expect(leaks).toEqual([]);
    expect(runs[0].output).not.toContain(password);
    expect(primary.log()).not.toContain(password);
  });

  test("after a stop and restart the replica resumes from its slot without a new base backup", async () => {
    const marker = path.join(replicaData, "advwell-bootstrap-marker");
    fs.writeFileSync(marker, "written after the first base backup\n");
    const timeline = (await replicaQuery<{ tli: number }>("SELECT timeline_id AS tli FROM pg_control_checkpoint()"))[0].tli;
    await stopReplica(runs[0]);

    // Written while the replica is down, with a WAL segment switch in between: the slot must
    // keep that WAL for the replica.
    await primary.query("INSERT INTO items SELECT g, 'while the replica was down' FROM generate_series(5000, 5999) g");
    await primary.query("SELECT pg_switch_wal()");
    await primary.query("INSERT INTO items VALUES (6000, 'last row while down')");
    const held = await primary.query("SELECT active, wal_status FROM pg_replication_slots WHERE slot_name = $1", [slot]);
    expect(held).toEqual([{ active: false, wal_status: "reserved" }]);

    const run = startReplica();
    await waitUntilServing(run);
    expect(run.output).toContain(`existing cluster in ${replicaData} (system identifier ${primarySystemId}): skipping pg_basebackup`);
    expect(run.output).not.toContain("pg_basebackup (slot");
    expect(fs.readFileSync(marker, "utf8")).toBe("written after the first base backup\n");
    const note = await until("row 6000 on the restarted replica", async () => (await replicaQuery<{ note: string }>("SELECT note FROM items WHERE id = 6000"))[0]?.note);
    expect(note).toBe("last row while down");
    expect((await replicaQuery<{ n: string }>("SELECT count(*) AS n FROM items WHERE id BETWEEN 5000 AND 5999"))[0].n).toBe("1000");
    const after = await replicaQuery<{ id: string; tli: number }>("SELECT (SELECT system_identifier::text FROM pg_control_system()) AS id, (SELECT timeline_id FROM pg_control_checkpoint()) AS tli");
    expect(after).toEqual([{ id: primarySystemId, tli: timeline }]);
    await until("the slot to be active again", async () =>
      (await primary.query<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [slot]))[0].active || undefined,
    );
  });
});

function uid(user: string): number {
  return Number(fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${user}:`))!.split(":")[2]);
}
function gid(user: string): number {
  return Number(fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${user}:`))!.split(":")[3]);
}

/** Files under dir whose bytes contain needle. */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const bytes = Buffer.from(needle);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    if (fs.readFileSync(file).includes(bytes)) hits.push(file);
  }
  return hits;
}
