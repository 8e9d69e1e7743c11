/**
 * Backups for real: PostgreSQL 15 with realistic data, s3rver as S3, and scripts/backup/*.sh run
 * with exactly the environment the backup service gets (backupEnvironment from the plan, secrets
 * as files). A backup must restore into a fresh database with every row intact, and a failed
 * run must exit non-zero, say why, and leave nothing that looks like a good backup.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backupEnvironment, BackupPlan, cronMatchesAt, parseCron, planBackup } from "../../model";
import { resolve } from "../support/stacks";
import { freePort, PG_BIN, PgCluster, SUPERUSER } from "./support/pgCluster";
import { BACKUP_SCRIPTS_DIR as SCRIPTS, runBackupScript, ScriptRun, writeBackupSecrets } from "./support/backupScripts";
import { awsCliDir, FakeS3 } from "./support/s3";
const BUCKET = "advwell-backups-it";
const DB = "advwell";
const APP_ROLE = "advwell_app";
const APP_ROLE_PASSWORD = "advwell-app-it-pw";

let pg: PgCluster;
let s3: FakeS3;
let plan: BackupPlan;
let work: string;

type Run = ScriptRun;

/** A secrets directory as Swarm would mount it. */
function secretsDir(name: string, values: { password?: string; passphrase?: string } = {}): string {
  return writeBackupSecrets(path.join(work, `secrets-${name}`), values);
}

interface ScriptOptions {
  secrets?: string;
  state?: string;
  encrypted?: boolean;
  bucket?: string;
  endpoint?: string;
  extra?: Record<string, string>;
}

/** The service's environment (from the plan), pointed at our PostgreSQL, s3rver and temp dirs. */
function serviceEnv(o: ScriptOptions = {}): Record<string, string> {
  const state = o.state ?? path.join(work, "state");
  return {
    PATH: `${PG_BIN}:${awsCliDir()}:/usr/bin:/bin`,
    HOME: work,
    TMPDIR: work,
    LANG: "C.UTF-8",
    ...s3.cliEnv(),
    ...backupEnvironment(
      plan,
      { host: "127.0.0.1", port: pg.port, database: DB, user: SUPERUSER, bucketName: o.bucket ?? BUCKET, region: "us-east-1", encrypted: o.encrypted, metricsDir: path.join(state, "metrics") },
      o.secrets ?? secretsDir("good"),
      state,
    ),
    AWS_ENDPOINT_URL: o.endpoint ?? s3.endpoint,
    ...o.extra,
  };
}

/** Starts `backup.sh schedule`, the service's command, as Swarm would; its output is stdout and stderr together. */
function startScheduler(env: Record<string, string>) {
  const child = spawn("bash", [path.join(SCRIPTS, "backup.sh"), "schedule"], { env, stdio: ["ignore", "pipe", "pipe"] });
  const scheduler = {
    output: "",
    exited: new Promise<{ code: number | null; at: number }>((r) => child.on("close", (code) => r({ code, at: Date.now() }))),
    async waitFor(done: () => boolean, ms: number): Promise<void> {
      const deadline = Date.now() + ms;
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    },
    stop: () => child.kill("SIGTERM"),
    kill: () => child.kill("SIGKILL"),
  };
  child.stdout.on("data", (d) => (scheduler.output += d));
  child.stderr.on("data", (d) => (scheduler.output += d));
  return scheduler;
}

const run = runBackupScript;

function backupKeys(): Promise<string[]> {
  return s3.keys(BUCKET);
}

/** Waits for the next UTC second so two backups never share a timestamp key. */
async function nextSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
}

const SCHEMA = `
create table companies (
  id serial primary key,
  name text not null,
  cnpj char(14) not null unique,
  settings jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create table users (
  id bigserial primary key,
  company_id int not null references companies(id) on delete cascade,
  email text not null unique,
  full_name text not null,
  active boolean not null default true
);
create table lawsuits (
  id bigserial primary key,
  company_id int not null references companies(id),
  responsible_id bigint references users(id),
  number text not null unique,
  title text not null,
  claim_value numeric(14, 2),
  filed_on date,
  tags text[]
);
create index lawsuits_company_idx on lawsuits (company_id, filed_on);
create table documents (
  id uuid primary key default gen_random_uuid(),
  lawsuit_id bigint not null references lawsuits(id) on delete cascade,
  body text not null,
  content bytea,
  uploaded_at timestamptz not null
);
create table hearings (
  id bigserial primary key,
  lawsuit_id bigint not null references lawsuits(id),
  scheduled_at timestamptz not null,
  notes text
);
create view open_lawsuits as select l.id, l.number, c.name as company from lawsuits l join companies c on c.id = l.company_id;
`;

