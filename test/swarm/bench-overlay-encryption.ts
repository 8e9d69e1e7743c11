/**
 * What IPsec on an overlay network costs (model/networks.ts: the data network is `encrypted`),
 * measured on the rehearsal's two nodes: throughput and round-trip latency of TCP between a task
 * on node 1 and a task on node 2, over a plain overlay and over an encrypted one. Prints figures;
 * asserts nothing about them.
 *
 *   flock /tmp/advwell-swarm.lock npx ts-node test/swarm/bench-overlay-encryption.ts [--mib 256] [--rounds 3]
 *
 * As root, like the rehearsal (test/swarm/run.ts): it starts its own dockerd and Swarm (node 1),
 * a second daemon in its own namespaces joined as a worker over a veth pair (node 2,
 * test/swarm/lib/nodes.ts), and takes both down at the end. Traffic stays inside those namespaces.
 * Each round, on each network: the client on node 2 sends --mib MiB to the server on node 1 and
 * waits for the byte count back (throughput), then makes 2000 sequential 64-byte round trips
 * (latency: median and 99th percentile). Also printed: the IPsec security associations the
 * encrypted network set up in node 1's namespace (`ip xfrm state`), which show the traffic was
 * encrypted at all. The node processes share this machine's CPUs, so the figures are the cost of
 * the encryption in CPU on one host, not a network's.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type Docker from "dockerode";
import { DaemonInfo, dockerClient, startDaemon, stopDaemon } from "./lib/daemon";
import { containerOf, exec } from "./lib/exec";
import { baseRootfs, goToolBinaries, loadStandinImages, STANDIN_IMAGES } from "./lib/images";
import { MANAGER_NODE, startWorker, stopLeftoverWorkers, stopWorker, Worker } from "./lib/nodes";

const IMAGE = STANDIN_IMAGES.backend.ref; // Debian with node, runs as root
const PORT = 5001;
const say = (line: string) => process.stdout.write(`[bench-overlay] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** First byte 'T': count bytes until the client ends, answer the count. 'L': echo every chunk. */
const SERVER = `
const net = require("net");
net.createServer((s) => {
  let mode = null, total = 0;
  s.on("data", (d) => {
    if (mode === null) { mode = String.fromCharCode(d[0]); d = d.subarray(1); }
    if (mode === "T") total += d.length; else s.write(d);
  });
  s.on("end", () => { if (mode === "T") s.end(String(total)); else s.end(); });
}).listen(${PORT});
`;

/** Prints one JSON line: MiB/s and the round-trip times' median and p99 in microseconds. */
const CLIENT = `
const net = require("net");
const [host, mib] = [process.argv[1], Number(process.argv[2])];
const connect = () => new Promise((ok, ko) => {
  const s = net.connect(${PORT}, host, () => { clearTimeout(timer); ok(s); });
  const timer = setTimeout(() => { s.destroy(); ko(new Error("no TCP connection to " + host + " within 10 s")); }, 10000);
  s.on("error", ko);
});
async function throughput() {
  const s = await connect();
  const chunk = Buffer.alloc(64 * 1024, 7);
  const started = process.hrtime.bigint();
  const answer = new Promise((ok) => { let t = ""; s.on("data", (d) => (t += d)); s.on("end", () => ok(Number(t))); });
  s.write("T");
  for (let i = 0; i < mib * 16; i++) if (!s.write(chunk)) await new Promise((r) => s.once("drain", r));
  s.end();
  const received = await answer;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (received !== mib * 1024 * 1024) throw new Error("server counted " + received + " bytes, sent " + mib * 1024 * 1024);
  return mib / seconds;
}
async function latency() {
  const s = await connect();
  s.setNoDelay(true);
  const payload = Buffer.alloc(64, 1);
  const times = [];
  let pending = null, got = 0;
  s.on("data", (d) => { got += d.length; if (got >= 64 && pending) { got -= 64; const p = pending; pending = null; p(); } });
  s.write("L");
  for (let i = 0; i < 2000; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((r) => { pending = r; s.write(payload); });
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  s.end();
  times.sort((a, b) => a - b);
  return { median: times[1000], p99: times[1980] };
}
(async () => {
  const mibps = await throughput();
  const rtt = await latency();
  console.log(JSON.stringify({ mibps, medianUs: rtt.median, p99Us: rtt.p99 }));
})().catch((e) => { console.error(String(e)); process.exit(1); });
`;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

async function service(docker: Docker, name: string, network: string, node: string, cmd: string[]): Promise<void> {
  await docker.createService({
    Name: name,
    TaskTemplate: {
      ContainerSpec: { Image: IMAGE, Command: cmd },
      Networks: [{ Target: network }],
      Placement: { Constraints: [`node.hostname==${node}`] },
      RestartPolicy: { Condition: "none" },
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Mode: "dnsrr" },
  } as any);
}

async function waitContainer(docker: Docker, serviceName: string): Promise<string> {
  for (let i = 0; i < 240; i++) {
    try {
      const id = await containerOf(docker, serviceName);
      const state = (await docker.getContainer(id).inspect()).State;
      if (state.Running) return id;
    } catch {
      // not there yet
    }
    await sleep(500);
  }
  throw new Error(`${serviceName} has no running container after 120 s`);
}

