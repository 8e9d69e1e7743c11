/**
 * A throwaway Docker Engine and single-node Swarm for the rehearsal, isolated from the host:
 *
 * - its own network namespace (`ip netns add`, loopback only): the overlay networks, the bridge
 *   and every container address live inside it, and nothing the daemon or a task sends can leave
 *   it (an image pull or an external DNS lookup fails with "network is unreachable");
 * - its own mount namespace (`unshare --mount --propagation shared`): the daemon's mounts
 *   (container roots, secrets, network namespaces) vanish with it, and `/` is a shared mount in
 *   there as on a systemd host, so node-exporter's `rslave` bind of `/` is accepted (this VM's
 *   own root mount is private);
 * - its own data root, exec root and cgroup parent under a temporary folder, so teardown can find
 *   and remove exactly what it started, even after a crash.
 *
 * `DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1` makes the Swarm executor use local images without a
 * pull attempt (moby daemon/cluster/executor/container/controller.go, Prepare).
 *
 * Storage: overlay2, as on a Docker host, when the kernel lets the daemon use it (it does on this
 * machine, inside the daemon's own mount namespace); vfs otherwise. With vfs every container is a
 * full copy of its image (about 0.8 GB here), which makes starting and removing a stack about
 * four times slower. ADVWELL_REHEARSAL_STORAGE_DRIVER=vfs|overlay2 forces one.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Docker from "dockerode";

export interface DaemonInfo {
  /** The daemon's unix socket. */
  readonly socket: string;
  /** Folder holding data root, exec root, pid file and log. */
  readonly dir: string;
  readonly netns: string;
  readonly cgroupParent: string;
  readonly pid: number;
  readonly storageDriver: string;
  /** The node's host name, in the daemon's own UTS namespace (Swarm's node hostname), when set. */
  readonly hostname?: string;
  /** The address the node's Swarm traffic uses (its advertise address). */
  readonly swarmAddr?: string;
}

export interface StartOptions {
  /**
   * The Swarm address. A manager's (init) that is not a loopback address is put on the
   * namespace's loopback device (/32), where a worker reaches it over its link; a worker's
   * (join) must be on the link `network` sets up.
   */
  readonly advertiseAddr?: string;
  readonly storageDriver?: string;
  /** The node's host name (its own UTS namespace): Swarm names the node after it. */
  readonly hostname?: string;
  /** Runs once the daemon's network namespace exists, before dockerd starts (a worker's link). */
  readonly network?: (netns: string) => void;
  /** Join an existing Swarm as a worker instead of initialising one. */
  readonly join?: { readonly remoteAddr: string; readonly token: string };
}

/** Written beside the socket so a later process (the jest run, a cleanup) can find everything. */
export const INFO_FILE = "rehearsal-daemon.json";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function tryRun(cmd: string, args: string[]): void {
  try {
    run(cmd, args);
  } catch {
    // best effort during teardown
  }
}

export function dockerClient(socket: string): Docker {
  return new Docker({ socketPath: socket, timeout: 120_000 });
}

/**
 * Starts dockerd and initialises a single-node Swarm (or joins one as a worker, `join`). On any
 * failure it tears down what it started before rethrowing.
 */
export async function startDaemon(options: StartOptions = {}): Promise<DaemonInfo> {
  const forced = options.storageDriver ?? process.env.ADVWELL_REHEARSAL_STORAGE_DRIVER;
  if (forced) return startDaemonWith(forced, options);
  try {
    return await startDaemonWith("overlay2", options);
  } catch (error) {
    process.stderr.write(`[rehearsal] dockerd with overlay2 failed (${(error as Error).message.split("\n")[0]}); using vfs\n`);
    return startDaemonWith("vfs", options);
  }
}

/**
 * Spawns dockerd for `info` (a fresh mount namespace, and UTS namespace when it has a host name,
 * inside its network namespace) and waits until it answers.
 */