const FILL = `
insert into companies (name, cnpj, settings)
select (array['Silva & Souza Advogados', 'Escritório Conceição — Recife', 'Müller, Gonçalves e Associados', 'Advocacia São João'])[1 + i % 4] || ' ' || i,
       lpad(i::text, 14, '0'),
       jsonb_build_object('plano', (array['básico', 'profissional', 'escritório'])[1 + i % 3], 'ativo', i % 7 <> 0, 'cidade', 'São Paulo')
from generate_series(1, 60) i;
insert into users (company_id, email, full_name, active)
select 1 + i % 60, 'usuario' || i || '@advwell.pro', (array['João Conceição', 'Maria Antônia Araújo', 'José "Zé" D''Ávila', 'Inês Gonçalves'])[1 + i % 4] || ' ' || i, i % 9 <> 0
from generate_series(1, 600) i;
insert into lawsuits (company_id, responsible_id, number, title, claim_value, filed_on, tags)
select 1 + i % 60,
       case when i % 11 = 0 then null else 1 + i % 600 end,
       lpad(i::text, 7, '0') || '-12.2025.8.26.0100',
       (array['Ação de cobrança — São Paulo', 'Execução fiscal — Belo Horizonte', 'Mandado de segurança — Brasília', 'Reclamação trabalhista: horas extras à noite', 'Ação de indenização por danos morais (Lei nº 8.078/90) ⚖️'])[1 + i % 5] || ' #' || i,
       case when i % 13 = 0 then null else round((i * 1234.567)::numeric, 2) end,
       date '2020-01-01' + (i % 1800),
       (array['cível', 'urgente', 'recurso'])[1:1 + i % 3]
from generate_series(1, 3000) i;
insert into documents (lawsuit_id, body, content, uploaded_at)
select 1 + i % 3000,
       'Petição inicial ' || i || E'\\nExcelentíssimo Senhor Doutor Juiz de Direito da ' || (i % 40) || 'ª Vara Cível — São Paulo/SP.\\n' || repeat('Cláusula com acentuação: ação, razão, exceção; backslash \\\\ e aspas "duplas". ', 1 + i % 5),
       case when i % 4 = 0 then null else decode(md5(i::text), 'hex') end,
       timestamptz '2025-11-23 02:00:00+00' - make_interval(mins => i)
from generate_series(1, 3000) i;
insert into hearings (lawsuit_id, scheduled_at, notes)
select 1 + (i * 7) % 3000, timestamptz '2026-01-10 13:30:00-03' + make_interval(days => i % 200), case when i % 3 = 0 then null else 'Audiência de conciliação — sala ' || i end
from generate_series(1, 1500) i;
`;

const TABLES = ["companies", "users", "lawsuits", "documents", "hearings"] as const;

interface Fingerprint {
  rows: number;
  md5: string;
}

async function fingerprints(database: string): Promise<Record<string, Fingerprint>> {
  const out: Record<string, Fingerprint> = {};
  for (const table of TABLES) {
    const [row] = await pg.query<{ rows: number; md5: string }>(
      `select count(*)::int as rows, md5(coalesce(string_agg(t::text, E'\\n' order by t::text collate "C"), '')) as md5 from ${table} t`,
      [],
      database,
    );
    out[table] = row;
  }
  return out;
}

async function schemaShape(database: string): Promise<string[]> {
  const rows = await pg.query<{ item: string }>(
    `select 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || contype::text as item from pg_constraint where connamespace = 'public'::regnamespace
     union all select 'index ' || indexname from pg_indexes where schemaname = 'public'
     union all select 'view ' || table_name from information_schema.views where table_schema = 'public'
     union all select 'sequence ' || sequencename || ' ' || last_value from pg_sequences where schemaname = 'public'
     order by 1`,
    [],
    database,
  );
  return rows.map((r) => r.item);
}

