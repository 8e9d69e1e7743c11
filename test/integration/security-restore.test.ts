/**
 * issue 22 items 2 and 3, reproduced on a real PostgreSQL 15 with s3rver: the app role owns the
 * app database and everything in it, so whatever it puts in a backup must not run as superuser
 * when the restore tools handle it. Backups are taken by backup.sh as the superuser, as the
 * service does; restores and drills run with the backup service's environment.
 *
 * Before the fix each attack below made the app role SUPERUSER (the drill's table name broke out
 * of its quotes; the restore ran the materialized view's function, and the CHECK constraint's,
 * as the superuser), and restore.sh's default target was the live database.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backupEnvironment, BackupPlan, planBackup } from "../../model";
import { resolve } from "../support/stacks";
import { runBackupScript, writeBackupSecrets } from "./support/backupScripts";
import { PG_BIN, PgCluster, SUPERUSER } from "./support/pgCluster";
import { awsCliDir, FakeS3 } from "./support/s3";

const BUCKET = "advwell-security-it";
const APP = "advwell";
const APP_PASSWORD = "security-app-pw";
/** Whitespace-free (the old drill split its table list on whitespace), with a quote to break out. */
const HOSTILE_TABLE = `x';alter/**/role/**/${APP}/**/superuser;select'`;

let pg: PgCluster;
let s3: FakeS3;
let plan: BackupPlan;
let work: string;

function env(database: string, extra: Record<string, string> = {}): Record<string, string> {
  const secrets = path.join(work, "secrets");
  const state = path.join(work, `state-${database}`);
  return {
    PATH: `${PG_BIN}:${awsCliDir()}:/usr/bin:/bin`,
    HOME: work,
    TMPDIR: work,
    LANG: "C.UTF-8",
    ...s3.cliEnv(),
    ...backupEnvironment(plan, { host: "127.0.0.1", port: pg.port, database, user: SUPERUSER, bucketName: BUCKET, region: "us-east-1" }, secrets, state),
    AWS_ENDPOINT_URL: s3.endpoint,
    // One prefix per source database, so "latest" is that database's backup.
    BACKUP_STACK: database,
    ...extra,
  };
}

function run(script: string, args: string[], scriptEnv: Record<string, string>) {
  return runBackupScript(script, args, scriptEnv, 60000);
}

async function appIsSuperuser(): Promise<boolean> {
  const [row] = await pg.query<{ rolsuper: boolean }>("SELECT rolsuper FROM pg_roles WHERE rolname = $1", [APP]);
  return row.rolsuper;
}

