/**
 * Point-in-time recovery for real: PostgreSQL 15 archiving with the plan's settings
 * (archive_mode, archive_command, archive_timeout), pgBackRest 2.45 (Debian) with the plan's
 * rendered config, s3rver over HTTPS as the bucket (pgBackRest talks to S3 over TLS only; a
 * certificate made here is its CA file), and containers/backup/pitr.sh as the operator runs it.
 *
 * Under a steady write load the primary is SIGKILLed and its data directory deleted at a random
 * moment; a restore from the bucket alone must bring back every row committed more than
 * archive_timeout (+ slack) before the loss. A restore to a named moment must hold every row
 * committed before it and none after. verify passes, a tampered file fails it, a restore without
 * the key fails, and no object in the bucket is plaintext.
 *
 * Figures printed: rows lost and the age of the oldest lost row (the RPO), restore times, the
 * async archiver's memory.
 */
import { execFile, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { archiveCommand, BACKUP_SECRET_FILES, backupEnvironment, planBackup, planPitr, PITR_ARCHIVER_MIB_PER_PROCESS, renderPgbackrestConf } from "../../model";
import { resolve } from "../support/stacks";
import { freePort, makeTempDir, PG_BIN, PgCluster, SUPERUSER, SUPERUSER_PASSWORD } from "./support/pgCluster";
import { awsCliDir, FakeS3, S3RVER_KEY, S3RVER_SECRET } from "./support/s3";

const SCRIPTS = path.join(__dirname, "..", "..", "containers", "backup");
const BUCKET = "advwell-pitr-it";
const DB = "advwell";
const CIPHER = "integration-stack-key-0123456789abcdef-0123456789";
const CANARY = `advwell-canary-${process.pid}-plaintext-marker`;
/** The test's archive_timeout: short, so the run is short; the RPO it proves scales with it. */
const ARCHIVE_TIMEOUT = 10;

jest.setTimeout(600_000);

const sets = ["advwell:backupPitrEnabled=true", "advwell:backupPitrImage=advwell/postgres-pitr:15-2.45", `advwell:backupArchiveTimeoutSeconds=${ARCHIVE_TIMEOUT}`, "advwell:backupEndpointUrl=https://127.0.0.1:9000"];
const settings = resolve("production", sets).settings!;
const pitr = planPitr(settings)!;
const backupPlan = planBackup(settings);

let root: string;
/**
 * The pgBackRest bucket: s3rver over HTTPS in a process of its own. In this process its answers
 * would wait behind every synchronous step of the test (a pg_ctl -w, the /proc scans), which a real
 * S3 never does: a restored server's first archive-get waited out pg_ctl's 60 s that way.
 */
let s3: { endpoint: string; dir: string; stop: () => Promise<void> };
/**
 * The dumps' S3, over plain HTTP: the aws CLI (v2.9) uploads with aws-chunked framing over HTTPS,
 * which s3rver stores verbatim (44 bytes of chunk headers more than the file: backup.sh's size
 * check rightly refuses it). Its objects are checked for plaintext with the pgBackRest bucket's.
 */
let s3dumps: FakeS3;
let pg: PgCluster;
let confPath: string;
/** Restore targets made outside `root` (makeTempDir), removed after the suite. */
const scratch: string[] = [];
function scratchDir(prefix: string): string {
  const dir = makeTempDir(prefix);
  scratch.push(dir);
  return path.join(dir, "data");
}

function writeConf(file: string, cipherPass: string, pgPath: string, port: number, spoolDir: string): void {
  const url = new URL(s3.endpoint);
  const text = renderPgbackrestConf(pitr, {
    bucket: BUCKET,
    // pgBackRest matches the endpoint against the certificate's DNS names only (not IP SANs).
    endpointUrl: `https://localhost:${url.port}`,
    region: "us-east-1",
    accessKeyId: S3RVER_KEY,
    secretAccessKey: S3RVER_SECRET,
    cipherPass,
    pgPath,
    pgPort: port,
    pgSocketDir: path.join(root, "socket"),
    caFile: path.join(root, "cert.pem"),
    spoolDir,
  });
  fs.writeFileSync(file, text, { mode: 0o600 });
  execFileSync("chown", ["postgres:postgres", file]);
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

async function s3rverProcess(dir: string): Promise<{ endpoint: string; dir: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const data = path.join(dir, "s3");
  const child = spawn(process.execPath, ["-e", `
    const S3rver = require(${JSON.stringify(require.resolve("s3rver"))});
    const fs = require("fs");
    new S3rver({ address: "127.0.0.1", port: ${port}, directory: ${JSON.stringify(path.join(data, "data"))}, silent: true,
      key: fs.readFileSync(${JSON.stringify(path.join(dir, "key.pem"))}), cert: fs.readFileSync(${JSON.stringify(path.join(dir, "cert.pem"))}),
      configureBuckets: [{ name: ${JSON.stringify(BUCKET)} }] }).run().then(() => console.log("ready"));`], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((r, j) => {
    child.stdout!.once("data", () => r());
    child.once("exit", (code) => j(new Error(`s3rver exited ${code}`)));
  });
  return {
    endpoint: `https://127.0.0.1:${port}`,
    dir: data,
    stop: () => new Promise<void>((r) => {
      child.once("exit", () => r());
      child.kill();
    }),
  };
}

/** pitr.sh as the postgres user (pgBackRest refuses to read a data directory it does not own). Async: s3rver shares our event loop. */
function pitrSh(args: string[], extra: Record<string, string> = {}): Promise<Run> {
  const started = Date.now();
  const env = { PATH: `${PG_BIN}:/usr/bin:/bin`, HOME: root, LANG: "C.UTF-8", PITR_CONF: confPath, PGHOST: path.join(root, "socket"), PGPORT: String(pg.port), PGUSER: SUPERUSER, PGPASSWORD: SUPERUSER_PASSWORD, PGDATA: pg.dataDir, ...extra };
  return new Promise((resolveRun, reject) => {
    const child = spawn("runuser", ["-u", "postgres", "--", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), "bash", path.join(root, "pitr.sh"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolveRun({ status, stdout, stderr, ms: Date.now() - started }));
  });
}

/**
 * A restored cluster, started on its own port with no archiving. pg_ctl -w returns as soon as hot
 * standby accepts read-only connections, in the middle of the WAL replay: wait until recovery has
 * ended (the server promoted itself) before reading anything. Returns the replay's seconds too.
 */
async function startRestored(dir: string): Promise<{ cluster: PgCluster; replaySeconds: number }> {
  const started = Date.now();
  const cluster = await PgCluster.start({ dataDir: dir, settings: { archive_mode: "off" }, nonBlocking: true });
  const deadline = Date.now() + 300_000;
  while ((await cluster.query<{ r: boolean }>("select pg_is_in_recovery() as r"))[0].r) {
    if (Date.now() > deadline) throw new Error(`the restored cluster in ${dir} was still recovering after 300 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { cluster, replaySeconds: (Date.now() - started) / 1000 };
}

/** All objects s3rver holds for the bucket, as raw files on its disk. */
function rawObjects(server: { dir: string } = s3): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith("._S3rver_object")) out.push(p);
    }
  };
  walk(path.join(server.dir, "data", BUCKET));
  return out;
}

interface Commit {
  id: number;
  /** Client clock, ms, when COMMIT was acknowledged. */
  at: number;
}

/** One connection inserting one row per transaction, back to back with a short pause; records every acknowledged commit. */
class WriteLoad {
  readonly commits: Commit[] = [];
  private running = true;
  private done: Promise<void>;
  private marks: { name: string; serverTime: string; lastId: number }[] = [];
  private pendingMark?: { name: string; resolve: (m: { serverTime: string; lastId: number }) => void };

  constructor(private readonly client: Client) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        const r = await this.client.query("insert into ledger (note) values ($1) returning id", [`${CANARY} row`]);
        this.commits.push({ id: Number(r.rows[0].id), at: Date.now() });
        if (this.pendingMark) {
          // A timestamp read between two commits on the one connection: everything before it committed before it.
          const t = await this.client.query("select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as t");
          const m = { name: this.pendingMark.name, serverTime: t.rows[0].t as string, lastId: this.commits[this.commits.length - 1].id };
          this.marks.push(m);
          this.pendingMark.resolve(m);
          this.pendingMark = undefined;
        }
      } catch {
        return; // the server is gone
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  mark(name: string): Promise<{ serverTime: string; lastId: number }> {
    return new Promise((r) => (this.pendingMark = { name, resolve: r }));
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

function postmasterPid(dataDir: string): number {
  return Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
}

/** pids of the pgBackRest processes this test started: their command line names this test's config file. */
function ourPgbackrestPids(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (path.basename(cmd[0]) === "pgbackrest" && cmd.includes(`--config=${confPath}`)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * Records the RSS (MiB) of each of our pgBackRest processes alive at this instant, with an
 * asynchronous `ps` (the processes live for a fraction of a second per segment, so the sampler
 * runs often, and must not hold up the event loop the write load runs on).
 */
let sampling = false;
function sampleArchiverRss(samples: number[]): void {
  if (sampling) return;
  sampling = true;
  execFile("ps", ["-C", "pgbackrest", "-o", "rss=,args="], { encoding: "utf8" }, (_error, stdout) => {
    sampling = false;
    for (const line of (stdout ?? "").split("\n")) {
      const m = /^\s*(\d+)\s+(.*)$/.exec(line);
      if (m && m[2].includes(`--config=${confPath}`)) samples.push(Number(m[1]) / 1024);
    }
  });
}

beforeAll(async () => {
  root = makeTempDir("advwell-pitr-");
  fs.mkdirSync(path.join(root, "socket"));
  fs.mkdirSync(path.join(root, "spool"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(root, "key.pem"), "-out", path.join(root, "cert.pem"), "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"], { stdio: "ignore" });
  // The script as Swarm mounts it (0555) in a folder the postgres user can enter: a checkout in a
  // root-only folder (CI's mktemp -d clone) is not readable by it.
  for (const script of ["pitr.sh", "backup.sh"]) fs.writeFileSync(path.join(root, script), fs.readFileSync(path.join(SCRIPTS, script), "utf8"), { mode: 0o555 });
  execFileSync("chown", ["-R", "postgres:postgres", root]);
  s3 = await s3rverProcess(root);
  s3dumps = await FakeS3.start([BUCKET]);
  confPath = path.join(root, "pgbackrest.conf");
  // The plan's archive settings, with archive_command pointing at this test's config file.
  const archiveSettings = { ...pitr.postgresSettings, archive_command: archiveCommand(pitr.stanza, confPath) };
  pg = await PgCluster.start({ settings: archiveSettings, socketDir: path.join(root, "socket") });
  writeConf(confPath, CIPHER, pg.dataDir, pg.port, path.join(root, "spool"));
  await pg.query(`create database ${DB}`);
  await pg.query("create table ledger (id bigserial primary key, at timestamptz not null default clock_timestamp(), note text not null)", [], DB);
});

afterAll(async () => {
  pg?.destroy();
  await s3?.stop();
  await s3dumps?.stop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
  for (const d of scratch) fs.rmSync(d, { recursive: true, force: true });
});

describe("point-in-time recovery with pgBackRest", () => {
  let loss: { at: number; commits: Commit[] };
  let named: { serverTime: string; lastId: number };
  const rss: number[] = [];

  it("the plan's archive settings and rendered config archive to the bucket: init and a full base backup succeed", async () => {
    expect(pitr.postgresSettings.archive_mode).toBe("on");
    expect(pitr.postgresSettings.archive_timeout).toBe(`${ARCHIVE_TIMEOUT}s`);
    const init = await pitrSh(["init"]);
    expect(init.stderr).toBe("");
    expect(init.status).toBe(0);
    const full = await pitrSh(["full"]);
    expect(full.stderr).toBe("");
    expect(full.status).toBe(0);
    expect(full.stdout).toMatch(/full backup ok/);
    const list = await pitrSh(["list"]);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/full backup: \d{8}-\d{6}F/);
    expect(list.stdout).toMatch(/wal archive min\/max \(15\): [0-9A-F]{24}\/[0-9A-F]{24}/);
    console.log(`pitr: full base backup of an empty cluster ${(full.ms / 1000).toFixed(1)} s`);
  });

  it("under a steady write load, the primary and its data directory are destroyed at a random moment", async () => {
    const client = await pg.client({ database: DB });
    client.on("error", () => undefined); // the server is killed under it, on purpose
    const load = new WriteLoad(client);
    const sampler = setInterval(() => sampleArchiverRss(rss), 50);
    await new Promise((r) => setTimeout(r, 3 * ARCHIVE_TIMEOUT * 1000));
    named = await load.mark("named");
    // A random moment between 2.5 and 4 archive timeouts after the mark.
    const wait = (2.5 + Math.random() * 1.5) * ARCHIVE_TIMEOUT * 1000;
    await new Promise((r) => setTimeout(r, wait));
    const archiver = await pg.query("select last_archived_wal, to_char(last_archived_time at time zone 'UTC', 'HH24:MI:SS') as at, failed_count, last_failed_wal, pg_walfile_name(pg_current_wal_lsn()) as current, to_char(clock_timestamp() at time zone 'UTC', 'HH24:MI:SS') as now from pg_stat_archiver");
    console.log(`pitr: just before the loss, pg_stat_archiver: ${JSON.stringify(archiver[0])}`);
    // The node is lost: the postmaster and the archiver it started die at once, then the disk.
    const pid = postmasterPid(pg.dataDir);
    process.kill(pid, "SIGKILL");
    for (const p of ourPgbackrestPids()) process.kill(p, "SIGKILL");
    const at = Date.now();
    await load.stop();
    clearInterval(sampler);
    await client.end().catch(() => undefined);
    const archiveLog = pg.log().split("\n").filter((l) => /archive|pgbackrest|ERROR|WARN/i.test(l)).slice(-8);
    if (archiveLog.length) console.log(`pitr: the primary's log about archiving:\n${archiveLog.join("\n")}`);
    // The backends notice the postmaster's death and exit; the directory goes with the node.
    fs.rmSync(pg.dataDir, { recursive: true, force: true });
    loss = { at, commits: load.commits };
    expect(load.commits.length).toBeGreaterThan(100);
  });

  it("restore latest from the bucket alone brings back every row committed more than archive_timeout + 15 s before the loss", async () => {
    const dir = scratchDir("advwell-pitr-restore-");
    const r = await pitrSh(["restore", "latest", dir]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const { cluster: restored, replaySeconds } = await startRestored(dir);
    try {
      const ids = new Set((await restored.query<{ id: string }>("select id from ledger", [], DB)).map((x) => Number(x.id)));
      const missing = loss.commits.filter((c) => !ids.has(c.id));
      const oldestMissingAge = missing.length ? (loss.at - Math.min(...missing.map((c) => c.at))) / 1000 : 0;
      console.log(
        `pitr: committed ${loss.commits.length} rows; restored ${ids.size}; missing ${missing.length}; the oldest missing row was committed ${oldestMissingAge.toFixed(1)} s before the loss (archive_timeout ${ARCHIVE_TIMEOUT} s); restore ${(r.ms / 1000).toFixed(1)} s + WAL replay ${replaySeconds.toFixed(1)} s`,
      );
      // No row that was never acknowledged appears, and every row older than the bound is back.
      expect([...ids].every((id) => loss.commits.some((c) => c.id === id))).toBe(true);
      expect(oldestMissingAge).toBeLessThanOrEqual(ARCHIVE_TIMEOUT + 15);
      expect(ids.size).toBeGreaterThan(0);
    } finally {
      restored.destroy();
    }
  });

  it("restore to a named moment: every row committed before it is present, none after", async () => {
    const dir = scratchDir("advwell-pitr-named-");
    const r = await pitrSh(["restore", named.serverTime, dir]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const { cluster: restored } = await startRestored(dir);
    try {
      const rows = await restored.query<{ n: string; max: string }>("select count(*) as n, max(id) as max from ledger", [], DB);
      const before = loss.commits.filter((c) => c.id <= named.lastId).length;
      console.log(`pitr: target ${named.serverTime}: ${rows[0].n} rows restored, ${before} committed before it`);
      expect(Number(rows[0].max)).toBe(named.lastId);
      expect(Number(rows[0].n)).toBe(before);
    } finally {
      restored.destroy();
    }
  });

  it("refuses to restore over the live data directory or into a non-empty one", async () => {
    const live = await pitrSh(["restore", "latest", "/tmp/../tmp/x"], { PGDATA: "/tmp/x" });
    expect(live.status).not.toBe(0);
    expect(live.stderr).toMatch(/refusing to restore over the live data directory/);
    const full = await pitrSh(["restore", "latest", root]);
    expect(full.status).not.toBe(0);
    expect(full.stderr).toMatch(/is not empty/);
  });

  it("the async archiver stays within the memory the plan counts in PostgreSQL's container", () => {
    const peak = rss.length ? Math.max(...rss) : 0;
    console.log(`pitr: pgBackRest process peak RSS ${peak.toFixed(1)} MiB over ${rss.length} samples (plan: ${PITR_ARCHIVER_MIB_PER_PROCESS} MiB per process)`);
    expect(rss.length).toBeGreaterThan(0);
    expect(peak).toBeLessThan(PITR_ARCHIVER_MIB_PER_PROCESS);
  });

  it("a restore without the stack's key fails, and says so", async () => {
    const wrong = path.join(root, "wrong-key.conf");
    fs.mkdirSync(path.join(root, "spool-wrong"));
    execFileSync("chown", ["postgres:postgres", path.join(root, "spool-wrong")]);
    writeConf(wrong, "not-the-stack-key-not-the-stack-key-000000", path.join(root, "nowhere"), pg.port, path.join(root, "spool-wrong"));
    const dir = scratchDir("advwell-pitr-nokey-");
    const r = await pitrSh(["restore", "latest", dir], { PITR_CONF: wrong });
    console.log(`pitr: restore with a wrong key: ${r.stderr.split("\n").filter((l) => /CryptoError|ERROR/.test(l)).slice(0, 2).map((l) => l.trim()).join(" | ")}`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ERROR: \[\d+\]/);
    expect(r.stderr).toMatch(/restore into .* failed/);
    expect(fs.existsSync(path.join(dir, "PG_VERSION"))).toBe(false);
  });

  it("the nightly dump is encrypted with the same key, and no object in the bucket is readable SQL", async () => {
    // A dump of the restored data would need a live server; dump a fresh one holding the canary.
    const source = await PgCluster.start();
    try {
      await source.query(`create database ${DB}`);
      await source.query("create table ledger (id bigserial primary key, note text not null)", [], DB);
      await source.query("insert into ledger (note) select $1 || g from generate_series(1, 1000) g", [CANARY], DB);
      const secrets = path.join(root, "dump-secrets");
      fs.mkdirSync(secrets, { recursive: true });
      fs.writeFileSync(path.join(secrets, BACKUP_SECRET_FILES.databasePassword), SUPERUSER_PASSWORD);
      fs.writeFileSync(path.join(secrets, BACKUP_SECRET_FILES.accessKeyId), S3RVER_KEY);
      fs.writeFileSync(path.join(secrets, BACKUP_SECRET_FILES.secretAccessKey), S3RVER_SECRET);
      fs.writeFileSync(path.join(secrets, BACKUP_SECRET_FILES.passphrase), CIPHER);
      const work = path.join(root, "dump-work");
      fs.mkdirSync(work, { recursive: true });
      const env = {
        PATH: `${PG_BIN}:${awsCliDir()}:/usr/bin:/bin`,
        HOME: work,
        TMPDIR: work,
        LANG: "C.UTF-8",
        ...s3dumps.cliEnv(),
        ...backupEnvironment(backupPlan, { host: "127.0.0.1", port: source.port, database: DB, user: SUPERUSER, bucketName: BUCKET, region: "us-east-1", encrypted: true }, secrets, path.join(work, "state")),
        AWS_ENDPOINT_URL: s3dumps.endpoint,
      };
      // Watch the work directory while the dump runs: only ciphertext may ever appear there.
      const seen: string[] = [];
      const watcher = fs.watch(work, { recursive: true }, (_e, f) => f && seen.push(String(f)));
      const run = await new Promise<Run>((res) => {
        const started = Date.now();
        const child = spawn("bash", [path.join(SCRIPTS, "backup.sh"), "run"], { env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (status) => res({ status, stdout, stderr, ms: Date.now() - started }));
      });
      watcher.close();
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/\.dump\.gpg /);
      expect(seen.some((f) => f.endsWith(".dump.gpg"))).toBe(true);
      expect(seen.filter((f) => /\.dump$/.test(f))).toEqual([]);
    } finally {
      source.destroy();
    }
    const objects = [...rawObjects(), ...rawObjects(s3dumps)];
    const pgbackrest = objects.filter((f) => f.includes(`${pitr.keyPrefix}`));
    const dumps = objects.filter((f) => f.includes(backupPlan.keyPrefix));
    expect(pgbackrest.length).toBeGreaterThan(10);
    expect(dumps.length).toBe(1);
    let plaintext = 0;
    for (const f of objects) {
      const bytes = fs.readFileSync(f);
      if (bytes.includes(Buffer.from(CANARY)) || bytes.includes(Buffer.from("CREATE TABLE")) || bytes.includes(Buffer.from("PGDMP"))) plaintext++;
    }
    // pgBackRest's cipher writes OpenSSL's "Salted__" header on every file; gpg's symmetric message starts with packet tag 0x8c/0xc3.
    const notCipher = pgbackrest.filter((f) => fs.readFileSync(f).subarray(0, 8).toString("latin1") !== "Salted__");
    const dumpHeads = dumps.map((f) => fs.readFileSync(f)[0]);
    console.log(`pitr: ${objects.length} objects in the bucket (${pgbackrest.length} pgBackRest, ${dumps.length} dump); with the canary, CREATE TABLE or a pg_dump header in the clear: ${plaintext}; pgBackRest files without the cipher header: ${notCipher.length}`);
    expect(plaintext).toBe(0);
    expect(notCipher).toEqual([]);
    expect(dumpHeads.every((b) => b === 0x8c || b === 0xc3)).toBe(true);
  });

  /**
   * The bucket's objects, byte for byte, as a pgBackRest posix repository. s3rver 3.7 answers a
   * ListObjectsV2 with a delimiter without CommonPrefixes, so pgBackRest's verify over S3 finds "no
   * archives exist in the repo" and checks nothing (archive-push, backup and restore only list
   * files and work). verify therefore reads a mirror of exactly what the bucket holds.
   */
  function mirrorBucket(): string {
    const dir = fs.mkdtempSync(path.join(root, "mirror-"));
    const base = path.join(s3.dir, "data", BUCKET);
    for (const f of rawObjects()) {
      const target = path.join(dir, path.relative(base, f).replace(/\._S3rver_object$/, ""));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(f, target);
    }
    const conf = path.join(dir, "posix.conf");
    fs.writeFileSync(conf, ["[global]", "repo1-type=posix", `repo1-path=${path.join(dir, pitr.repoPath)}`, "repo1-cipher-type=aes-256-cbc", `repo1-cipher-pass=${CIPHER}`, "log-level-file=off", "log-level-console=warn", `lock-path=${dir}`, "", `[${pitr.stanza}]`, `pg1-path=${path.join(root, "nowhere")}`, ""].join("\n"));
    execFileSync("chown", ["-R", "postgres:postgres", dir]);
    return conf;
  }

  it("verify passes on the bucket's archive, and one flipped byte in a WAL segment fails it, naming the segment", async () => {
    const ok = await pitrSh(["verify"], { PITR_CONF: mirrorBucket() });
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/verify ok/);
    const checked = /total WAL checked: (\d+), total valid WAL: (\d+)/.exec(ok.stdout);
    expect(checked).not.toBeNull();
    expect(Number(checked![1])).toBeGreaterThan(3);
    expect(checked![2]).toBe(checked![1]);
    const wal = rawObjects().filter((f) => f.includes(`${pitr.keyPrefix}archive/`) && /\/[0-9A-F]{24}-[0-9a-f]{40}\.zst\._S3rver_object$/.test(f)).sort();
    expect(wal.length).toBeGreaterThan(3);
    const victim = wal[Math.floor(wal.length / 2)];
    const bytes = fs.readFileSync(victim);
    bytes[bytes.length >> 1] ^= 0xff; // one flipped byte in the middle of the ciphertext
    fs.writeFileSync(victim, bytes);
    const bad = await pitrSh(["verify"], { PITR_CONF: mirrorBucket() });
    const segment = path.basename(victim).slice(0, 24);
    console.log(`pitr: verify: ${checked![0]} before; after flipping one byte of ${segment}: ${bad.stderr.split("\n").filter((l) => /invalid (checksum|result)|total valid|FAILED/.test(l)).map((l) => l.trim()).join(" | ")}`);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/verify found damaged or missing files/);
    expect(bad.stderr).toMatch(new RegExp(`invalid (checksum|result) '?[^ ']*${segment}`));
  });
});
