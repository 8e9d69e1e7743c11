/**
 * Issue 15, item 5: the `dev` stack on the enterprise tier across two Swarm nodes. The rehearsal's
 * daemon is node 1 (manager); lib/nodes.ts starts node 2, a second dockerd in its own namespaces
 * linked to node 1's by a veth pair, and joins it as a worker. The inventory (`advwell:nodes`) lists
 * both, from their real CPUs and memory; `advwell:replicaDockerHost` is node 2's own socket, and the
 * engine maps that docker.Provider to node 2's engine, so the replica's volume is created there.
 *
 * Shown: the nodes carry the plan's names and labels; placement follows the plan; the read replica
 * streams from the primary, with its lag measured; the backend reads through DATABASE_REPLICA_URL;
 * node 2 is then killed outright (dockerd, containerd, every container: a power loss), rows are
 * written meanwhile, and when it comes back the replica restarts on its volume and catches up from
 * its slot, timed.
 */
import { containerLogs, exec } from "./lib/exec";
import { baseRootfs, goToolBinaries, loadStandinImages, STANDIN_IMAGES } from "./lib/images";
import { convergenceProblems } from "./lib/checks";
import { killWorker, restartWorker, startWorker, stopWorker, SWARM_LINK, waitNodeState, Worker } from "./lib/nodes";
import { Deployment, deploy, deployConfig, destroy, objectsOf, PROBE_SERVICE, probeSecretPath, realNodeEntry, rehearsalDocker, rehearsalSocket, setAvailability, StackConfig } from "./lib/rehearsal";
import { loadNote, recordFigure, recordTiming, say, timed } from "./lib/report";
import { containerOf } from "./lib/exec";

jest.setTimeout(20 * 60_000);

const docker = rehearsalDocker();
const socket = rehearsalSocket();
const NODE_1 = "rehearsal-1";
const NODE_2 = "rehearsal-2";
const STANDIN_REFS: ReadonlySet<string> = new Set(Object.values(STANDIN_IMAGES).map((i) => i.ref));

let worker: Worker | undefined;
let d: Deployment | undefined;
let stack: StackConfig | undefined;
let setupError: Error | undefined;
let probeContainer = "";
let replicaHost = "";
/** The services with a stand-in and their planned task counts (global: one per node). */
let services: { id: string; dockerName: string; expected: number }[] = [];

const deployment = (): Deployment => {
  if (setupError) throw setupError;
  if (!d) throw new Error("no deployment");
  return d;
};
const probe = async (script: string, timeoutMs = 120_000) => {
  deployment();
  const out = await exec(docker, probeContainer, ["bash", "-c", script], { timeoutMs });
  if (out.exitCode !== 0) throw new Error(`probe script failed (exit ${out.exitCode}): ${out.stderr.trim() || out.stdout.trim()}\n${script}`);
  return out.stdout.trim();
};
/** psql as the superuser from the probe (inside the Swarm), on the primary or the replica. */
const sql = (host: "postgres" | "postgres-replica", query: string) =>
  probe(`PGPASSWORD="$(cat ${probeSecretPath(deployment(), "postgres", "postgres-superuser-password")})" psql -h ${host} -U postgres -d advtom -XAtq -v ON_ERROR_STOP=1 -c ${JSON.stringify(query)}`);

/** Node ID -> host name, as the manager lists the nodes. */
async function nodeNames(): Promise<Map<string, string>> {
  return new Map(((await docker.listNodes()) as any[]).map((n) => [n.ID, n.Description?.Hostname as string]));
}

/** Per service: how many running tasks on each node (by host name). */
async function placement(): Promise<Record<string, Record<string, number>>> {
  const names = await nodeNames();
  const out: Record<string, Record<string, number>> = {};
  for (const o of objectsOf(deployment(), "service")) {
    const tasks: any[] = await docker.listTasks({ filters: JSON.stringify({ service: [o.id], "desired-state": ["running"] }) });
    const counts: Record<string, number> = {};
    for (const t of tasks.filter((x) => x.Status?.State === "running")) {
      const node = names.get(t.NodeID) ?? t.NodeID;
      counts[node] = (counts[node] ?? 0) + 1;
    }
    out[o.dockerName] = counts;
  }
  return out;
}

/**
 * Inside the probe, with the project's `pg` client: inserts `rounds` rows on the primary, one at a
 * time, and times how long each takes to become visible on the replica (commit, WAL shipped,
 * replayed, read back). Prints the sorted milliseconds.
 */
