/**
 * issue 22 items 1 and 5, reproduced on a real PostgreSQL 15: the app role (which owns the app
 * database and its public schema) plants code that the reconciler's superuser sessions would
 * resolve through search_path, and the reconciler must never run it; and with every leaky
 * logging setting the plan accepts (statement logging, sampling, auto_explain,
 * pg_stat_statements) no password the reconciler sets reaches the log or pg_stat_statements.
 *
 * Each attack's planted function makes the app role SUPERUSER when a superuser calls it, so
 * "the app role is not superuser after a pass" is the assertion. Before the fix every attack
 * below succeeded (the app role was SUPERUSER after one pass) and the passwords were in the log
 * and in pg_stat_statements.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { readContainerFile } from "../../components/containerFiles";
import { makeTempDir, PG_BIN, PgCluster, SUPERUSER, SUPERUSER_PASSWORD } from "./support/pgCluster";

const APP = "advwell";
const DB = "advtom";
const APP_PASSWORD = "app-pw-'with\"quotes:and\\back $x";
const MONITOR_PASSWORD = "monitor-pw-Zq8-secret";
const REPLICATION_PASSWORD = "replication-pw-Kx3-secret";

let cluster: PgCluster;
let work: string;
let script: string;
let files: Record<string, string>;

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${PG_BIN}:/usr/bin:/bin`,
    PGHOST: "127.0.0.1",
    PGPORT: String(cluster.port),
    SUPERUSER,
    SUPERUSER_PASSWORD_FILE: files.superuser,
    APP_DB_NAME: DB,
    APP_DB_USER: APP,
    APP_DB_PASSWORD_FILE: files.app,
    MONITORING_ROLE: "advwell_monitor",
    MONITORING_ROLE_CONNECTION_LIMIT: "3",
    MONITORING_PASSWORD_FILE: files.monitor,
    REPLICATION_USER: "replicator",
    REPLICATION_PASSWORD_FILE: files.replication,
    REPLICATION_SLOTS: "replica_1",
    RECONCILE_STATE_DIR: path.join(work, "state"),
    ...extra,
  };
}

function reconcile(extra: Record<string, string> = {}) {
  return spawnSync("bash", [script, "once"], { env: env(extra), encoding: "utf8", timeout: 60_000 });
}

async function asApp<T>(fn: (c: Client) => Promise<T>, database = DB): Promise<T> {
  const c = await cluster.client({ user: APP, password: APP_PASSWORD, database });
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function appIsSuperuser(): Promise<boolean> {
  const [row] = await cluster.query<{ rolsuper: boolean }>("SELECT rolsuper FROM pg_roles WHERE rolname = $1", [APP]);
  return row.rolsuper;
}

/** The planted payload: harmless when the app role runs it, SUPERUSER for the app when a superuser does. */
const ESCALATE = `IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) current_user) THEN
                    EXECUTE 'ALTER ROLE ${APP} SUPERUSER';
                  END IF;`;

beforeAll(async () => {
  work = makeTempDir("advwell-security-reconcile-");
  script = path.join(work, "reconcile.sh");
  fs.writeFileSync(script, readContainerFile("reconcile"), { mode: 0o555 });
  const secrets = path.join(work, "secrets");
  fs.mkdirSync(secrets);
  const file = (name: string, value: string) => {
    fs.writeFileSync(path.join(secrets, name), value, { mode: 0o400 });
    return path.join(secrets, name);
  };
  files = { superuser: file("superuser", SUPERUSER_PASSWORD), app: file("app", APP_PASSWORD), monitor: file("monitor", MONITOR_PASSWORD), replication: file("replication", REPLICATION_PASSWORD) };
  // Every leaky setting issue 22 item 5 names, at its leakiest.
  cluster = await PgCluster.start({
    settings: {
      wal_level: "replica",
      max_replication_slots: "4",
      max_wal_senders: "4",
      shared_preload_libraries: "pg_stat_statements,auto_explain",
      log_statement: "all",
      log_min_duration_statement: "0",
      log_min_duration_sample: "0",
      log_statement_sample_rate: "1",
      log_transaction_sample_rate: "1",
      log_min_error_statement: "debug5",
      log_parameter_max_length: "-1",
      "pg_stat_statements.track": "all",
      "pg_stat_statements.track_utility": "on",
      "auto_explain.log_min_duration": "0",
      "auto_explain.log_nested_statements": "on",
    },
  });
  await cluster.query("CREATE EXTENSION pg_stat_statements");
  await cluster.query(`CREATE DATABASE ${DB}`);
  const first = reconcile();
  if (first.status !== 0) throw new Error(`first reconcile failed: ${first.stderr}`);
}, 120_000);