/** dockerd's log in a rehearsal daemon's folder (test/swarm/lib/daemon.ts writes it there). */
function readLog(dir: string): string[] {
  const file = path.join(dir, "dockerd.log");
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n") : [];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<number> {
  const mib = arg("mib", 256);
  const rounds = arg("rounds", 3);
  let info: DaemonInfo | undefined;
  let worker: Worker | undefined;
  try {
    info = await startDaemon(MANAGER_NODE);
    const manager = dockerClient(info.socket);
    const base = baseRootfs(say);
    const binaries = goToolBinaries();
    await loadStandinImages(manager, base, binaries);
    worker = await startWorker(info.socket, "rehearsal-2");
    await loadStandinImages(worker.docker, base, binaries);
    say(`two nodes up: ${MANAGER_NODE.hostname} (manager, ${info.storageDriver}) and ${worker.hostname}; ${mib} MiB per throughput run, ${rounds} rounds`);

    const results: Record<string, { mibps: number[]; medianUs: number[]; p99Us: number[]; sas?: number; failed?: string }> = {};
    for (const mode of ["plain", "encrypted"] as const) {
      const network = `bench-${mode}`;
      try {
        await manager.createNetwork({ Name: network, Driver: "overlay", Options: mode === "encrypted" ? { encrypted: "true" } : {}, CheckDuplicate: true } as any);
      } catch (error) {
        say(`${mode}: the daemon refused the network: ${(error as Error).message}`);
        continue;
      }
      await service(manager, `${network}-server`, network, MANAGER_NODE.hostname, ["node", "-e", SERVER]);
      await service(manager, `${network}-client`, network, worker.hostname, ["sleep", "infinity"]);
      await waitContainer(manager, `${network}-server`);
      const client = await waitContainer(worker.docker, `${network}-client`);
      const r = (results[mode] = { mibps: [] as number[], medianUs: [] as number[], p99Us: [] as number[] } as (typeof results)[string]);
      for (let round = 0; round < rounds; round++) {
        const out = await exec(worker.docker, client, ["node", "-e", CLIENT, `tasks.${network}-server`, String(mib)], { timeoutMs: 300_000 });
        if (out.exitCode !== 0) {
          // Why IPsec did not come up, in the daemons' own words (moby's overlay driver logs each SA it fails to add).
          const refusals = [info.dir, worker.info.dir].flatMap((dir) => readLog(dir).filter((l) => /Failed (Adding|Removing|Updating) [fr]?SA/.test(l)));
          say(`${mode}: ${out.stderr.trim() || out.stdout.trim()}`);
          if (refusals.length > 0) say(`${mode}: dockerd: ${refusals.length} SA(s) refused, the first: ${refusals[0].replace(/Key: 0x[0-9a-f]+/g, "Key: <elided>")}`);
          r.failed = out.stderr.trim() || out.stdout.trim();
          break;
        }
        const figures = JSON.parse(out.stdout.trim().split("\n").pop()!);
        r.mibps.push(figures.mibps);
        r.medianUs.push(figures.medianUs);
        r.p99Us.push(figures.p99Us);
        say(`${mode} round ${round + 1}: ${figures.mibps.toFixed(0)} MiB/s, round trip median ${figures.medianUs.toFixed(0)} µs, p99 ${figures.p99Us.toFixed(0)} µs`);
      }
      const xfrm = execFileSync("ip", ["-n", info.netns, "xfrm", "state"], { encoding: "utf8" });
      r.sas = (xfrm.match(/^src /gm) ?? []).length;
      say(`${mode}: IPsec security associations in node 1's namespace: ${r.sas}`);
      for (const s of [`${network}-client`, `${network}-server`]) await manager.getService(s).remove();
    }

    say("summary (median of the rounds):");
    for (const [mode, r] of Object.entries(results)) {
      if (r.failed) {
        say(`  ${mode.padEnd(9)} no traffic between the nodes: ${r.failed}; IPsec SAs ${r.sas}`);
        continue;
      }
      say(`  ${mode.padEnd(9)} ${median(r.mibps).toFixed(0).padStart(5)} MiB/s   round trip median ${median(r.medianUs).toFixed(0)} µs, p99 ${median(r.p99Us).toFixed(0)} µs   IPsec SAs ${r.sas}`);
    }
    if (results.plain && results.encrypted && !results.plain.failed && !results.encrypted.failed) {
      say(`  encryption costs ${(100 * (1 - median(results.encrypted.mibps) / median(results.plain.mibps))).toFixed(0)}% of the throughput and adds ${(median(results.encrypted.medianUs) - median(results.plain.medianUs)).toFixed(0)} µs to the median round trip`);
    }
    return 0;
  } catch (error) {
    say(`FAILED: ${(error as Error).message}`);
    return 1;
  } finally {
    if (info) {
      const notes = [...(await stopWorker(info.socket, worker)), ...(await stopLeftoverWorkers(info.socket)), ...(await stopDaemon(info))];
      say(`teardown: ${notes.length ? notes.join("; ") : "clean"}`);
    }
  }
}

main().then((code) => process.exit(code));
