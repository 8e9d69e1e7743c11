/**
 * `npm run test:swarm`: the real-Swarm rehearsal.
 *
 *   1. starts its own dockerd (own network, mount and UTS namespaces; overlay2, else vfs) and a
 *      single-node Swarm, whose address sits on the namespace's loopback so the two-node drill can
 *      link a worker to it (lib/nodes.ts);
 *   2. builds the stand-in images' base root filesystem, or takes it from the cache;
 *   3. takes the Go programs the edge suite's images carry (Traefik, Pebble, challtestsrv) from
 *      scripts/build-tools.sh's cache, building what is missing;
 *   4. loads the stand-in images into the daemon;
 *   5. runs the jest project `swarm` (test/swarm/*.test.ts) against that daemon, in band;
 *   6. tears everything down, whatever happened, and prints the time of each phase.
 *
 * It installs nothing: .ci/run installs docker.io and mmdebstrap. Extra arguments go to jest
 * (e.g. `npm run test:swarm -- -t business`).
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DaemonInfo, dockerClient, startDaemon, stopDaemon } from "./lib/daemon";
import { baseRootfs, goToolBinaries, loadStandinImages } from "./lib/images";
import { MANAGER_NODE, stopLeftoverWorkers } from "./lib/nodes";

const ROOT = path.resolve(__dirname, "..", "..");

const phases: { name: string; ms: number; note?: string }[] = [];
const say = (line: string) => process.stdout.write(`[rehearsal] ${line}\n`);

async function phase<T>(name: string, fn: () => T | Promise<T>, note?: (value: T) => string): Promise<T> {
  const started = Date.now();
  say(`${name} ...`);
  try {
    const value = await fn();
    const ms = Date.now() - started;
    phases.push({ name, ms, note: note?.(value) });
    say(`${name}: ${(ms / 1000).toFixed(1)} s${note ? ` (${note(value)})` : ""}`);
    return value;
  } catch (error) {
    phases.push({ name: `${name} (failed)`, ms: Date.now() - started });
    throw error;
  }
}

function requireTools(): void {
  const missing = ["dockerd", "mmdebstrap", "unshare", "nsenter", "ip", "tar"].filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
  if (missing.length > 0) throw new Error(`missing ${missing.join(", ")}: .ci/run installs them (apt-get install docker.io mmdebstrap iproute2)`);
  if (process.getuid?.() !== 0) throw new Error("the rehearsal starts its own dockerd and network namespace: run it as root");
}

function printTimings(timingsFile: string): void {
  const rows = [...phases];
  const figures: { drill: string; name: string; value: string; note?: string }[] = [];
  if (fs.existsSync(timingsFile)) {
    for (const line of fs.readFileSync(timingsFile, "utf8").split("\n").filter(Boolean)) {
      const t = JSON.parse(line) as { name: string; ms: number; note?: string; figure?: boolean; drill: string; value: string };
      if (t.figure) figures.push(t);
      else rows.push({ name: `  ${t.name}`, ms: t.ms, note: t.note });
    }
  }
  say("phase timings:");
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) say(`  ${r.name.padEnd(width)}  ${(r.ms / 1000).toFixed(1).padStart(6)} s${r.note ? `  ${r.note}` : ""}`);
  if (figures.length > 0) {
    say("drill figures:");
    for (const f of figures) say(`  ${f.drill}: ${f.name} = ${f.value}${f.note ? `  (${f.note})` : ""}`);
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  const timingsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "advwell-rehearsal-timings-")), "timings.jsonl");
  let info: DaemonInfo | undefined;
  let jest: ReturnType<typeof spawn> | undefined;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    say(`${signal}: stopping`);
    stopping = true;
    jest?.kill(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let code = 1;
  try {
    requireTools();
    info = await phase("start dockerd and a single-node Swarm", () => startDaemon(MANAGER_NODE), (i) => `${i.storageDriver}, ${i.dir}, node ${i.hostname} at ${i.swarmAddr}`);
    const base = await phase("base root filesystem (mmdebstrap, cached by recipe hash)", () => baseRootfs(say), (b) => `${b.cached ? "cache hit" : "built"}, ${(b.bytes / 1024 ** 2).toFixed(0)} MiB`);
    const binaries = await phase("Go programs (scripts/build-tools.sh, cached by wrapper hash)", () => goToolBinaries(say), (b) => Object.keys(b).join(", "));
    const docker = dockerClient(info.socket);
    await phase("load the stand-in images", () => loadStandinImages(docker, base, binaries), (refs) => `${refs.length} images over 2 shared layers`);
    if (stopping) return 130;
    code = await phase(
      "jest --selectProjects swarm",
      () =>
        new Promise<number>((resolve) => {
          jest = spawn(path.join(ROOT, "node_modules", ".bin", "jest"), ["--selectProjects", "swarm", "--runInBand", ...process.argv.slice(2)], {
            cwd: ROOT,
            stdio: "inherit",
            env: { ...process.env, ADVWELL_REHEARSAL_SOCKET: info!.socket, ADVWELL_REHEARSAL_TIMINGS: timingsFile },
          });
          jest.on("exit", (c, signal) => resolve(c ?? (signal ? 130 : 1)));
        }),
      (c) => `exit ${c}`,
    );
    return code;
  } catch (error) {
    say(`FAILED: ${(error as Error).stack ?? error}`);
    return 1;
  } finally {
    if (info) {
      const i = info;
      const teardown = async () => [...(await stopLeftoverWorkers(i.socket)), ...(await stopDaemon(i))];
      await phase("teardown (workloads, dockerd, namespaces, folders)", teardown, (notes) => (notes.length ? notes.join("; ") : "clean"));
    }
    printTimings(timingsFile);
    fs.rmSync(path.dirname(timingsFile), { recursive: true, force: true });
    say(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    say(String(error));
    process.exit(1);
  },
);
