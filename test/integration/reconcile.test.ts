/**
 * containers/postgres/reconcile.sh against a real PostgreSQL 15, exactly as the postgres-reconcile
 * service runs it (its env from the plan, passwords as files): roles, ownership and slots converge
 * on a fresh cluster and on one shaped like the seed's (tables created by the superuser), it is
 * idempotent, a rotated password takes effect, and no password reaches a log or an argv.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { readContainerFile } from "../../components/containerFiles";
import { planFor, seedNodes } from "../support/stacks";
import { makeTempDir, PG_BIN, PgCluster, SUPERUSER, SUPERUSER_PASSWORD } from "./support/pgCluster";

const APP_PASSWORD = "app-pw-'with\"quotes:and\\back";
const MONITOR_PASSWORD = "monitor-pw-secret";
const REPLICATION_PASSWORD = "replication-pw-secret";

let cluster: PgCluster;
let work: string;
let script: string;

/** The service's env for the enterprise plan (app, monitoring and replication), pointed at this cluster. */
function serviceEnv(files: Record<string, string>, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const plan = planFor("production", ["advwell:tier=enterprise", seedNodes(3)]);
  return {
    PATH: `${PG_BIN}:${process.env.PATH}`,
    PGHOST: "127.0.0.1",
    PGPORT: String(cluster.port),
    SUPERUSER,
    SUPERUSER_PASSWORD_FILE: files.superuser,
    APP_DB_NAME: "advtom",
    APP_DB_USER: "advwell",
    APP_DB_PASSWORD_FILE: files.app,
    MONITORING_ROLE: "advwell_monitor",
    MONITORING_ROLE_CONNECTION_LIMIT: "3",
    MONITORING_PASSWORD_FILE: files.monitor,
    REPLICATION_USER: "replicator",
    REPLICATION_PASSWORD_FILE: files.replication,
    REPLICATION_SLOTS: (plan.replication?.slots ?? []).join(" "),
    RECONCILE_STATE_DIR: path.join(work, "state"),
    ...extra,
  };
}

const secretDirs: string[] = [];

function secrets(values: { superuser?: string; app?: string; monitor?: string; replication?: string } = {}): Record<string, string> {
  const dir = makeTempDir("advwell-reconcile-secrets-");
  secretDirs.push(dir);
  const file = (name: string, value: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, value, { mode: 0o400 });
    return f;
  };
  return {
    superuser: file("superuser", values.superuser ?? SUPERUSER_PASSWORD),
    app: file("app", values.app ?? APP_PASSWORD),
    monitor: file("monitor", values.monitor ?? MONITOR_PASSWORD),
    replication: file("replication", values.replication ?? REPLICATION_PASSWORD),
  };
}

function reconcile(env: NodeJS.ProcessEnv, mode = "once") {
  return spawnSync("bash", [script, mode], { env, encoding: "utf8", timeout: 60_000 });
}

beforeAll(async () => {
  work = makeTempDir("advwell-reconcile-");
  script = path.join(work, "reconcile.sh");
  // As Swarm mounts it: the repository's text in a 0555 file.
  fs.writeFileSync(script, readContainerFile("reconcile"), { mode: 0o555 });
  cluster = await PgCluster.start({ settings: { wal_level: "replica", max_replication_slots: "4", max_wal_senders: "4" } });
  // The seed's shape: a database made at initdb, tables, a serial, a view and a function created by the superuser.
  await cluster.query("CREATE DATABASE advtom");
  const seed = await cluster.client({ database: "advtom" });
  await seed.query(`CREATE TABLE companies (id serial PRIMARY KEY, name text NOT NULL);
                    CREATE TABLE cases (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, company_id int REFERENCES companies, title text);
                    CREATE SEQUENCE invoice_numbers;
                    CREATE VIEW open_cases AS SELECT * FROM cases;
                    CREATE TYPE case_state AS ENUM ('open', 'closed');
                    CREATE FUNCTION case_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM cases';
                    INSERT INTO companies (name) VALUES ('Silva & Souza Advogados'), ('Oliveira Advocacia');
                    INSERT INTO cases (company_id, title) VALUES (1, 'Ação trabalhista'), (2, 'Inventário');`);
  await seed.end();
}, 120_000);

afterAll(() => {
  cluster?.destroy();
  for (const dir of [work, ...secretDirs]) fs.rmSync(dir, { recursive: true, force: true });
});