async function createDatabase(name: string): Promise<void> {
  await pg.query(`create database ${name}`);
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-backup-it-"));
  const resolved = resolve("production");
  if (!resolved.settings) throw new Error(JSON.stringify(resolved.findings));
  plan = planBackup(resolved.settings);
  [pg, s3] = await Promise.all([PgCluster.start(), FakeS3.start([BUCKET])]);
  // As in production (the reconciler's work): a non-superuser app role owns the database and its
  // objects; restores run as that role (containers/backup/restore.sh).
  await pg.query(`create role ${APP_ROLE} login password '${APP_ROLE_PASSWORD}'`);
  await pg.query(`create database ${DB} owner ${APP_ROLE}`);
  const client = await pg.client({ database: DB, user: APP_ROLE, password: APP_ROLE_PASSWORD });
  try {
    await client.query(SCHEMA);
    await client.query(FILL);
  } finally {
    await client.end();
  }
}, 60000);

afterAll(async () => {
  pg?.destroy();
  await s3?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("backup.sh with the service's environment", () => {
  let key: string;

  test("uploads a verified custom-format dump to <prefix>/<stack>/<UTC timestamp>.dump and logs one line", async () => {
    const result = await run("backup.sh", ["run"], serviceEnv());
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const match = /advwell-backup: ok started=\S+Z key=s3:\/\/advwell-backups-it\/(postgres\/production\/\d{8}T\d{6}Z\.dump) bytes=(\d+) seconds=[\d.]+ sha256=([0-9a-f]{64})$/.exec(lines[0]);
    expect(match).not.toBeNull();
    key = match![1];
    expect(await backupKeys()).toEqual([key]);
    const body = await s3.get(BUCKET, key);
    expect(body.length).toBe(Number(match![2]));
    // pg_dump's custom format starts with its magic; the object is the dump itself.
    expect(body.subarray(0, 5).toString("latin1")).toBe("PGDMP");
    const head = await s3.head(BUCKET, key);
    expect(head.Metadata.sha256).toBe(match![3]);
    expect(head.Metadata.stack).toBe("production");
  });

  test("a success leaves the last-success timestamp for node-exporter's textfile collector", () => {
    const text = fs.readFileSync(path.join(work, "state", "metrics", "advwell_backup.prom"), "utf8");
    const match = /^advwell_backup_last_success_timestamp_seconds\{stack="production"\} (\d+)$/m.exec(text);
    expect(match).not.toBeNull();
    expect(Math.abs(Number(match![1]) - Date.now() / 1000)).toBeLessThan(120);
    expect(text).toContain("# TYPE advwell_backup_last_success_timestamp_seconds gauge");
  });

  test("the healthcheck reports healthy after a success", async () => {
    const result = await run("backup.sh", ["health"], serviceEnv());
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^healthy: last backup \d+ s ago \(postgres\/production\/\d{8}T\d{6}Z\.dump\)/);
  });

  test("restore.sh restores the latest backup into a fresh database with every row, constraint and sequence", async () => {
    await createDatabase("advwell_restored");
    const result = await run("restore.sh", [], serviceEnv({ extra: { RESTORE_DATABASE: "advwell_restored" } }));
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`advwell-restore: ok key=s3://${BUCKET}/${key} bytes=\\d+ database=advwell_restored seconds=`));
    const [source, restored] = await Promise.all([fingerprints(DB), fingerprints("advwell_restored")]);
    expect(source.lawsuits.rows).toBe(3000);
    expect(source.documents.rows).toBe(3000);
    expect(restored).toEqual(source);
    expect(await schemaShape("advwell_restored")).toEqual(await schemaShape(DB));
    const [row] = await pg.query<{ title: string }>("select title from lawsuits where id = 5", [], "advwell_restored");
    expect(row.title).toBe("Ação de cobrança — São Paulo #5");
  });

  test("the restore drill restores into a scratch database, matches every table and reports its time", async () => {
    const result = await run("restore-drill.sh", [key.split("/").pop()!.replace(/\.dump$/, "")], serviceEnv());
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const matches = result.stdout.split("\n").filter((l) => l.includes("advwell-drill: match "));
    expect(matches.map((l) => /match public\.(\w+)/.exec(l)![1]).sort()).toEqual([...TABLES].sort());
    const ok = /advwell-drill: ok tables=5 restore_seconds=([\d.]+) database=(\S+)/.exec(result.stdout);
    expect(ok).not.toBeNull();
    console.log(`restore drill: restore took ${ok![1]} s (whole drill ${result.ms} ms) for ${TABLES.length} tables / 8160 rows`);
  });

  test("the restore drill fails, naming the table, when the restored data differs from the source", async () => {
    await pg.query("update hearings set notes = 'alterada depois do backup' where id = 1", [], DB);
    try {
      const result = await run("restore-drill.sh", [], serviceEnv());
      expect(result.status).toBe(1);
      expect(result.stdout).toMatch(/advwell-drill: DIFFERS public\.hearings /);
      expect(result.stdout).toMatch(/advwell-drill: match public\.lawsuits /);
      expect(result.stderr).toMatch(/advwell-drill: FAILED restore_seconds=[\d.]+: the restored database differs from advwell/);
    } finally {
      await pg.query("update hearings set notes = 'Audiência de conciliação — sala 1' where id = 1", [], DB);
    }
  });

  test("an encrypted backup is unreadable without the passphrase and restores with it", async () => {
    await nextSecond();
    const secrets = secretsDir("encrypted", { passphrase: "correct horse battery staple — ç" });
    const env = serviceEnv({ secrets, encrypted: true, state: path.join(work, "state-encrypted") });
    const result = await run("backup.sh", ["run"], env);
    expect(result.status).toBe(0);
    const encryptedKey = /key=s3:\/\/[^/]+\/(\S+\.dump\.gpg) /.exec(result.stdout)![1];
    expect(await backupKeys()).toContain(encryptedKey);
    const body = await s3.get(BUCKET, encryptedKey);
    expect(body.subarray(0, 5).toString("latin1")).not.toBe("PGDMP");
    expect(body.includes(Buffer.from("São Paulo"))).toBe(false);

    await createDatabase("advwell_from_encrypted");
    const restored = await run("restore.sh", [encryptedKey], { ...env, RESTORE_DATABASE: "advwell_from_encrypted" });
    expect(restored.stderr).toBe("");
    expect(restored.status).toBe(0);
    expect(await fingerprints("advwell_from_encrypted")).toEqual(await fingerprints(DB));

    const { BACKUP_PASSPHRASE_FILE: _omitted, ...withoutPassphrase } = env;
    const refused = await run("restore.sh", [encryptedKey], { ...withoutPassphrase, RESTORE_DATABASE: "advwell_from_encrypted" });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/advwell-restore: FAILED stage=decrypt .*the backup is encrypted; set BACKUP_PASSPHRASE_FILE/);
  });
});