async function spawnDockerd(info: Omit<DaemonInfo, "pid">): Promise<DaemonInfo> {
  const { dir, netns, socket, storageDriver, cgroupParent } = info;
  const log = fs.openSync(path.join(dir, "dockerd.log"), "a");
  const dockerd = [
    "nsenter",
    `--net=/run/netns/${netns}`,
    "--",
    "dockerd",
    "--host",
    `unix://${socket}`,
    "--data-root",
    path.join(dir, "root"),
    "--exec-root",
    path.join(dir, "exec"),
    "--pidfile",
    path.join(dir, "docker.pid"),
    `--storage-driver=${storageDriver}`,
    `--cgroup-parent=${cgroupParent}`,
    "--shutdown-timeout=5",
  ];
  // A host name needs its own UTS namespace, set before dockerd reads it (Swarm's node hostname).
  const inner = info.hostname ? ["--uts", "--", "sh", "-c", 'hostname "$0" && exec "$@"', info.hostname, ...dockerd] : ["--", ...dockerd];
  const child = spawn("unshare", ["--mount", "--propagation", "shared", ...inner], {
    detached: true,
    stdio: ["ignore", log, log],
    env: { ...process.env, DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: "1" },
  });
  child.unref();
  fs.closeSync(log);
  const started: DaemonInfo = { ...info, pid: child.pid ?? -1 };
  fs.writeFileSync(path.join(dir, INFO_FILE), JSON.stringify(started));
  const docker = dockerClient(socket);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await docker.ping();
      return started;
    } catch (error) {
      if (child.exitCode !== null) throw new Error(`dockerd exited with ${child.exitCode}: ${tail(path.join(dir, "dockerd.log"))}`);
      if (Date.now() > deadline) throw new Error(`dockerd did not answer on ${socket} within 30 s: ${(error as Error).message}\n${tail(path.join(dir, "dockerd.log"))}`);
      await sleep(200);
    }
  }
}

async function startDaemonWith(storageDriver: string, options: StartOptions): Promise<DaemonInfo> {
  // A short path: containerd's and the shims' unix sockets live under the exec root (108-byte limit).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "advw-"));
  const suffix = path.basename(dir).slice("advw-".length).toLowerCase();
  const netns = `advwell-rehearsal-${suffix}`;
  const cgroupParent = `advwell-rehearsal-${suffix}`;
  const socket = path.join(dir, "docker.sock");
  let info: DaemonInfo | undefined;
  const addr = options.advertiseAddr ?? "127.0.0.1";
  const base = { socket, dir, netns, cgroupParent, storageDriver, hostname: options.hostname, swarmAddr: addr };
  try {
    run("ip", ["netns", "add", netns]);
    run("ip", ["-n", netns, "link", "set", "lo", "up"]);
    if (!options.join && !addr.startsWith("127.")) run("ip", ["-n", netns, "addr", "add", `${addr}/32`, "dev", "lo"]);
    options.network?.(netns);
    info = await spawnDockerd(base);
    const docker = dockerClient(socket);
    const driver = (await docker.info()).Driver;
    if (driver !== storageDriver) throw new Error(`dockerd runs the ${driver} storage driver, not ${storageDriver}`);
    if (options.join) {
      await docker.swarmJoin({ ListenAddr: `${addr}:2377`, AdvertiseAddr: addr, RemoteAddrs: [options.join.remoteAddr], JoinToken: options.join.token });
    } else {
      await docker.swarmInit({ ListenAddr: `${addr}:2377`, AdvertiseAddr: addr });
    }
    return info;
  } catch (error) {
    await stopDaemon(info ?? { ...base, pid: -1 });
    throw error;
  }
}

/**
 * Kills the daemon and everything it runs at once (SIGKILL: dockerd, containerd, shims, every
 * container), as a node that loses power; its folder, data root and namespaces stay, so
 * restartDaemon brings the same node back.
 */
export async function killDaemon(info: DaemonInfo): Promise<void> {
  // A killed process still writing through the page cache (PostgreSQL on overlay2) can take a few
  // seconds to go: keep signalling until nothing is left, for up to 20 s.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const pids = [...new Set([...leftoverPids(info), ...(alive(info.pid) ? [info.pid] : [])])];
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes of ${info.dir} survived SIGKILL for 20 s: ${pids.map(describeProcess).join("; ")}`);
    for (const p of pids) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // gone
      }
    }
    await sleep(300);
  }
}

/** "pid (comm) state", from /proc, for a message. */
function describeProcess(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(0, stat.indexOf(")") + 3);
  } catch {
    return `${pid} (gone)`;
  }
}

/** Starts dockerd again on a killed daemon's folder and namespaces (the node comes back). */
export async function restartDaemon(info: DaemonInfo): Promise<DaemonInfo> {
  // dockerd refuses to start while its pid file names a process; a killed one left it behind.
  fs.rmSync(path.join(info.dir, "docker.pid"), { force: true });
  return spawnDockerd(info);
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const DAEMON_PROGRAMS = new Set(["dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2", "runc", "docker-proxy"]);

/**
 * PIDs of what the daemon left behind: its own programs (dockerd, containerd, shims) whose
 * command line names our folder, and any process in our cgroup parent (container processes).
 * Nothing else: the shell or runner that started the rehearsal also has the folder in its
 * arguments sometimes, and must survive.
 */
function leftoverPids(info: DaemonInfo): number[] {
  const pids = new Set<number>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      // A zombie is dead already (its killed parent's reaper collects it) and cannot be signalled.
      if (/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${entry}/stat`, "utf8"))) continue;
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (DAEMON_PROGRAMS.has(path.basename(argv[0] ?? "")) && argv.some((a) => a.includes(info.dir))) pids.add(Number(entry));
      const cgroup = fs.readFileSync(`/proc/${entry}/cgroup`, "utf8");
      if (cgroup.includes(`/${info.cgroupParent}/`)) pids.add(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return [...pids];
}