const LAG_SCRIPT = `
const { Client } = require("/standin/node_modules/pg");
const password = require("fs").readFileSync(process.env.PWFILE, "utf8").trim();
const connect = async (host) => { const c = new Client({ host, user: "postgres", password, database: "advtom" }); await c.connect(); return c; };
(async () => {
  const primary = await connect("postgres");
  const replica = await connect("postgres-replica");
  const samples = [];
  for (let i = 0; i < Number(process.env.ROUNDS); i++) {
    const started = process.hrtime.bigint();
    const { rows } = await primary.query("INSERT INTO standin_rows (note) VALUES ('replica lag probe') RETURNING id");
    for (;;) {
      const seen = await replica.query("SELECT 1 FROM standin_rows WHERE id = $1", [rows[0].id]);
      if (seen.rowCount === 1) break;
      if (process.hrtime.bigint() - started > 30000000000n) throw new Error("row " + rows[0].id + " not on the replica after 30 s");
    }
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  console.log(JSON.stringify(samples.sort((a, b) => a - b)));
  await primary.end(); await replica.end();
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

async function measureLag(rounds: number): Promise<{ medianMs: number; maxMs: number; samples: number[] }> {
  const pw = probeSecretPath(deployment(), "postgres", "postgres-superuser-password");
  const out = await probe(`cat > /tmp/lag.js <<'JS'\n${LAG_SCRIPT}\nJS\nPWFILE=${pw} ROUNDS=${rounds} node /tmp/lag.js`);
  const samples = JSON.parse(out) as number[];
  return { medianMs: samples[Math.floor(samples.length / 2)], maxMs: samples[samples.length - 1], samples };
}

interface Replication {
  application_name: string;
  state: string;
  client_addr: string;
  lag_bytes: number;
  replay_lag: string | null;
}

async function replicationRows(): Promise<Replication[]> {
  const out = await sql(
    "postgres",
    "SELECT coalesce(json_agg(json_build_object('application_name', application_name, 'state', state, 'client_addr', host(client_addr), 'lag_bytes', pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 'replay_lag', replay_lag::text)), '[]') FROM pg_stat_replication",
  );
  return JSON.parse(out) as Replication[];
}

describe("enterprise on two nodes: placement, streaming replication, replica reads, and the loss of the replica's node", () => {
  beforeAll(async () => {
    try {
      await setAvailability(docker, "active");
      worker = await timed("two nodes: start, link and join the worker", () => startWorker(socket, NODE_2), (w) => `${w.hostname} at ${w.info.swarmAddr}, ${w.info.dir}`);
      await timed("two nodes: load the stand-in images on the worker", () => loadStandinImages(worker!.docker, baseRootfs(), goToolBinaries()), (refs) => `${refs.length} images`);
      replicaHost = `unix://${worker.info.socket}`;
      const nodes = [await realNodeEntry(docker, NODE_1), await realNodeEntry(worker.docker, NODE_2, "worker")];
      stack = await deployConfig(docker, "dev", "enterprise", [`advwell:nodes=${JSON.stringify(nodes)}`, `advwell:replicaDockerHost=${replicaHost}`]);
      const errors = stack.resolved.findings.filter((f) => f.level === "error");
      if (errors.length > 0) throw new Error(`the enterprise plan on two nodes has errors: ${errors.map((f) => `${f.key}: ${f.message}`).join("; ")}`);
      const started = Date.now();
      const w = worker;
      d = await deploy(docker, stack, (fn) => jest.isolateModulesAsync(fn), {
        log: (l) => say(`two nodes: ${l}`),
        dockerForHost: (host) => {
          if (host !== replicaHost) throw new Error(`docker.Provider host ${host} is no engine of the rehearsal (node 2 is ${replicaHost})`);
          return w.docker;
        },
      });
      recordTiming("two nodes: program run, objects created", Date.now() - started, `${d.objects.length} docker objects`);
      if (d.result.programError) throw d.result.programError;
      if (d.result.failures.length > 0) throw new Error(`the deploy failed, as \`pulumi up\` would: ${d.result.failures.map((f) => `${f.resourceName}: ${f.message}`).join("; ")}`);
      probeContainer = await containerOf(docker, PROBE_SERVICE);
      services = objectsOf(d, "service")
        .filter((o) => STANDIN_REFS.has(String(o.inputs.taskSpec?.containerSpec?.image ?? "")))
        .map((o) => ({ id: o.id, dockerName: o.dockerName, expected: o.inputs.mode?.global ? 2 : (o.inputs.mode?.replicated?.replicas ?? 1) }));
      const convergence = await timed("two nodes: convergence of the services with a stand-in", () => convergenceProblems(docker, services, { timeoutMs: 300_000, stableMs: 10_000, log: (l) => say(`two nodes: ${l}`) }));
      if (convergence.problems.length > 0) throw new Error(`the stack did not converge on two nodes:\n${convergence.problems.join("\n")}`);
    } catch (error) {
      setupError = error as Error;
      say(`two nodes: setup failed: ${setupError.message}`);
    }
  });

  afterAll(async () => {
    const started = Date.now();
    // A worker still down (a failed loss drill) comes back first, so its objects can be removed.
    if (worker) await worker.docker.ping().catch(() => restartWorker(worker!).catch(() => undefined));
    const problems = await destroy(docker, d, (l) => say(`two nodes: ${l}`)).catch((e) => [String(e)]);
    problems.push(...(await stopWorker(socket, worker)));
    recordTiming("two nodes: teardown of the stack and the worker", Date.now() - started, problems.length ? problems.join("; ") : undefined);
  });

  test("node 2 joined as the inventory's second node: its host name, worker role, its own address, and the plan's labels", async () => {
    deployment();
    const plan = stack!.resolved.plan!;
    const nodes = ((await docker.listNodes()) as any[]).sort((a, b) => (a.CreatedAt < b.CreatedAt ? -1 : 1));
    const seen = nodes.map((n) => ({ name: n.Description.Hostname, role: n.Spec.Role, state: n.Status.State, addr: n.Status.Addr, labels: n.Spec.Labels ?? {} }));
    say(`two nodes: ${seen.map((n) => `${n.name} ${n.role} ${n.state} at ${n.addr}, labels ${JSON.stringify(n.labels)}`).join("; ")}`);
    expect(seen).toEqual(
      plan.nodes.map((n, i) => ({ name: n.name, role: i === 0 ? "manager" : "worker", state: "ready", addr: i === 0 ? SWARM_LINK.managerAddr : SWARM_LINK.workerEnd, labels: n.labels })),
    );
    expect(plan.nodes.map((n) => n.labels["advwell.postgres"])).toEqual(["primary", "replica"]);
  });

  test("placement follows the plan: the primary on node 1, the read replica on node 2, the spread services over both", async () => {
    const plan = stack!.resolved.plan!;
    const actual = await placement();
    say(`two nodes: placement ${JSON.stringify(actual)}`);
    const problems: string[] = [];
    for (const s of Object.values(plan.services)) {
      if (!s || !(s.name in actual) || !STANDIN_REFS.has(String(objectsOf(deployment(), "service").find((o) => o.dockerName === s.name)?.inputs.taskSpec?.containerSpec?.image))) continue;
      const counts = actual[s.name];
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const expectedTotal = s.global ? plan.nodes.length : s.replicas;
      if (total !== expectedTotal) problems.push(`${s.name}: ${total} running task(s), the plan says ${expectedTotal}`);
      // Constrained services run only where the plan's labels allow; the plan's own placement lists those nodes.
      const eligible = plan.nodes.filter((n) => s.placement.constraints.every((c) => {
        const m = /^node\.labels\.([^=]+)==(.+)$/.exec(c);
        if (m) return n.labels[m[1]] === m[2];
        return c === "node.role==manager" ? n.name === NODE_1 : true;
      })).map((n) => n.name);
      for (const node of Object.keys(counts)) if (!eligible.includes(node)) problems.push(`${s.name}: a task runs on ${node}, outside its placement (${s.placement.constraints.join(", ")})`);
      // Spread by advwell.node: every eligible node gets its share, to within one task.
      if (s.placement.spreadByLabels.length > 0 && !s.global) {
        const shares = eligible.map((n) => counts[n] ?? 0);
        if (Math.max(...shares) - Math.min(...shares) > 1) problems.push(`${s.name}: not spread over ${eligible.join(", ")} (${JSON.stringify(counts)})`);
      }
    }
    expect(problems).toEqual([]);
    expect(actual.postgres).toEqual({ [NODE_1]: 1 });
    expect(actual["postgres-replica"]).toEqual({ [NODE_2]: 1 });
    expect(actual.backend).toEqual({ [NODE_1]: 2, [NODE_2]: 2 });
    expect(actual.frontend).toEqual({ [NODE_1]: 1, [NODE_2]: 1 });
  });

  test("the replica's volume lives on node 2, created there through advwell:replicaDockerHost's provider; node 1 has none", async () => {
    const dep = deployment();
    const plan = stack!.resolved.plan!;
    const volumeName = plan.replication!.volumeNames[0];
    const volume = objectsOf(dep, "volume").find((o) => o.dockerName === volumeName)!;
    expect({ name: volume.dockerName, host: volume.providerHost, onWorker: volume.docker === worker!.docker }).toEqual({ name: volumeName, host: replicaHost, onWorker: true });
    const onNode2 = (await worker!.docker.getVolume(volumeName).inspect()) as any;
    expect(onNode2.Labels).toMatchObject({ "advwell.stateful": "true", "advwell.volume": "postgres-replica" });
    await expect(docker.getVolume(volumeName).inspect()).rejects.toThrow(/no such volume/i);
  });

  test("the read replica streams from the primary: pg_stat_replication shows it streaming from node 2 through its slot, and a row is readable on it within milliseconds", async () => {
    deployment();
    const rows = await replicationRows();
    const names = await nodeNames();
    const replicaTask = ((await docker.listTasks({ filters: JSON.stringify({ service: ["postgres-replica"], "desired-state": ["running"] }) })) as any[]).find((t) => t.Status?.State === "running");
    const replicaAddrs = (replicaTask?.NetworksAttachments ?? []).flatMap((a: any) => (a.Addresses ?? []).map((x: string) => x.split("/")[0]));
    expect(rows.map((r) => ({ name: r.application_name, state: r.state }))).toEqual([{ name: "replica_1", state: "streaming" }]);
    expect(replicaAddrs).toContain(rows[0].client_addr);
    expect(names.get(replicaTask.NodeID)).toBe(NODE_2);
    const slots = await sql("postgres", "SELECT slot_name || ' ' || active FROM pg_replication_slots");
    expect(slots).toBe("replica_1 true");
    expect(await sql("postgres-replica", "SELECT pg_is_in_recovery()")).toBe("t");
    const lag = await measureLag(20);
    const after = await replicationRows();
    say(`two nodes: replica lag, row written on node 1 -> readable on node 2: median ${lag.medianMs.toFixed(1)} ms, max ${lag.maxMs.toFixed(1)} ms over ${lag.samples.length}; pg_stat_replication replay_lag ${after[0]?.replay_lag}, ${after[0]?.lag_bytes} bytes behind`);
    recordFigure("two nodes", "replica lag, row written on node 1 until readable on node 2", `median ${lag.medianMs.toFixed(1)} ms, max ${lag.maxMs.toFixed(1)} ms over ${lag.samples.length}`, `pg_stat_replication replay_lag ${after[0]?.replay_lag}; ${loadNote()}`);
    expect(lag.maxMs).toBeLessThan(5000);
  });

  test("the backend reads through DATABASE_REPLICA_URL: GET /replica on every task, on both nodes, answers from the standby with the primary's row count", async () => {
    const port = stack!.resolved.plan!.backend.port;
    await probe(`curl -sf -m 10 -X POST http://backend:${port}/rows >/dev/null`);
    // Wait until the standby has replayed everything the primary has written, then compare counts.
    await probe(`for i in $(seq 1 100); do [ "$(PGPASSWORD="$(cat ${probeSecretPath(deployment(), "postgres", "postgres-superuser-password")})" psql -h postgres -U postgres -d advtom -XAt -c "SELECT count(*) FROM pg_stat_replication WHERE replay_lsn >= pg_current_wal_lsn()")" = 1 ] && exit 0; sleep 0.1; done; exit 1`);
    const primaryCount = Number(await sql("postgres", "SELECT count(*) FROM standin_rows"));
    const out = await probe(`for ip in $(getent ahostsv4 tasks.backend | awk '{print $1}' | sort -u); do echo "$ip $(curl -s -m 10 http://$ip:${port}/replica)"; done`);
    const answers = out.split("\n").map((line) => JSON.parse(line.slice(line.indexOf(" ") + 1)) as { ok: boolean; standby: boolean; database: string; count: number });
    say(`two nodes: /replica answers ${JSON.stringify(answers)}`);
    expect(answers).toHaveLength(4);
    for (const a of answers) expect({ ok: a.ok, standby: a.standby, database: a.database, count: a.count }).toEqual({ ok: true, standby: true, database: "postgres-replica:5432/advtom", count: primaryCount });
  });

  test("the replica survives the loss of its node: node 2 is killed, rows are written meanwhile, and when it returns the replica restarts on its volume and catches up from its slot", async () => {
    const w = worker!;
    deployment();
    const before = Number(await sql("postgres", "SELECT count(*) FROM standin_rows"));
    const lost = Date.now();
    await killWorker(w);
    const downAfterMs = await waitNodeState(docker, w.nodeId, "down");
    say(`two nodes: node 2 killed; the manager reports it down after ${(downAfterMs / 1000).toFixed(1)} s; placement while down ${JSON.stringify(await placement())}`);
    let restarted = false;
    try {
      // Written while node 2 is away: rows, and enough WAL that a lost slot would show.
      const WRITTEN = 2000;
      await sql("postgres", `INSERT INTO standin_rows (note) SELECT 'written while node 2 was down #' || g FROM generate_series(1, ${WRITTEN}) g`);
      const target = await sql("postgres", "SELECT pg_current_wal_lsn()");
      const slot = await sql("postgres", `SELECT active || ' ' || (restart_lsn < '${target}'::pg_lsn) || ' ' || pg_wal_lsn_diff('${target}'::pg_lsn, restart_lsn) FROM pg_replication_slots WHERE slot_name = 'replica_1'`);
      const [active, behind, retainedBytes] = slot.split(" ");
      expect({ active, behind }).toEqual({ active: "false", behind: "true" });
      expect(await replicationRows()).toEqual([]);
      const downFor = Date.now() - lost;

      const back = Date.now();
      await restartWorker(w);
      restarted = true;
      const readyAfterMs = Date.now() - back + (await waitNodeState(docker, w.nodeId, "ready"));
      // Caught up: the primary sees the replica streaming again and replayed past everything written meanwhile.
      let caughtUpMs = -1;
      let rows: Replication[] = [];
      for (const deadline = Date.now() + 240_000; Date.now() < deadline; ) {
        const out = await sql("postgres", `SELECT count(*) FROM pg_stat_replication WHERE application_name = 'replica_1' AND state = 'streaming' AND replay_lsn >= '${target}'::pg_lsn`);
        if (out === "1") {
          caughtUpMs = Date.now() - back;
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      rows = await replicationRows();
      const replicaCount = Number(await sql("postgres-replica", "SELECT count(*) FROM standin_rows"));
      const primaryCount = Number(await sql("postgres", "SELECT count(*) FROM standin_rows"));
      const lag = await measureLag(10);
      // The new task reused the volume on node 2: no second base backup.
      const containers = await w.docker.listContainers({ filters: JSON.stringify({ label: ["com.docker.swarm.service.name=postgres-replica"], status: ["running"] }) });
      const logs = containers[0] ? await containerLogs(w.docker, containers[0].Id, 50) : "";
      const figures = `node 2 down for ${(downFor / 1000).toFixed(1)} s (reported down after ${(downAfterMs / 1000).toFixed(1)} s); ${WRITTEN} rows and ${retainedBytes} bytes of WAL written meanwhile, kept by the slot; back: node ready after ${(readyAfterMs / 1000).toFixed(1)} s, replica caught up ${(caughtUpMs / 1000).toFixed(1)} s after node 2 restarted; lag after: median ${lag.medianMs.toFixed(1)} ms, max ${lag.maxMs.toFixed(1)} ms`;
      say(`two nodes: ${figures}`);
      recordFigure("two nodes", "replica caught up after node 2 was killed and restarted", `${(caughtUpMs / 1000).toFixed(1)} s`, `${figures}; ${loadNote()}`);
      // The rest of the stack: the web tasks node 2 ran are replaced (on node 1 while it can hold
      // them, on node 2 once it is back), and every service runs its replicas again.
      const checkedFrom = Date.now();
      const whole = await convergenceProblems(docker, services, { timeoutMs: 180_000, stableMs: 5_000 });
      // Polled every 2 s from checkedFrom, so to within 2 s.
      const wholeAfterMs = checkedFrom - back + whole.convergedAfterMs;
      recordTiming("two nodes: every service runs its replicas again after node 2 returns", wholeAfterMs, `placement ${JSON.stringify(await placement())}`);
      expect(whole.problems).toEqual([]);
      expect(caughtUpMs).toBeGreaterThan(0);
      expect(rows.map((r) => `${r.application_name} ${r.state}`)).toEqual(["replica_1 streaming"]);
      expect(replicaCount).toBe(primaryCount);
      expect(primaryCount).toBe(before + WRITTEN);
      expect(logs).toContain("skipping pg_basebackup");
      expect(logs).not.toContain("cloning");
    } finally {
      if (!restarted) await restartWorker(w).catch(() => undefined);
    }
  });
});