describe("backup.sh schedule, the service's command", () => {
  test("takes a backup at start, reports healthy, and stops at once on SIGTERM (docker stop)", async () => {
    await nextSecond();
    const before = await backupKeys();
    const state = path.join(work, "state-scheduler");
    const env = serviceEnv({ state });
    const scheduler = startScheduler(env);
    try {
      await scheduler.waitFor(() => scheduler.output.includes("advwell-backup: ok"), 30000);
      expect(scheduler.output).toMatch(/advwell-backup: scheduler up; cron "0 2 \* \* \*" \(UTC\); taking a backup now, then on schedule\n.*advwell-backup: ok /);
      const health = await run("backup.sh", ["health"], env);
      expect(health.status).toBe(0);
      const after = await backupKeys();
      expect(after.filter((k) => !before.includes(k))).toHaveLength(1);
      // Now it sleeps towards the next minute; bash as PID 1 would sit out SIGTERM without the trap.
      const stoppedAt = Date.now();
      scheduler.stop();
      const { code, at } = await scheduler.exited;
      expect(code).toBe(0);
      expect(at - stoppedAt).toBeLessThan(2000);
      expect(scheduler.output).toMatch(/advwell-backup: scheduler stopping/);
    } finally {
      scheduler.kill();
    }
  });
});

