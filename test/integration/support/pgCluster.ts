/**
 * Throwaway PostgreSQL clusters on loopback for integration tests: initdb into a temp dir, start
 * on a free port with the given settings, stop and delete. Uses Debian's PostgreSQL 15 binaries
 * (`.ci/run` installs them). PostgreSQL refuses to run as root, so under root the server runs as
 * the `postgres` system user.
 */
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Client, ClientConfig } from "pg";
import { renderPostgresConf } from "../../../model";

export const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";
const isRoot = process.getuid?.() === 0;

/** Runs a command as the postgres user when we are root, else as ourselves. */
export function runAsPostgres(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const full = isRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] as const : [cmd, args] as const;
  const result = spawnSync(full[0], full[1] as string[], { encoding: "utf8", env: { ...process.env, ...options.env }, input: options.input });
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/**
 * Ports for the servers the tests start. Below the kernel's ephemeral range (32768-60999 by
 * default): the local port of an outgoing connection (the tests open hundreds) can never take one
 * between our check and the server's bind, as a port the kernel handed out for `listen(0)` could.
 */
const PORT_RANGE = { first: 20000, last: 32000 };
/** Reservations held by this process; the kernel drops them when it exits, however it exits. */
const reservations: net.Server[] = [];

/**
 * Reserves `port` among all test processes on the machine (jest workers, parallel test runs in
 * other checkouts): a Unix socket in Linux's abstract namespace named after the port. Only one live
 * process can hold a name; it vanishes with its process, so there is nothing to clean up or go stale.
 */
function reserve(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const lock = net.createServer();
    lock.once("error", () => resolve(false));
    lock.listen({ path: `\0advwell-test-port-${port}` }, () => {
      lock.unref();
      reservations.push(lock);
      resolve(true);
    });
  });
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port for a test server that no other test process will be given: reserved for this
 * process until it exits, and free now (nothing else has it bound).
 */
export async function freePort(): Promise<number> {
  const span = PORT_RANGE.last - PORT_RANGE.first + 1;
  // Each jest worker starts in its own eighth of the range, so the workers of one run do not even
  // contend for a reservation; the reservations keep apart parallel runs.
  const block = Math.floor(span / 8);
  const worker = Number(process.env.JEST_WORKER_ID ?? 1) - 1;
  const offset = (worker % 8) * block + crypto.randomInt(block);
  for (let i = 0; i < span; i++) {
    const port = PORT_RANGE.first + ((offset + i) % span);
    if ((await reserve(port)) && (await bindable(port))) return port;
  }
  throw new Error(`no free port between ${PORT_RANGE.first} and ${PORT_RANGE.last}`);
}

/** A temp dir the postgres user can write to. */
export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o777);
  if (isRoot) execFileSync("chown", ["postgres:postgres", dir]);
  return dir;
}

export const SUPERUSER = "postgres";
export const SUPERUSER_PASSWORD = "integration-superuser-pw";

export interface ClusterOptions {
  /** postgresql.conf settings, rendered with the same function the Postgres component uses. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Extra pg_hba.conf lines, placed before the defaults. */
  readonly hba?: readonly string[];
  /** Skip initdb and use this data dir (e.g. made by pg_basebackup). */
  readonly dataDir?: string;
  readonly port?: number;
}

export class PgCluster {
  private constructor(readonly dataDir: string, readonly port: number, readonly logFile: string) {}

  static async start(options: ClusterOptions = {}): Promise<PgCluster> {
    const port = options.port ?? (await freePort());
    let dataDir = options.dataDir;
    if (!dataDir) {
      const root = makeTempDir("advwell-pg-");
      dataDir = path.join(root, "data");
      const pwFile = path.join(root, "pw");
      fs.writeFileSync(pwFile, SUPERUSER_PASSWORD);
      fs.chmodSync(pwFile, 0o644);
      runAsPostgres(`${PG_BIN}/initdb`, ["-D", dataDir, "-U", SUPERUSER, "--pwfile", pwFile, "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C.UTF-8"]);
      const hba = [...(options.hba ?? []), "local all all scram-sha-256", "host all all 127.0.0.1/32 scram-sha-256"];
      fs.writeFileSync(path.join(dataDir, "pg_hba.conf"), hba.join("\n") + "\n");
    }
    // The plan's hba_file is where the stack mounts its rendered pg_hba.conf; here the test's own
    // pg_hba.conf in the data directory stands in for it.
    const settings = { ...(options.settings ?? {}) };
    if (settings.hba_file !== undefined) settings.hba_file = path.join(dataDir, "pg_hba.conf");
    const conf = renderPostgresConf({ ...settings, listen_addresses: "127.0.0.1", port: String(port), unix_socket_directories: "" });
    fs.writeFileSync(path.join(dataDir, "advwell.conf"), conf);
    const mainConf = path.join(dataDir, "postgresql.conf");
    const text = fs.readFileSync(mainConf, "utf8");
    if (!text.includes("include_if_exists = 'advwell.conf'")) fs.appendFileSync(mainConf, "\ninclude_if_exists = 'advwell.conf'\n");
    if (isRoot) execFileSync("chown", ["-R", "postgres:postgres", dataDir]);
    const logFile = path.join(path.dirname(dataDir), `postgres-${port}.log`);
    runAsPostgres(`${PG_BIN}/pg_ctl`, ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "start"]);
    return new PgCluster(dataDir, port, logFile);
  }

  connection(overrides: Partial<ClientConfig> = {}): ClientConfig {
    return { host: "127.0.0.1", port: this.port, user: SUPERUSER, password: SUPERUSER_PASSWORD, database: "postgres", ...overrides };
  }

  async client(overrides: Partial<ClientConfig> = {}): Promise<Client> {
    const client = new Client(this.connection(overrides));
    await client.connect();
    return client;
  }

  async query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: unknown[] = [], database = "postgres"): Promise<T[]> {
    const client = await this.client({ database });
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, "utf8") : "";
  }

  stop(mode: "fast" | "immediate" = "fast"): void {
    runAsPostgres(`${PG_BIN}/pg_ctl`, ["-D", this.dataDir, "-m", mode, "-w", "stop"]);
  }

  /** Stops the server and deletes its files. */
  destroy(): void {
    try {
      this.stop("immediate");
    } catch {
      // already stopped
    }
    fs.rmSync(path.dirname(this.dataDir), { recursive: true, force: true });
  }
}
