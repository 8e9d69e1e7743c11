/**
 * Throwaway PostgreSQL clusters on loopback for integration tests: initdb into a temp dir, start
 * on a free port with the given settings, stop and delete. Uses Debian's PostgreSQL 15 binaries
 * (`.ci/run` installs them). PostgreSQL refuses to run as root, so under root the server runs as
 * the `postgres` system user.
 */
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import { freePort } from "../../../scripts/lib/ports";
import { makeTempDir } from "../../../scripts/lib/pgServer";
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

/** Ports the tests' servers take: reserved among all test processes (scripts/lib/ports.ts). */
export { freePort };

/** A temp dir the postgres user can write to (scripts/lib/pgServer.ts). */
export { makeTempDir };

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
  /** A unix socket directory (pgBackRest reaches PostgreSQL only through one); none by default. */
  readonly socketDir?: string;
  /**
   * Start without blocking this process's event loop: a restored cluster's recovery fetches WAL
   * from an in-process s3rver, which a synchronous pg_ctl -w would starve until it times out.
   */
  readonly nonBlocking?: boolean;
}

/** runAsPostgres without blocking the event loop. */
function runAsPostgresAsync(cmd: string, args: string[]): Promise<void> {
  const full = isRoot ? (["runuser", ["-u", "postgres", "--", cmd, ...args]] as const) : ([cmd, args] as const);
  return new Promise((resolve, reject) => {
    const child = spawn(full[0], full[1] as string[], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (status) => (status === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} failed (${status}):\n${out}`))));
  });
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
    const conf = renderPostgresConf({ ...settings, listen_addresses: "127.0.0.1", port: String(port), unix_socket_directories: options.socketDir ?? "" });
    fs.writeFileSync(path.join(dataDir, "advwell.conf"), conf);
    const mainConf = path.join(dataDir, "postgresql.conf");
    const text = fs.readFileSync(mainConf, "utf8");
    if (!text.includes("include_if_exists = 'advwell.conf'")) fs.appendFileSync(mainConf, "\ninclude_if_exists = 'advwell.conf'\n");
    if (isRoot) execFileSync("chown", ["-R", "postgres:postgres", dataDir]);
    const logFile = path.join(path.dirname(dataDir), `postgres-${port}.log`);
    const startArgs = ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "start"];
    if (options.nonBlocking) await runAsPostgresAsync(`${PG_BIN}/pg_ctl`, startArgs);
    else runAsPostgres(`${PG_BIN}/pg_ctl`, startArgs);
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
