/**
 * A second Swarm node for the drills that need two (issue 15, item 5): a second dockerd in its own
 * network, mount and UTS namespaces, linked to the rehearsal daemon's network namespace by a veth
 * pair on a private /30 that nothing else uses, and joined to the rehearsal's Swarm as a worker.
 *
 *   manager netns (run.ts)                          worker netns (startWorker)
 *   lo 192.168.213.1/32  <- Swarm address
 *   advw-mgr 192.168.213.5/30  <==== veth ====>  advw-wkr 192.168.213.6/30  <- its Swarm address
 *   route 192.168.213.6/32 src 192.168.213.1     route 192.168.213.1/32 via 192.168.213.5
 *
 * The manager's Swarm address sits on its own loopback, so it does not depend on the link: a
 * worker can come and go (and the link be cut) while the manager keeps its address. Both ends
 * live in namespaces the rehearsal creates; no packet reaches the host's own network.
 */
import * as fs from "fs";
import * as path from "path";
import type Docker from "dockerode";
import { DaemonInfo, dockerClient, killDaemon, readDaemonInfo, restartDaemon, startDaemon, stopDaemon } from "./daemon";
import { execFileSync } from "child_process";

export const SWARM_LINK = {
  /** The manager's Swarm address, on the loopback device of its network namespace. */
  managerAddr: "192.168.213.1",
  /** The link's two ends: the manager's side and the worker's (the worker's Swarm address). */
  managerEnd: "192.168.213.5",
  workerEnd: "192.168.213.6",
  prefixLength: 30,
  managerDevice: "advw-mgr",
  workerDevice: "advw-wkr",
} as const;

/** The rehearsal's first node: its Swarm address and host name (run.ts starts it with these). */
export const MANAGER_NODE = { hostname: "rehearsal-1", advertiseAddr: SWARM_LINK.managerAddr } as const;

/** The folders of the workers started for a manager, one a line, in the manager's folder. */
const WORKERS_FILE = "rehearsal-workers";

const ip = (...args: string[]) => execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The running rehearsal daemon's info (netns, folder), from the file beside its socket. */
export function managerInfo(socket: string): DaemonInfo {
  return readDaemonInfo(path.dirname(socket));
}

export interface Worker {
  /** The worker's daemon (its own socket, folder and namespaces). */
  info: DaemonInfo;
  readonly docker: Docker;
  /** Its Swarm node ID, as the manager lists it. */
  readonly nodeId: string;
  readonly hostname: string;
}

/** Creates the veth pair between the manager's namespace and the worker's, with addresses and the route. */
function linkUp(managerNetns: string, workerNetns: string): void {
  const { managerDevice, workerDevice, managerEnd, workerEnd, prefixLength, managerAddr } = SWARM_LINK;
  // A link left over from an earlier worker of this manager (a crashed run) goes first.
  try {
    ip("-n", managerNetns, "link", "del", managerDevice);
  } catch {
    // none: the usual case
  }
  ip("-n", managerNetns, "link", "add", managerDevice, "type", "veth", "peer", "name", workerDevice, "netns", workerNetns);
  ip("-n", managerNetns, "addr", "add", `${managerEnd}/${prefixLength}`, "dev", managerDevice);
  ip("-n", workerNetns, "addr", "add", `${workerEnd}/${prefixLength}`, "dev", workerDevice);
  ip("-n", managerNetns, "link", "set", managerDevice, "up");
  ip("-n", workerNetns, "link", "set", workerDevice, "up");
  ip("-n", workerNetns, "route", "add", `${managerAddr}/32`, "via", managerEnd);
  // The manager must send from its Swarm address, not from its end of the link: the worker's VXLAN
  // devices know the manager's containers as permanent entries behind that address, and the kernel
  // drops a VXLAN packet whose outer source differs from a permanent entry's (vxlan_snoop: "don't
  // migrate static entries"). Without this, overlay traffic flows worker -> manager only.
  ip("-n", managerNetns, "route", "add", `${workerEnd}/32`, "dev", managerDevice, "src", managerAddr);
}