async function asApp(database: string, sql: string): Promise<void> {
  const c = await pg.client({ database, user: APP, password: APP_PASSWORD });
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function databases(): Promise<string[]> {
  return (await pg.query<{ datname: string }>("SELECT datname FROM pg_database ORDER BY 1")).map((r) => r.datname);
}

/** SUPERUSER for the app role when a superuser runs it; a no-op for anyone else. */
const ESCALATE = `IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) current_user) THEN
                    EXECUTE 'ALTER ROLE ${APP} SUPERUSER';
                  END IF;`;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-security-restore-"));
  const resolved = resolve("production");
  if (!resolved.settings) throw new Error(JSON.stringify(resolved.findings));
  plan = planBackup(resolved.settings);
  [pg, s3] = await Promise.all([PgCluster.start(), FakeS3.start([BUCKET])]);
  writeBackupSecrets(path.join(work, "secrets"));
  // As the reconciler leaves production: the app role owns its databases and everything in them.
  await pg.query(`CREATE ROLE ${APP} LOGIN PASSWORD '${APP_PASSWORD}'`);
  for (const db of ["advtom", "drillsrc", "checksrc"]) await pg.query(`CREATE DATABASE ${db} OWNER ${APP}`);
  await asApp(
    "advtom",
    `CREATE TABLE cases (id int PRIMARY KEY, title text);
     INSERT INTO cases VALUES (1, 'Ação de cobrança'), (2, 'Inventário');
     CREATE FUNCTION escalate() RETURNS int LANGUAGE plpgsql AS $$ BEGIN ${ESCALATE} RETURN 1; END $$;
     -- Refreshed at restore time, as its owner: with --no-owner as the superuser, that was the superuser.
     CREATE MATERIALIZED VIEW case_stats AS SELECT escalate() AS one, count(*) AS cases FROM cases;
     -- For pg_dump and the superuser's own sessions: a name = operator ahead of pg_catalog's on the
     -- database's search_path, and a format(text, text) that beats pg_catalog's variadic one.
     CREATE FUNCTION name_eq_evil(a name, b name) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN ${ESCALATE} RETURN a::text OPERATOR(pg_catalog.=) b::text; END $$;
     CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = name_eq_evil);
     CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN ${ESCALATE} RETURN pg_catalog.format($1, $2); END $$;
     ALTER DATABASE advtom SET search_path = public, pg_catalog;`,
  );
  await asApp(
    "checksrc",
    // Checked on every COPY row; RESET ROLE would escape a superuser session's SET ROLE (pg_restore --role).
    `CREATE FUNCTION escalate_after_reset(int) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RESET ROLE; ${ESCALATE} RETURN true; END $$;
     CREATE TABLE audited (id int CHECK (escalate_after_reset(id)));
     INSERT INTO audited VALUES (1), (2);`,
  );
  await asApp("drillsrc", `CREATE TABLE "${HOSTILE_TABLE.replace(/"/g, '""')}" (id int); INSERT INTO "${HOSTILE_TABLE}" VALUES (1), (2); CREATE TABLE plain (v text); INSERT INTO plain VALUES ('a');`);
  for (const db of ["advtom", "drillsrc", "checksrc"]) {
    const backup = await run("backup.sh", ["run"], env(db));
    if (backup.status !== 0) throw new Error(`backup of ${db} failed: ${backup.stderr}`);
  }
}, 120000);