describe("reconcile.sh once, on a cluster whose objects the superuser owns (the seed's)", () => {
  let first: ReturnType<typeof reconcile>;
  beforeAll(() => {
    first = reconcile(serviceEnv(secrets()));
  });

  test("succeeds and says so on stderr, with no password anywhere in its output", () => {
    expect([first.status, first.stderr]).toEqual([0, "advwell-reconcile: reconciled\n"]);
    expect(first.stdout).toBe("");
  });

  test("the app role logs in with its secret password and owns the database, the schema and every object in it", async () => {
    const app = await cluster.client({ user: "advwell", password: APP_PASSWORD, database: "advtom" });
    try {
      const owners = await app.query(`SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                      WHERE n.nspname = 'public' AND c.relkind IN ('r','S','v') ORDER BY 1`);
      expect(owners.rows.map((r) => r.owner)).toEqual(owners.rows.map(() => "advwell"));
      expect(owners.rows.map((r) => r.relname)).toEqual(expect.arrayContaining(["cases", "cases_id_seq", "companies", "companies_id_seq", "invoice_numbers", "open_cases"]));
      const db = await app.query("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'advtom'");
      expect(db.rows[0].owner).toBe("advwell");
      const schema = await app.query("SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'public'");
      expect(schema.rows[0].owner).toBe("advwell");
      const other = await app.query(`SELECT (SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'case_count') AS fn, (SELECT pg_get_userbyid(typowner) FROM pg_type WHERE typname = 'case_state') AS type`);
      expect(other.rows[0]).toEqual({ fn: "advwell", type: "advwell" });
      // It can do what the backend does: write, read, migrate.
      await app.query("INSERT INTO companies (name) VALUES ('Nova') ");
      await app.query("ALTER TABLE cases ADD COLUMN state case_state DEFAULT 'open'");
      expect((await app.query("SELECT case_count() AS n")).rows[0].n).toBe("2");
    } finally {
      await app.end();
    }
  });

  test("the monitoring role is read-only, in pg_monitor, capped at 3 connections", async () => {
    const roles = await cluster.query<{ rolconnlimit: number; member: boolean }>("SELECT rolconnlimit, pg_has_role('advwell_monitor', 'pg_monitor', 'member') AS member FROM pg_roles WHERE rolname = 'advwell_monitor'");
    expect(roles).toEqual([{ rolconnlimit: 3, member: true }]);
    const monitor = await cluster.client({ user: "advwell_monitor", password: MONITOR_PASSWORD, database: "advtom" });
    try {
      await expect(monitor.query("CREATE TABLE nope (x int)")).rejects.toThrow(/read-only transaction/);
    } finally {
      await monitor.end();
    }
  });

  test("the replicator role has REPLICATION and nothing else, and the plan's slot exists, reserving WAL", async () => {
    const roles = await cluster.query("SELECT rolreplication, rolsuper, rolcanlogin, rolcreatedb FROM pg_roles WHERE rolname = 'replicator'");
    expect(roles).toEqual([{ rolreplication: true, rolsuper: false, rolcanlogin: true, rolcreatedb: false }]);
    const slots = await cluster.query<{ slot_name: string; restart_lsn: string | null }>("SELECT slot_name, restart_lsn FROM pg_replication_slots");
    expect(slots.map((s) => s.slot_name)).toEqual(["replica_1"]);
    expect(slots[0].restart_lsn).not.toBeNull();
  });

  test("the server log holds no password: statement logging is off for the reconciler's sessions", () => {
    const log = cluster.log();
    for (const secret of [APP_PASSWORD, MONITOR_PASSWORD, REPLICATION_PASSWORD, SUPERUSER_PASSWORD]) expect(log).not.toContain(secret);
  });
});

describe("convergence", () => {
  test("a second run changes nothing and succeeds (idempotent)", () => {
    const again = reconcile(serviceEnv(secrets()));
    expect([again.status, again.stderr]).toEqual([0, "advwell-reconcile: reconciled\n"]);
  });

  test("a rotated app password takes effect: the new one logs in, the old one no longer does", async () => {
    const rotated = "rotated-app-password";
    expect(reconcile(serviceEnv(secrets({ app: rotated }))).status).toBe(0);
    const app = await cluster.client({ user: "advwell", password: rotated, database: "advtom" });
    await app.end();
    await expect(cluster.client({ user: "advwell", password: APP_PASSWORD, database: "advtom" })).rejects.toThrow(/password authentication failed/);
  });

  test("a role dropped by hand comes back on the next run", async () => {
    await cluster.query("DROP ROLE advwell_monitor");
    expect(reconcile(serviceEnv(secrets())).status).toBe(0);
    expect(await cluster.query("SELECT 1 AS ok FROM pg_roles WHERE rolname = 'advwell_monitor'")).toEqual([{ ok: 1 }]);
  });
});

describe("failures are loud and say why, without secrets", () => {
  test("a wrong superuser password fails with the server's reason and no password", () => {
    const bad = reconcile(serviceEnv(secrets({ superuser: "not-the-password" })));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/password authentication failed for user "postgres"/);
    expect(bad.stderr).not.toContain("not-the-password");
  });

  test("a server that is not up yet is reported as such", () => {
    const down = reconcile(serviceEnv(secrets(), { PGPORT: "1" }));
    expect(down.status).toBe(1);
    expect(down.stderr).toContain("is not accepting connections yet");
  });

  test("health is unhealthy before any success and healthy after one", () => {
    const state = path.join(work, "health-state");
    const env = serviceEnv(secrets(), { RECONCILE_STATE_DIR: state });
    expect(reconcile(env, "health").status).toBe(1);
    expect(reconcile(env, "once").status).toBe(0);
    const healthy = reconcile(env, "health");
    expect([healthy.status, healthy.stdout]).toEqual([0, expect.stringMatching(/^healthy: roles reconciled \d+ s ago/)]);
  });
});