/** Waits until the manager lists the node in `state` (ready, down). Returns the milliseconds waited. */
export async function waitNodeState(manager: Docker, nodeId: string, state: "ready" | "down", timeoutMs = 90_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const node: any = await manager.getNode(nodeId).inspect();
    if (node.Status?.State === state) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`node ${node.Description?.Hostname ?? nodeId} is ${node.Status?.State}, not ${state}, after ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

/**
 * Starts a second dockerd (own namespaces, host name `hostname`), links it to the manager's
 * namespace and joins it to the manager's Swarm as a worker. Returns once the manager lists it ready.
 */
export async function startWorker(managerSocket: string, hostname: string): Promise<Worker> {
  const manager = managerInfo(managerSocket);
  if (manager.swarmAddr !== SWARM_LINK.managerAddr) {
    throw new Error(`the rehearsal's manager advertises ${manager.swarmAddr ?? "127.0.0.1"}, not ${SWARM_LINK.managerAddr}: a worker could not reach it (start it through run.ts)`);
  }
  const managerDocker = dockerClient(managerSocket);
  const token = ((await managerDocker.swarmInspect()) as any).JoinTokens.Worker as string;
  const info = await startDaemon({
    hostname,
    advertiseAddr: SWARM_LINK.workerEnd,
    network: (netns) => linkUp(manager.netns, netns),
    join: { remoteAddr: `${SWARM_LINK.managerAddr}:2377`, token },
  });
  // Listed beside the manager's socket, so run.ts can take the worker down with the manager even
  // when the suite that started it never reaches its afterAll (a signal, a crash).
  fs.appendFileSync(path.join(manager.dir, WORKERS_FILE), `${info.dir}\n`);
  const docker = dockerClient(info.socket);
  const nodeId = ((await docker.info()) as any).Swarm?.NodeID as string;
  await waitNodeState(managerDocker, nodeId, "ready");
  return { info, docker, nodeId, hostname };
}

/** The worker loses power: its daemon and every container are killed at once. */
export async function killWorker(worker: Worker): Promise<void> {
  await killDaemon(worker.info);
}

/** The worker comes back: the same daemon folder and namespaces; Swarm reconnects it. */
export async function restartWorker(worker: Worker): Promise<void> {
  worker.info = await restartDaemon(worker.info);
}

/**
 * Takes the worker out for good: its daemon, namespaces and folder (stopDaemon), the link, and its
 * entry in the manager's node list. Never throws; returns what did not go cleanly.
 */
export async function stopWorker(managerSocket: string, worker: Worker | undefined): Promise<string[]> {
  if (!worker) return [];
  const notes = await stopDaemon(worker.info);
  try {
    // Deleting the worker's namespace destroys the pair; this only catches a pair left behind.
    ip("-n", managerInfo(managerSocket).netns, "link", "del", SWARM_LINK.managerDevice);
  } catch {
    // already gone with the worker's namespace
  }
  const manager = dockerClient(managerSocket);
  try {
    await manager.getNode(worker.nodeId).remove({ force: true });
  } catch (error) {
    if (!/not found/i.test((error as Error).message)) notes.push(`node ${worker.hostname}: ${(error as Error).message}`);
  }
  return notes;
}

/**
 * Stops every worker started for this manager that is still there (run.ts, before the manager
 * goes). Never throws; returns what did not go cleanly.
 */
export async function stopLeftoverWorkers(managerSocket: string): Promise<string[]> {
  const notes: string[] = [];
  let dirs: string[] = [];
  try {
    dirs = fs.readFileSync(path.join(path.dirname(managerSocket), WORKERS_FILE), "utf8").split("\n").filter(Boolean);
  } catch {
    return notes;
  }
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    try {
      notes.push(`worker ${dir} was still there`, ...(await stopDaemon(readDaemonInfo(dir))));
    } catch (error) {
      notes.push(`worker ${dir}: ${(error as Error).message}`);
    }
  }
  return notes;
}
