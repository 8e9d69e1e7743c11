/**
 * Restore time of a ~1 GiB database from the bucket alone, with the plan's pgBackRest config
 * (zstd level 3, aes-256-cbc, one process for archiving and backups) and containers/backup/pitr.sh
 * as the operator runs it. The bucket is s3rver over HTTPS on loopback, in its own process.
 *
 *   npx ts-node scripts/bench-pitr-restore.ts [--scale 68]     # pgbench scale 68 ≈ 1.0 GiB
 *
 * Prints: database size, full backup time and size in the bucket, restore time (pitr.sh restore
 * latest, which also replays the WAL archived after the backup), time until the restored server
 * accepts connections, and that every row is back. Not run in CI (minutes, and a figure).
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { archiveCommand, planPitr, renderPgbackrestConf } from "../model";
import { resolveStack } from "../model/plan/resolve";
import { loadStackConfig, applySet } from "../config/stackConfig";
import { freePort, initDataDir, makeTempDir, PG_BIN, runAsPostgres, runAsPostgresAsync, SUPERUSER_PASSWORD } from "./lib/pgServer";

const args = process.argv.slice(2);
const scale = Number(args[args.indexOf("--scale") + 1] ?? 68) || 68;

function seconds(fromMs: number): string {
  return ((Date.now() - fromMs) / 1000).toFixed(1);
}

async function main(): Promise<void> {
  const { config } = loadStackConfig("production");
  for (const set of ["advwell:backupPitrEnabled=true", "advwell:backupPitrImage=advwell/postgres-pitr:15-2.45", "advwell:backupEndpointUrl=https://localhost:9000"]) applySet(config, set, "advwell");
  const { settings } = resolveStack(config, "production");
  const pitr = planPitr(settings!)!;
  const root = makeTempDir("advwell-pitr-bench-");
  const socket = path.join(root, "socket");
  fs.mkdirSync(socket, { mode: 0o777 });
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(root, "key.pem"), "-out", path.join(root, "cert.pem"), "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"], { stdio: "ignore" });
  const s3port = await freePort();
  const s3dir = path.join(root, "s3");
  const s3rver: ChildProcess = spawn(process.execPath, ["-e", `
    const S3rver = require(${JSON.stringify(require.resolve("s3rver"))});
    const fs = require("fs");
    new S3rver({ address: "127.0.0.1", port: ${s3port}, directory: ${JSON.stringify(s3dir)}, silent: true,
      key: fs.readFileSync(${JSON.stringify(path.join(root, "key.pem"))}), cert: fs.readFileSync(${JSON.stringify(path.join(root, "cert.pem"))}),
      configureBuckets: [{ name: "bench" }] }).run().then(() => console.log("ready"));`], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((r) => s3rver.stdout!.once("data", () => r()));

  const pgPort = await freePort();
  const dataDir = initDataDir("advwell-pitr-bench-pg-");
  const conf = path.join(root, "pgbackrest.conf");
  const writeConf = (pgPath: string) =>
    fs.writeFileSync(conf, renderPgbackrestConf(pitr, { bucket: "bench", endpointUrl: `https://localhost:${s3port}`, region: "us-east-1", accessKeyId: "S3RVER", secretAccessKey: "S3RVER", cipherPass: "bench-stack-key-0123456789abcdef0123456789", pgPath, pgPort, pgSocketDir: socket, caFile: path.join(root, "cert.pem"), spoolDir: path.join(root, "spool") }), { mode: 0o644 });
  writeConf(dataDir);
  const pgSettings = { ...pitr.postgresSettings, archive_command: archiveCommand(pitr.stanza, conf), port: String(pgPort), listen_addresses: "127.0.0.1", unix_socket_directories: socket, max_wal_size: "2GB" };
  fs.appendFileSync(path.join(dataDir, "postgresql.conf"), Object.entries(pgSettings).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`).join("\n") + "\n");
  // pgBackRest reaches PostgreSQL through the unix socket only.
  fs.appendFileSync(path.join(dataDir, "pg_hba.conf"), "local all all scram-sha-256\n");
  execFileSync("chown", ["-R", "postgres:postgres", root, path.dirname(dataDir)]);
  const pgctl = (dir: string, ...rest: string[]) => runAsPostgresAsync(`${PG_BIN}/pg_ctl`, ["-D", dir, "-l", path.join(root, `pg-${path.basename(path.dirname(dir))}.log`), ...rest]);
  const env = { PGHOST: socket, PGPORT: String(pgPort), PGUSER: "postgres", PGPASSWORD: SUPERUSER_PASSWORD };
  const pitrSh = (...a: string[]) =>
    runAsPostgresAsync("env", [...Object.entries({ ...env, PITR_CONF: conf, PGDATA: dataDir, PATH: `${PG_BIN}:/usr/bin:/bin` }).map(([k, v]) => `${k}=${v}`), "bash", path.join(__dirname, "..", "containers", "backup", "pitr.sh"), ...a]);
  const must = async (what: string, p: Promise<{ status: number | null; stdout: string; stderr: string }>) => {
    const r = await p;
    if (r.status !== 0) throw new Error(`${what} failed:\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  let restored: string | undefined;
  try {
    await must("start", pgctl(dataDir, "-w", "-t", "120", "start"));
    let t = Date.now();
    runAsPostgres(`${PG_BIN}/pgbench`, ["-i", "-q", "-s", String(scale), "-h", socket, "-p", String(pgPort), "postgres"], env);
    const size = runAsPostgres(`${PG_BIN}/psql`, ["-XAt", "-h", socket, "-p", String(pgPort), "-d", "postgres", "-c", "select pg_size_pretty(pg_database_size('postgres')), pg_database_size('postgres')"], env).trim();
    console.log(`bench-pitr: pgbench -i -s ${scale}: database ${size.split("|")[0]} in ${seconds(t)} s`);
    await must("init", pitrSh("init"));
    t = Date.now();
    await must("full", pitrSh("full"));
    const stored = spawnSync("du", ["-sb", s3dir], { encoding: "utf8" }).stdout.split("\t")[0];
    console.log(`bench-pitr: full base backup ${seconds(t)} s; bucket holds ${(Number(stored) / 2 ** 20).toFixed(0)} MiB (zstd 3 + aes-256-cbc)`);
    // Commits after the backup: the restore must replay them from the archived WAL.
    const psql = (sql: string) => runAsPostgres(`${PG_BIN}/psql`, ["-XAt", "-h", socket, "-p", String(pgPort), "-d", "postgres", "-c", sql], env).trim();
    psql("create table after_backup as select g from generate_series(1, 100000) g");
    // The segment holding that commit is closed now, then waited for until the archiver reports it.
    const segment = psql("select pg_walfile_name(pg_switch_wal())");
    const deadline = Date.now() + 300_000;
    while (psql("select coalesce(last_archived_wal, '') from pg_stat_archiver") < segment) {
      if (Date.now() > deadline) throw new Error(`segment ${segment} was not archived within 300 s`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await pgctl(dataDir, "-m", "immediate", "stop");
    fs.rmSync(dataDir, { recursive: true, force: true });

    restored = path.join(makeTempDir("advwell-pitr-bench-restore-"), "data");
    t = Date.now();
    const r = await must("restore", pitrSh("restore", "latest", restored));
    const restoreSeconds = seconds(t);
    t = Date.now();
    await must("start restored", pgctl(restored, "-w", "-t", "600", "start"));
    // pg_ctl -w returns once hot standby takes read-only connections, mid-replay: wait for the promotion.
    const psqlRestored = (sql: string) => runAsPostgres(`${PG_BIN}/psql`, ["-XAt", "-h", socket, "-p", String(pgPort), "-d", "postgres", "-c", sql], env).trim();
    while (psqlRestored("select pg_is_in_recovery()") === "t") await new Promise((r) => setTimeout(r, 200));
    const startSeconds = seconds(t);
    console.log(`bench-pitr: restore (pitr.sh restore latest) ${restoreSeconds} s; WAL replay until promoted ${startSeconds} s`);
    const rows = runAsPostgres(`${PG_BIN}/psql`, ["-XAt", "-h", socket, "-p", String(pgPort), "-d", "postgres", "-c", "select (select count(*) from pgbench_accounts) || ' accounts, ' || (select count(*) from after_backup) || ' rows committed after the backup'"], env).trim();
    console.log(`bench-pitr: restored ${rows} (expected ${scale * 100000} and 100000); restore + start ${(Number(restoreSeconds) + Number(startSeconds)).toFixed(1)} s`);
    console.log(r.stdout.trim().split("\n").pop());
  } finally {
    await pgctl(dataDir, "-m", "immediate", "stop").catch(() => undefined);
    if (restored) {
      await pgctl(restored, "-m", "immediate", "stop").catch(() => undefined);
      fs.rmSync(path.dirname(restored), { recursive: true, force: true });
    }
    s3rver.kill();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`bench-pitr: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