/** Removes every service and container through the API, so nothing of ours keeps running. */
async function drainWorkloads(docker: Docker): Promise<void> {
  // A worker has no services to list (only a manager answers); its containers still go.
  for (const s of await docker.listServices().catch(() => [])) await docker.getService(s.ID).remove().catch(() => undefined);
  for (const c of await docker.listContainers({ all: true })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
}

/**
 * Tears everything down, whatever state it is in: workloads, the daemon (SIGTERM, then SIGKILL),
 * leftover containerd/shim/container processes (by our folder and cgroup parent only), the
 * cgroups, the network namespace and the folder. Never throws.
 */
export async function stopDaemon(info: DaemonInfo): Promise<string[]> {
  const notes: string[] = [];
  if (fs.existsSync(info.socket)) {
    const docker = dockerClient(info.socket);
    try {
      // The bound's timer is cleared after the race: a pending one keeps a jest run alive for a
      // minute after its last test (a suite that stops a worker calls this in-process).
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([drainWorkloads(docker), new Promise((resolve) => (bound = setTimeout(resolve, 60_000)))]).finally(() => clearTimeout(bound));
      await docker.swarmLeave({ force: true }).catch(() => undefined);
    } catch (error) {
      notes.push(`could not remove workloads through the API: ${(error as Error).message}`);
    }
  }
  let pid = info.pid;
  try {
    pid = Number(fs.readFileSync(path.join(info.dir, "docker.pid"), "utf8").trim()) || pid;
  } catch {
    // no pid file: the daemon never got that far
  }
  if (alive(pid)) {
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 20_000;
    while (alive(pid) && Date.now() < deadline) await sleep(200);
    if (alive(pid)) {
      notes.push(`dockerd ${pid} ignored SIGTERM for 20 s; killed`);
      process.kill(pid, "SIGKILL");
    }
  }
  for (let round = 0; round < 3; round++) {
    const left = leftoverPids(info);
    if (left.length === 0) break;
    notes.push(`killing leftover processes ${left.join(", ")}`);
    for (const p of left) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // gone
      }
    }
    await sleep(500);
  }
  removeCgroups(info.cgroupParent);
  tryRun("ip", ["netns", "del", info.netns]);
  // Mounts made in the daemon's own mount namespace are gone with it; unmount any that leaked into ours.
  const mounts = fs
    .readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1])
    .filter((m): m is string => m !== undefined && m.startsWith(info.dir))
    .sort()
    .reverse();
  for (const m of mounts) tryRun("umount", ["-l", m]);
  fs.rmSync(info.dir, { recursive: true, force: true });
  return notes;
}

function removeCgroups(parent: string): void {
  const root = "/sys/fs/cgroup";
  if (!fs.existsSync(root)) return;
  const candidates = [path.join(root, parent), ...fs.readdirSync(root).map((c) => path.join(root, c, parent))];
  for (const dir of candidates) {
    if (!fs.existsSync(dir)) continue;
    const children = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory());
    for (const c of children) tryRmdir(path.join(dir, c.name));
    tryRmdir(dir);
  }
}

function tryRmdir(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // busy or already gone
  }
}

/** Reads the info file a running rehearsal left beside its socket. */
export function readDaemonInfo(dir: string): DaemonInfo {
  return JSON.parse(fs.readFileSync(path.join(dir, INFO_FILE), "utf8")) as DaemonInfo;
}
