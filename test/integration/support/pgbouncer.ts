/**
 * A real PgBouncer (Debian's 1.18, `.ci/run` installs it) as a child process on a free loopback
 * port, configured with the same renderers the PgBouncer component mounts. PgBouncer refuses to
 * run as root, so under root the process runs with the `postgres` user's uid and gid.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { PgBouncerPlan, renderPgBouncerIni, renderPgBouncerUserlist } from "../../../model";
import { freePort, makeTempDir } from "./pgCluster";

export const PGBOUNCER_BIN = process.env.PGBOUNCER_BIN ?? "/usr/sbin/pgbouncer";
const isRoot = process.getuid?.() === 0;

export interface PgBouncerOptions {
  readonly plan: PgBouncerPlan;
  /** The PostgreSQL server PgBouncer pools connections to, on loopback. */
  readonly postgresPort: number;
  readonly database: string;
  /** Users PgBouncer authenticates (and logs in to PostgreSQL as), with plain passwords. */
  readonly users: Readonly<Record<string, string>>;
  /** More pgbouncer.ini settings on top of the harness's own. */
  readonly extra?: Readonly<Record<string, string>>;
}

function postgresIds(): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()),
    gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim()),
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

export class PgBouncerProcess {
  private output = "";

  private constructor(
    readonly port: number,
    readonly dir: string,
    /** The rendered pgbouncer.ini exactly as PgBouncer read it. */
    readonly ini: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString("utf8")).slice(-20_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
  }

  static async start(options: PgBouncerOptions): Promise<PgBouncerProcess> {
    const port = await freePort();
    const dir = makeTempDir("advwell-pgbouncer-");
    const authFile = path.join(dir, "userlist.txt");
    const iniFile = path.join(dir, "pgbouncer.ini");
    const ini = renderPgBouncerIni(options.plan, {
      host: "127.0.0.1",
      port: options.postgresPort,
      database: options.database,
      authFile,
      listenAddr: "127.0.0.1",
      listenPort: port,
      // A plain process instead of the container: its socket, log and pid live in the temp dir.
      extra: { unix_socket_dir: dir, logfile: path.join(dir, "pgbouncer.log"), pidfile: path.join(dir, "pgbouncer.pid"), ...options.extra },
    });
    fs.writeFileSync(authFile, renderPgBouncerUserlist(options.users), { mode: 0o600 });
    fs.writeFileSync(iniFile, ini, { mode: 0o600 });
    const ids = isRoot ? postgresIds() : undefined;
    if (ids) {
      fs.chownSync(authFile, ids.uid, ids.gid);
      fs.chownSync(iniFile, ids.uid, ids.gid);
    }
    const child = spawn(PGBOUNCER_BIN, [iniFile], { ...ids, stdio: ["ignore", "pipe", "pipe"] });
    const bouncer = new PgBouncerProcess(port, dir, ini, child);
    let exited: number | null | undefined;
    child.on("exit", (code) => (exited = code));
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(port))) {
      if (exited !== undefined || Date.now() > deadline) {
        await bouncer.stop();
        throw new Error(`pgbouncer did not start (exit ${exited}):\n${ini}\n${bouncer.output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return bouncer;
  }

  /** PgBouncer's log: what it printed and what it wrote to its logfile. */
  log(): string {
    const file = path.join(this.dir, "pgbouncer.log");
    return `${this.output}\n${fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""}`;
  }

  /** Stops PgBouncer (SIGTERM is an immediate shutdown in 1.18) and deletes its files. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