describe("backup.sh schedule before the database is up", () => {
  test("waits for the database instead of failing its first run, and a stop while it waits exits at once", async () => {
    const state = path.join(work, "state-waiting");
    // A first deploy or a reboot starts every task at once: nothing listens on this port yet.
    const env = serviceEnv({ state, extra: { PGPORT: String(await freePort()) } });
    const scheduler = startScheduler(env);
    const waiting = /advwell-backup: waiting for 127\.0\.0\.1:\d+ before the first backup/;
    try {
      await scheduler.waitFor(() => waiting.test(scheduler.output), 15000);
      expect(scheduler.output).toMatch(waiting);
      await new Promise((r) => setTimeout(r, 1500));
      // No run was attempted, so nothing failed and the health check is not yet "failed".
      expect(scheduler.output).not.toMatch(/FAILED/);
      expect(fs.existsSync(path.join(state, "last-failure"))).toBe(false);
      const stoppedAt = Date.now();
      scheduler.stop();
      const { code, at } = await scheduler.exited;
      expect(code).toBe(0);
      expect(at - stoppedAt).toBeLessThan(2000);
    } finally {
      scheduler.kill();
    }
  });
});

describe("backup.sh schedule stopped during a backup", () => {
  test("finishes the backup it has started, then exits 0 (the plan's stop grace period covers a dump)", async () => {
    await nextSecond();
    const before = await backupKeys();
    const state = path.join(work, "state-stop-during-run");
    const env = serviceEnv({ state });
    const scheduler = startScheduler(env);
    try {
      // The run marks itself running in the state directory; stop the service exactly then.
      await scheduler.waitFor(() => fs.existsSync(path.join(state, "running")), 30000);
      expect(fs.existsSync(path.join(state, "running"))).toBe(true);
      scheduler.stop();
      expect((await scheduler.exited).code).toBe(0);
      expect(scheduler.output).toMatch(/stop requested during a backup; finishing it first[\s\S]*advwell-backup: ok [\s\S]*scheduler stopping/);
      const after = await backupKeys();
      expect(after.filter((k) => !before.includes(k))).toHaveLength(1);
    } finally {
      scheduler.kill();
    }
  });
});

describe("a failed backup exits non-zero, says why, and leaves no object", () => {
  test("a wrong database password fails at pg_dump before anything is uploaded", async () => {
    await nextSecond();
    const before = await backupKeys();
    const state = path.join(work, "state-bad-password");
    const env = serviceEnv({ secrets: secretsDir("bad-password", { password: "not-the-password" }), state });
    const result = await run("backup.sh", ["run"], env);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/advwell-backup: FAILED started=\S+ stage=dump .*password authentication failed for user "postgres".*; no backup was recorded/);
    expect(await backupKeys()).toEqual(before);
    expect(fs.existsSync(path.join(state, "last-success"))).toBe(false);
    const health = await run("backup.sh", ["health"], env);
    expect(health.status).toBe(1);
    expect(health.stdout).toMatch(/^unhealthy: the last backup failed \(\d+ dump\)/);
  });

  test("encrypted: a pg_dump that fails mid-pipe fails the run at the dump stage (pipefail), though gpg exits 0", async () => {
    await nextSecond();
    const before = await backupKeys();
    const state = path.join(work, "state-bad-password-encrypted");
    const env = serviceEnv({ secrets: secretsDir("bad-password-encrypted", { password: "not-the-password", passphrase: "stack-key-for-this-test" }), encrypted: true, state });
    const result = await run("backup.sh", ["run"], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/advwell-backup: FAILED started=\S+ stage=dump .*password authentication failed for user "postgres".*; no backup was recorded/);
    expect(await backupKeys()).toEqual(before);
  });

  test("a missing bucket fails at upload and creates neither the bucket nor an object", async () => {
    await nextSecond();
    const before = await backupKeys();
    const result = await run("backup.sh", ["run"], serviceEnv({ bucket: "advwell-no-such-bucket", state: path.join(work, "state-no-bucket") }));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/advwell-backup: FAILED .*stage=upload .*target=s3:\/\/advwell-no-such-bucket\/postgres\/production\/\d{8}T\d{6}Z\.dump: .*NoSuchBucket/);
    expect(await s3.bucketExists("advwell-no-such-bucket")).toBe(false);
    expect(await backupKeys()).toEqual(before);
  });

  test("an unreachable S3 endpoint fails at upload and leaves no object", async () => {
    await nextSecond();
    const before = await backupKeys();
    const deadEndpoint = `http://127.0.0.1:${await freePort()}`;
    // The CLI retries connection errors with backoff (5 attempts: 6-12 s); two keep the test quick.
    const retries = { AWS_RETRY_MODE: "standard", AWS_MAX_ATTEMPTS: "2" };
    const result = await run("backup.sh", ["run"], serviceEnv({ endpoint: deadEndpoint, state: path.join(work, "state-dead-endpoint"), extra: retries }));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/advwell-backup: FAILED .*stage=upload .*Could not connect to the endpoint URL/);
    expect(await backupKeys()).toEqual(before);
  });
});