afterAll(async () => {
  pg?.destroy();
  await s3?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

afterEach(async () => {
  await pg.query(`ALTER ROLE ${APP} NOSUPERUSER`);
});

test("backup.sh (pg_dump as the superuser) runs none of the app's code, search_path plants included: the app role is not superuser after the backups", async () => {
  expect(await appIsSuperuser()).toBe(false);
  // The plants are live: a superuser session that takes the database's search_path calls them.
  await pg.query("SELECT format('%I', 'x')", [], "advtom");
  expect(await appIsSuperuser()).toBe(true);
});

test("the drill's fingerprint of a table named with a quote and a payload runs no SQL: the app role stays NOSUPERUSER and the table matches", async () => {
  const drill = await run("restore-drill.sh", [], env("drillsrc"));
  expect(await appIsSuperuser()).toBe(false);
  expect(drill.stderr).toBe("");
  expect(drill.status).toBe(0);
  const label = `public."${HOSTILE_TABLE}"`;
  expect(drill.stdout).toContain(`advwell-drill: match ${label} rows=2 `);
  expect(drill.stdout).toMatch(/advwell-drill: ok tables=2 /);
});

test("restoring a dump whose materialized view calls an escalating app function leaves the app role NOSUPERUSER, into a new database the app role owns", async () => {
  const before = await databases();
  const restore = await run("restore.sh", [], env("advtom"));
  expect(await appIsSuperuser()).toBe(false);
  expect(restore.stderr).toBe("");
  expect(restore.status).toBe(0);
  // The default target is a new database, owned by the app role; the live one is untouched.
  const target = /database=(advtom_restore_\d{14}) /.exec(restore.stdout)?.[1];
  expect(target).toBeDefined();
  expect((await databases()).filter((d) => !before.includes(d))).toEqual([target]);
  const owners = await pg.query<{ relname: string; owner: string }>(
    "SELECT relname, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'm') ORDER BY 1",
    [],
    target,
  );
  expect(owners).toEqual([
    { relname: "case_stats", owner: APP },
    { relname: "cases", owner: APP },
  ]);
  expect(await pg.query("SELECT one, cases::int FROM case_stats", [], target)).toEqual([{ one: 1, cases: 2 }]);
  const [db] = await pg.query<{ owner: string }>("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1", [target]);
  expect(db.owner).toBe(APP);
  // The temporary role is gone.
  expect(await pg.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'advwell_restore_%'")).toEqual([]);
});

test("restoring a dump whose CHECK constraint calls a function that does RESET ROLE and escalates leaves the app role NOSUPERUSER, and the app role owns what was restored", async () => {
  // A target made by hand by an administrator (so owned by the superuser): restore.sh hands it to the owner role.
  await pg.query("CREATE DATABASE checksrc_copy");
  const restore = await run("restore.sh", [], env("checksrc", { RESTORE_DATABASE: "checksrc_copy" }));
  expect(await appIsSuperuser()).toBe(false);
  expect([restore.status, restore.stderr]).toEqual([0, ""]);
  expect(await pg.query("SELECT id FROM audited ORDER BY id", [], "checksrc_copy")).toEqual([{ id: 1 }, { id: 2 }]);
  // RESET ROLE reached the temporary role, never a superuser; what it owned went to the app role.
  expect(await pg.query("SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace", [], "checksrc_copy")).toEqual([{ owner: APP }]);
  expect(await pg.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'advwell_restore_%'")).toEqual([]);
});

test("the live database is a target only with --into-live", async () => {
  const refused = await run("restore.sh", [], env("advtom", { RESTORE_DATABASE: "advtom" }));
  expect(refused.status).toBe(1);
  expect(refused.stderr).toMatch(/advwell-restore: FAILED stage=config .*RESTORE_DATABASE is the live database advtom: .*pass --into-live/);
  await asApp("advtom", "INSERT INTO cases VALUES (3, 'depois do backup')");
  const into = await run("restore.sh", ["--into-live"], env("advtom", { RESTORE_DATABASE: "advtom" }));
  expect(await appIsSuperuser()).toBe(false);
  expect([into.status, into.stderr]).toEqual([0, ""]);
  expect(await pg.query("SELECT id FROM cases ORDER BY id", [], "advtom")).toEqual([{ id: 1 }, { id: 2 }]);
});

test("a superuser as the owner role is refused before anything is touched", async () => {
  const before = await databases();
  const refused = await run("restore.sh", [], env("advtom", { RESTORE_OWNER: SUPERUSER }));
  expect(refused.status).toBe(1);
  expect(refused.stderr).toMatch(/FAILED stage=owner .*the owner role postgres is a superuser/);
  expect(await databases()).toEqual(before);
});

test("a restore that fails after the temporary role exists says why and leaves no temporary role", async () => {
  // A target the owner role owns, holding a table it does not: --clean cannot drop it.
  await pg.query(`CREATE DATABASE conflicting OWNER ${APP}`);
  await pg.query("CREATE TABLE cases (id int)", [], "conflicting");
  const failed = await run("restore.sh", [], env("advtom", { RESTORE_DATABASE: "conflicting" }));
  expect(failed.status).toBe(1);
  expect(failed.stderr).toMatch(/advwell-restore: FAILED stage=restore .*must be owner of table cases/);
  expect(await pg.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'advwell_restore_%'")).toEqual([]);
  expect(await appIsSuperuser()).toBe(false);
});

test("without perl and python3 (no way to make a SCRAM verifier) restore.sh stops before it touches a database", async () => {
  const bin = path.join(work, "no-scram-tools");
  fs.mkdirSync(bin, { recursive: true });
  for (const tool of ["perl", "python3"]) fs.writeFileSync(path.join(bin, tool), "#!/bin/sh\nexit 127\n", { mode: 0o755 });
  const before = await databases();
  const base = env("advtom");
  const failed = await run("restore.sh", [], { ...base, PATH: `${bin}:${base.PATH}` });
  expect(failed.status).toBe(1);
  expect(failed.stderr).toMatch(/advwell-restore: FAILED stage=secret .*cannot make the temporary role's password/);
  expect(await databases()).toEqual(before);
  expect(await pg.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'advwell_restore_%'")).toEqual([]);
});