afterAll(() => {
  cluster?.destroy();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("passwords are sent as SCRAM verifiers computed by the reconciler, never as plaintext", () => {
  function leaks(): { log: string; statements: Promise<string> } {
    return { log: cluster.log(), statements: cluster.query<{ query: string }>("SELECT query FROM pg_stat_statements").then((rows) => rows.map((r) => r.query).join("\n")) };
  }
  function expectNoPassword(text: string): void {
    for (const secret of [APP_PASSWORD, MONITOR_PASSWORD, REPLICATION_PASSWORD, SUPERUSER_PASSWORD]) {
      // Raw, and as a SQL literal would spell it (quotes doubled; backslashes doubled in E'').
      for (const form of [secret, secret.replace(/'/g, "''"), secret.replace(/'/g, "''").replace(/\\/g, "\\\\"), "app-pw-"]) expect(text).not.toContain(form);
    }
    // Whatever the literal's spelling: every PASSWORD sent is a verifier.
    expect(text).not.toMatch(/PASSWORD\s+E?'(?!SCRAM-SHA-256\$)/i);
  }

  test("with log_statement=all, sampling, auto_explain and pg_stat_statements, no password is in the server log or in pg_stat_statements", async () => {
    expect(reconcile().status).toBe(0);
    const { log, statements } = leaks();
    // The leaky settings are on: the test's own statements are in both.
    expect(log).toContain("statement: CREATE DATABASE advtom");
    expect(await statements).toMatch(/CREATE DATABASE advtom/);
    expectNoPassword(log);
    expectNoPassword(await statements);
  });

  test("even when the session's logging overrides are lost (PGOPTIONS dropped), the logged ALTER ROLE statements carry only verifiers", async () => {
    // A psql that drops the startup options, as a pooler in between might: the statements are logged now.
    const bin = path.join(work, "no-pgoptions");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "psql"), `#!/bin/sh\nunset PGOPTIONS\nexec ${PG_BIN}/psql "$@"\n`, { mode: 0o755 });
    expect(reconcile({ PATH: `${bin}:${PG_BIN}:/usr/bin:/bin` }).status).toBe(0);
    const { log, statements } = leaks();
    expect(log).toMatch(/ALTER ROLE advwell WITH LOGIN .* PASSWORD 'SCRAM-SHA-256\$4096:/);
    expect(await statements).toMatch(/ALTER ROLE advwell_monitor WITH LOGIN .* PASSWORD 'SCRAM-SHA-256\$4096:/);
    expectNoPassword(log);
    expectNoPassword(await statements);
  });

  test("every role's password is a SCRAM-SHA-256 verifier and logs in over TCP with scram-sha-256", async () => {
    const rows = await cluster.query<{ rolname: string; rolpassword: string }>("SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN ('advwell', 'advwell_monitor', 'replicator') ORDER BY 1");
    expect(rows.map((r) => r.rolname)).toEqual(["advwell", "advwell_monitor", "replicator"]);
    for (const r of rows) expect(r.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    for (const [user, password] of [[APP, APP_PASSWORD], ["advwell_monitor", MONITOR_PASSWORD], ["replicator", REPLICATION_PASSWORD]]) {
      const c = await cluster.client({ user, password, database: DB });
      expect((await c.query("SELECT current_user AS u")).rows[0].u).toBe(user);
      await c.end();
    }
    await expect(cluster.client({ user: APP, password: "not-it", database: DB })).rejects.toThrow(/password authentication failed/);
  });

  test("an unchanged password keeps its verifier (same salt) from pass to pass", async () => {
    const before = await cluster.query("SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN ('advwell', 'advwell_monitor', 'replicator') ORDER BY 1");
    expect(reconcile().status).toBe(0);
    expect(await cluster.query("SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN ('advwell', 'advwell_monitor', 'replicator') ORDER BY 1")).toEqual(before);
  });
  test("without perl the python3 fallback (the Alpine images) computes the same verifiers: nothing changes, and a rotated password logs in", async () => {
    const bin = path.join(work, "no-perl");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "perl"), "#!/bin/sh\nexit 127\n", { mode: 0o755 });
    const noPerl = { PATH: `${bin}:${PG_BIN}:/usr/bin:/bin` };
    const query = "SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN ('advwell', 'advwell_monitor', 'replicator') ORDER BY 1";
    const before = await cluster.query(query);
    expect(reconcile(noPerl).status).toBe(0);
    // python3 recomputed each perl-made verifier from its salt and found it equal.
    expect(await cluster.query(query)).toEqual(before);
    const rotated = path.join(work, "secrets", "monitor-rotated");
    fs.writeFileSync(rotated, "rotated-monitor-pw\n", { mode: 0o400 });
    expect(reconcile({ ...noPerl, MONITORING_PASSWORD_FILE: rotated }).status).toBe(0);
    const c = await cluster.client({ user: "advwell_monitor", password: "rotated-monitor-pw", database: DB });
    await c.end();
    expect(reconcile().status).toBe(0);
  });
});

describe("the app role cannot make the reconciler run its code", () => {
  afterEach(async () => {
    // Undo whatever an attack planted, as the superuser (dropping runs none of it).
    const admin = await cluster.client({ database: DB });
    try {
      await admin.query(`ALTER DATABASE ${DB} RESET ALL; DROP SCHEMA IF EXISTS ${SUPERUSER} CASCADE;
                         DROP FUNCTION IF EXISTS public.format(text, text); DROP OPERATOR IF EXISTS public.= (name, name); DROP FUNCTION IF EXISTS public.name_eq_evil(name, name);
                         ALTER ROLE ${APP} NOSUPERUSER`);
    } finally {
      await admin.end();
    }
  });

  test("a better-matching function in public (the CVE-2018-1058 pattern) is not called: the app role stays NOSUPERUSER", async () => {
    // format('...%I', 'literal') resolves to format(text, text) over pg_catalog's format(text, VARIADIC "any").
    await asApp((c) =>
      c.query(`CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE plpgsql AS $$
               BEGIN ${ESCALATE} RETURN pg_catalog.format($1, $2); END $$`),
    );
    const run = reconcile();
    expect(await appIsSuperuser()).toBe(false);
    expect([run.status, run.stderr]).toEqual([0, "advwell-reconcile: reconciled\n"]);
  });

  test("ALTER DATABASE ... SET search_path by the app role, with an operator that shadows pg_catalog's, is not followed", async () => {
    await asApp(async (c) => {
      await c.query(`CREATE FUNCTION public.name_eq_evil(a name, b name) RETURNS boolean LANGUAGE plpgsql AS $$
                     BEGIN ${ESCALATE} RETURN a::text OPERATOR(pg_catalog.=) b::text; END $$`);
      await c.query("CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.name_eq_evil)");
      await c.query(`ALTER DATABASE ${DB} SET search_path = public, pg_catalog`);
    });
    const run = reconcile();
    expect(await appIsSuperuser()).toBe(false);
    expect([run.status, run.stderr]).toEqual([0, "advwell-reconcile: reconciled\n"]);
  });

  test(`a schema named after the superuser ("$user" in the default search_path) is not searched`, async () => {
    await asApp(async (c) => {
      await c.query(`CREATE SCHEMA ${SUPERUSER}`);
      await c.query(`CREATE FUNCTION ${SUPERUSER}.format(text, text) RETURNS text LANGUAGE plpgsql AS $$
                     BEGIN ${ESCALATE} RETURN pg_catalog.format($1, $2); END $$`);
    });
    const run = reconcile();
    expect(await appIsSuperuser()).toBe(false);
    expect([run.status, run.stderr]).toEqual([0, "advwell-reconcile: reconciled\n"]);
  });
});