describe("the healthcheck", () => {
  function healthWith(files: Record<string, string>): Promise<Run> {
    const state = fs.mkdtempSync(path.join(work, "health-"));
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(state, name), content);
    return run("backup.sh", ["health"], serviceEnv({ state }));
  }
  const now = () => Math.floor(Date.now() / 1000);

  test("is unhealthy when the last success is older than the plan's limit (26 h for a daily schedule)", async () => {
    expect(plan.maxAgeSeconds).toBe(26 * 3600);
    const result = await healthWith({ "last-success": `${now() - plan.maxAgeSeconds - 60} postgres/production/x.dump\n` });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^unhealthy: the last successful backup is \d+ s old \(limit 93600 s\)/);
  });

  test("is healthy while the first backup runs, and unhealthy when none ever ran", async () => {
    expect((await healthWith({ running: `${now() - 30}\n` })).status).toBe(0);
    const none = await healthWith({});
    expect(none.status).toBe(1);
    expect(none.stdout).toMatch(/^unhealthy: no successful backup yet/);
  });
});

test("the scheduler fires on exactly the minutes the plan's cron parser says", () => {
  const expressions = ["0 2 * * *", "*/15 * * * *", "30 3 * * 0", "0 4 1,15 * *", "0 6 1 * 1", "5-50/15 8-18 * 1-6 1-5", "0 0 29 2 *", "0 12 * * 7"];
  // Random minutes over a leap year, plus each expression's first hits, so both answers are exercised.
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const start = Date.UTC(2024, 0, 1);
  const dates = Array.from({ length: 400 }, () => new Date(start + Math.floor(random() * 366 * 1440) * 60000));
  for (const expression of expressions) {
    const schedule = parseCron(expression);
    if (typeof schedule === "string") throw new Error(schedule);
    let hits = 0;
    for (let minute = 0; minute < 366 * 1440 && hits < 3; minute++) {
      const date = new Date(start + minute * 60000);
      if (cronMatchesAt(schedule, date)) {
        dates.push(date);
        hits++;
      }
    }
  }
  const pad = (n: number) => String(n).padStart(2, "0");
  const ticks = dates.map((d) => `${pad(d.getUTCMinutes())} ${pad(d.getUTCHours())} ${pad(d.getUTCDate())} ${pad(d.getUTCMonth() + 1)} ${d.getUTCDay()}`);
  for (const expression of expressions) {
    const schedule = parseCron(expression);
    if (typeof schedule === "string") throw new Error(schedule);
    const expected = dates.map((d) => (cronMatchesAt(schedule, d) ? "1" : "0")).join("");
    const loop = `ADVWELL_BACKUP_LIB=1 . "${path.join(SCRIPTS, "backup.sh")}"; while read -r tick; do if cron_matches "$EXPR" "$tick"; then printf 1; else printf 0; fi; done`;
    const result = spawnSync("bash", ["-c", loop], {
      encoding: "utf8",
      input: ticks.join("\n") + "\n",
      // HOME without a .bashrc: bash sources it when stdin is a socket, as Node's pipes are.
      env: { PATH: "/usr/bin:/bin", HOME: work, EXPR: expression },
    });
    expect(result.stderr).toBe("");
    expect({ expression, fired: result.stdout }).toEqual({ expression, fired: expected });
    expect(expected).toMatch(/1/);
  }
});
