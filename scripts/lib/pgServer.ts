/**
 * Throwaway PostgreSQL 15 servers for scripts (the settings catalog, the benchmark), on loopback
 * only. The same approach as test/integration/support/pgCluster.ts, copied because scripts must
 * not import from test/: initdb into a temp dir, settings as `postgres -c name=value` (as the
 * stack passes them), a free port, and under root the server runs as the `postgres` user.
 *
 * `cgroup` puts the postmaster (and so every backend it forks) into cgroup v1 or v2 groups made
 * here, with a memory limit and a CPU quota: the container's limits, as far as this machine
 * allows. The groups are removed again in destroy().
 */
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import { freePort } from "./ports";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { renderPostgresArgs } from "../../model/render/postgres";

export const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";
export const SUPERUSER = "postgres";
export const SUPERUSER_PASSWORD = "advwell-scripts-superuser-pw";
const isRoot = process.getuid?.() === 0;

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command as the postgres user when we are root, else as ourselves; never throws. */
export function runAsPostgresRaw(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Run {
  const [file, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, [...args]];
  const r = spawnSync(file, argv, { encoding: "utf8", env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** The same, asynchronously, so that many short `postgres -C` probes can run side by side. */
export function runAsPostgresAsync(cmd: string, args: readonly string[]): Promise<Run> {
  const [file, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, [...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

export function runAsPostgres(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): string {
  const r = runAsPostgresRaw(cmd, args, env);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A loopback port reserved among all processes that start servers (scripts/lib/ports.ts). */
export { freePort };

/** A temp dir the postgres user can write to. */
export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o777);
  if (isRoot) execFileSync("chown", ["postgres:postgres", dir]);
  return dir;
}

/** initdb into a fresh temp dir; returns the data dir. Loopback-only, password auth. */
export function initDataDir(prefix = "advwell-pg-"): string {
  const root = makeTempDir(prefix);
  const dataDir = path.join(root, "data");
  const pwFile = path.join(root, "pw");
  fs.writeFileSync(pwFile, SUPERUSER_PASSWORD);
  fs.chmodSync(pwFile, 0o644);
  runAsPostgres(`${PG_BIN}/initdb`, ["-D", dataDir, "-U", SUPERUSER, "--pwfile", pwFile, "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C.UTF-8"]);
  fs.writeFileSync(path.join(dataDir, "pg_hba.conf"), "host all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n");
  if (isRoot) execFileSync("chown", ["postgres:postgres", path.join(dataDir, "pg_hba.conf")]);
  return dataDir;
}

/** `postgres -C name` with the given `-c` settings on a stopped data dir: what the server would read. */
export function postgresShow(dataDir: string, name: string, settings: Readonly<Record<string, string>> = {}): Run {
  return runAsPostgresRaw(`${PG_BIN}/postgres`, ["-D", dataDir, "-C", name, ...renderPostgresArgs(settings)]);
}

export function serverVersion(): string {
  return spawnSync(`${PG_BIN}/postgres`, ["--version"], { encoding: "utf8" }).stdout.trim();
}

// ---------- cgroups ----------

export interface CgroupLimits {
  readonly memoryMiB: number;
  readonly cpus: number;
}

/** Where limits were applied, or why not. */
export interface CgroupPlacement {
  readonly applied: boolean;
  readonly description: string;
  /** Directories to move the postmaster into (their cgroup.procs). */
  readonly dirs: readonly string[];
}

function ownCgroupV1(controller: string): string | undefined {
  for (const line of fs.readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const [, controllers, rel] = line.split(":");
    if (controllers !== undefined && controllers.split(",").includes(controller)) {
      const dir = path.join("/sys/fs/cgroup", controller, rel ?? "");
      if (fs.existsSync(dir)) return dir;
    }
  }
  return undefined;
}

/**
 * Makes cgroups with the container's limits under this process's own groups. cgroup v2 when
 * the unified hierarchy has the memory and cpu controllers, else v1 (memory.limit_in_bytes,
 * cpu.cfs_quota_us). Returns applied=false with the reason when neither is possible.
 */
export function makeCgroup(name: string, limits: CgroupLimits): CgroupPlacement {
  const bytes = String(Math.round(limits.memoryMiB * 1024 * 1024));
  const period = 100000;
  const quota = String(Math.round(limits.cpus * period));
  const failures: string[] = [];
  // v2
  try {
    const controllers = fs.readFileSync("/sys/fs/cgroup/cgroup.controllers", "utf8");
    if (/\bmemory\b/.test(controllers) && /\bcpu\b/.test(controllers)) {
      const rel = fs.readFileSync("/proc/self/cgroup", "utf8").split("\n").find((l) => l.startsWith("0::"))?.slice(3) ?? "/";
      const parent = path.join("/sys/fs/cgroup", rel);
      const dir = path.join(parent, name);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, "memory.max"), bytes);
      fs.writeFileSync(path.join(dir, "memory.swap.max"), "0");
      fs.writeFileSync(path.join(dir, "cpu.max"), `${quota} ${period}`);
      return { applied: true, description: `cgroup v2 ${dir}: memory.max ${limits.memoryMiB} MiB, cpu.max ${quota}/${period}`, dirs: [dir] };
    }
    failures.push("cgroup v2: the unified hierarchy has no memory and cpu controllers");
  } catch (error) {
    failures.push(`cgroup v2: ${(error as Error).message}`);
  }
  // v1
  try {
    const memParent = ownCgroupV1("memory");
    const cpuParent = ownCgroupV1("cpu");
    if (!memParent || !cpuParent) throw new Error("no memory or cpu controller in /proc/self/cgroup");
    const mem = path.join(memParent, name);
    const cpu = path.join(cpuParent, name);
    fs.mkdirSync(mem);
    fs.mkdirSync(cpu);
    fs.writeFileSync(path.join(mem, "memory.limit_in_bytes"), bytes);
    try {
      fs.writeFileSync(path.join(mem, "memory.memsw.limit_in_bytes"), bytes);
    } catch {
      // no swap accounting: there is no swap either, or it is not ours to limit
    }
    fs.writeFileSync(path.join(cpu, "cpu.cfs_period_us"), String(period));
    fs.writeFileSync(path.join(cpu, "cpu.cfs_quota_us"), quota);
    return { applied: true, description: `cgroup v1 ${mem} (memory.limit_in_bytes ${limits.memoryMiB} MiB) and ${cpu} (cpu.cfs_quota_us ${quota}/${period})`, dirs: [mem, cpu] };
  } catch (error) {
    failures.push(`cgroup v1: ${(error as Error).message}`);
  }
  return { applied: false, description: `no cgroup limits (${failures.join("; ")})`, dirs: [] };
}

/** Peak memory the group has charged (page cache included), MiB; undefined when not readable. */
export function cgroupPeakMiB(placement: CgroupPlacement): number | undefined {
  for (const dir of placement.dirs) {
    for (const file of ["memory.peak", "memory.max_usage_in_bytes"]) {
      const f = path.join(dir, file);
      if (fs.existsSync(f)) return Number(fs.readFileSync(f, "utf8").trim()) / 1024 / 1024;
    }
  }
  return undefined;
}

/** Times the group hit its memory limit (v1 failcnt, v2 memory.events max/oom_kill). */
export function cgroupMemoryEvents(placement: CgroupPlacement): string | undefined {
  for (const dir of placement.dirs) {
    const v2 = path.join(dir, "memory.events");
    if (fs.existsSync(v2)) return fs.readFileSync(v2, "utf8").trim().replace(/\n/g, ", ");
    const v1 = path.join(dir, "memory.failcnt");
    if (fs.existsSync(v1)) return `failcnt ${fs.readFileSync(v1, "utf8").trim()}`;
  }
  return undefined;
}

function removeCgroup(placement: CgroupPlacement): void {
  for (const dir of placement.dirs) {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch {
        spawnSync("sleep", ["0.1"]);
      }
    }
  }
}

// ---------- servers ----------

export interface ServerOptions {
  readonly settings?: Readonly<Record<string, string>>;
  /** Start inside cgroups with these limits (the tier's container). */
  readonly cgroup?: CgroupLimits;
  /** Reuse an existing data dir (e.g. loaded once, copied per run). */
  readonly dataDir?: string;
}

export class PgServer {
  private constructor(
    readonly dataDir: string,
    readonly port: number,
    readonly logFile: string,
    readonly placement: CgroupPlacement,
  ) {}

  static async start(options: ServerOptions = {}): Promise<PgServer> {
    const dataDir = options.dataDir ?? initDataDir();
    const port = await freePort();
    const logFile = path.join(path.dirname(dataDir), `postgres-${port}.log`);
    const placement = options.cgroup ? makeCgroup(`advwell-bench-${process.pid}-${port}`, options.cgroup) : { applied: false, description: "no cgroup requested", dirs: [] };
    const settings: Record<string, string> = { ...(options.settings ?? {}), listen_addresses: "127.0.0.1", port: String(port), unix_socket_directories: "" };
    // The plan's hba_file is where the stack mounts its rendered pg_hba.conf; here initdb's own stands in for it.
    if (settings.hba_file !== undefined) settings.hba_file = path.join(dataDir, "pg_hba.conf");
    const pgctl = [`${PG_BIN}/pg_ctl`, "-D", dataDir, "-l", logFile, "-w", "-t", "120", "-o", renderPostgresArgs(settings).map(shellQuote).join(" "), "start"];
    // A root shell joins the groups first; pg_ctl, the postmaster and every backend inherit them.
    const join = placement.dirs.map((d) => `echo $$ > ${shellQuote(path.join(d, "cgroup.procs"))}`).join(" && ");
    const asPostgres = isRoot ? ["runuser", "-u", "postgres", "--", ...pgctl] : pgctl;
    const script = `${join ? `${join} && ` : ""}exec ${asPostgres.map(shellQuote).join(" ")}`;
    const r = spawnSync("sh", ["-c", script], { encoding: "utf8" });
    if (r.status !== 0) {
      const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").slice(-3000) : "";
      removeCgroup(placement);
      throw new Error(`pg_ctl start failed (${r.status}):\n${r.stdout}\n${r.stderr}\n${log}`);
    }
    return new PgServer(dataDir, port, logFile, placement);
  }

  async client(database = "postgres"): Promise<Client> {
    const client = new Client({ host: "127.0.0.1", port: this.port, user: SUPERUSER, password: SUPERUSER_PASSWORD, database });
    await client.connect();
    return client;
  }

  async query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: unknown[] = [], database = "postgres"): Promise<T[]> {
    const client = await this.client(database);
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** The postmaster's pid (first line of postmaster.pid). */
  pid(): number {
    return Number(fs.readFileSync(path.join(this.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  }

  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, "utf8") : "";
  }

  stop(mode: "fast" | "immediate" = "fast"): void {
    runAsPostgresRaw(`${PG_BIN}/pg_ctl`, ["-D", this.dataDir, "-m", mode, "-w", "stop"]);
  }

  /** Stops the server, removes its cgroups; deletes its files unless keepData. */
  destroy(keepData = false): void {
    this.stop("immediate");
    removeCgroup(this.placement);
    if (!keepData) fs.rmSync(path.dirname(this.dataDir), { recursive: true, force: true });
  }
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\-./=:,+@%]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
