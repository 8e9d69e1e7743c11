/**
 * Day-2 drills on the real Swarm (issue 15): one deployment of `dev` with rehearsal.yaml's `drills`
 * overrides, re-deployed by the program itself (engine.ts plays `pulumi up` against the same state):
 *
 * 1. tier switch starter -> growth -> scale under traffic, with rows written before;
 * 2. a broken backend release that Swarm rolls back by itself, and the deploy reports failure;
 * 3. PostgreSQL killed, then restarted by a forced update (stop-first): same volume, rows kept,
 *    the backend reconnects on its own, unavailability measured.
 *
 * Every figure is printed (FIGURE lines, and run.ts's "drill figures" block at the end).
 */
import { containerOf, exec } from "./lib/exec";
import { inspectProblems, plannedServices, postgresSettingProblems } from "./lib/checks";
import { backendHealthProblems, DrillContext, Evidence, lostRows, rowSnapshot, runningTasks, updateOutcome, UpdateWatch, waitForNewTask, writeRows } from "./lib/drills";
import { STANDIN_IMAGES } from "./lib/images";
import { fatals, formatFatal, probeFatals } from "./lib/pglog";
import { assignments, deploy, deployConfig, Deployment, destroy, objectsOf, PROBE_SERVICE, probeSecretPath, redeploy, rehearsalDocker, rehearsalFile, setAvailability, StackConfig } from "./lib/rehearsal";
import { loadNote, recordFigure, recordTiming, say } from "./lib/report";
import { classify, databaseFailuresOutsideOutages, formatWindow, outageWindows, startTraffic, summarise, TrafficRecord } from "./lib/traffic";

jest.setTimeout(20 * 60_000);

const docker = rehearsalDocker();
const STACK = "dev";
const isolate = (fn: () => Promise<void>) => jest.isolateModulesAsync(fn);
const log = (line: string) => say(`drills: ${line}`);

let d: Deployment | undefined;
let setupError: Error | undefined;
let probeContainer = "";
const evidence = new Evidence();

const deployment = (): Deployment => {
  if (setupError) throw setupError;
  if (!d) throw new Error("no deployment");
  return d;
};

/** The config of one drill step: rehearsal.yaml's deploy, then its drills overrides, the tier, and extras. */
async function drillConfig(tier: string, extra: readonly string[] = []): Promise<StackConfig> {
  const stack = await deployConfig(docker, STACK, undefined, [...assignments(rehearsalFile().drills), `advwell:tier=${tier}`, ...extra]);
  const errors = stack.resolved.findings.filter((f) => f.level === "error");
  if (errors.length > 0) throw new Error(`the plan for ${STACK}/${tier} with the drills' config has errors: ${errors.map((f) => `${f.key}: ${f.message}`).join("; ")}`);
  return stack;
}

function ctx(): DrillContext {
  const dep = deployment();
  return {
    docker,
    probe: async (script, timeoutMs = 60_000) => exec(docker, probeContainer, ["bash", "-c", script], { timeoutMs }),
    superuserFile: probeSecretPath(dep, "postgres", "postgres-superuser-password"),
    database: dep.stack.resolved.settings!.databaseName,
    backendPort: 3000,
  };
}

function traffic() {
  const c = ctx();
  return startTraffic(docker, probeContainer, { passwordFile: c.superuserFile, database: c.database, backendPort: c.backendPort, frontendPort: 80 });
}

const serviceId = (name: string) => objectsOf(deployment(), "service").find((o) => o.dockerName === name)!.id;

/** Running tasks, limits, update config ... against the plan, for the services the drills change. */
async function planProblems(stack: StackConfig, names: readonly string[]): Promise<string[]> {
  const planned = plannedServices(stack.resolved.plan!);
  const problems: string[] = [];
  for (const name of names) {
    const p = planned.get(name)!;
    problems.push(...inspectProblems(name, (await docker.getService(serviceId(name)).inspect()).Spec, p));
    const running = await runningTasks(docker, name);
    if (running.length !== p.replicas) problems.push(`${name}: ${running.length} task(s) running, the plan says ${p.replicas}`);
  }
  return problems;
}

/** What the traffic saw: figures recorded, and the problems the drill's goals turn into. */
function trafficProblems(drill: string, records: readonly TrafficRecord[], options: { postgresGoalSeconds?: number } = {}): { problems: string[]; outage: number } {
  const problems: string[] = [];
  const note = loadNote();
  const windows = outageWindows(records.filter((r) => r.target === "postgres"));
  // The restart's outage is the longest window (a slow connection under load can add a short one).
  const outage = windows.reduce((m, w) => Math.max(m, w.seconds ?? Infinity), 0);
  for (const target of ["backend", "frontend"] as const) {
    const s = summarise(records, target);
    const classes = Object.entries(s.byClass).map(([c, n]) => `${n} ${c}`).join(", ");
    recordFigure(drill, `${target} requests failed`, `${s.failed} of ${s.made}`, `${classes ? `${classes}; ` : ""}slowest ${(s.slowestMs / 1000).toFixed(1)} s; ${note}`);
    if (s.made < 3) problems.push(`${target}: only ${s.made} requests made during the drill`);
    // A start-first update never sends a request to a task that is gone or not ready; only the
    // backend may fail, and only for its database (checked against PostgreSQL's outages below).
    const databaseCaused = (r: TrafficRecord) => r.target === "backend" && (classify(r) === "database" || classify(r) === "stalled");
    const routing = records.filter((r) => r.target === target && classify(r) !== undefined && !databaseCaused(r));
    if (routing.length > 0) problems.push(`${target}: ${routing.length} request(s) failed without a database cause: ${routing.slice(0, 3).map((r) => `${new Date(r.t).toISOString().slice(11, 23)} ${r.ip ?? ""} ${r.status ?? r.error}`).join("; ")}`);
  }
  recordFigure(drill, "PostgreSQL unavailable", windows.length === 0 ? "0 s" : windows.map(formatWindow).join("; "), note);
  // The backend may answer 503 only while PostgreSQL itself is unavailable (±1 s: the probes are 100 ms apart).
  const stray = databaseFailuresOutsideOutages(records, windows, 1000);
  if (stray.length > 0) problems.push(`backend: ${stray.length} database failure(s) while PostgreSQL answered, e.g. ${stray[0].body ?? stray[0].error}`);
  if (windows.some((w) => w.to === undefined)) problems.push(`postgres: still unavailable when the traffic stopped: ${windows.map(formatWindow).join("; ")}`);
  if (options.postgresGoalSeconds !== undefined && outage > options.postgresGoalSeconds) problems.push(`postgres: unavailable ${outage.toFixed(1)} s, the goal is ≤ ${options.postgresGoalSeconds} s: ${windows.map(formatWindow).join("; ")}`);
  return { problems, outage };
}

beforeAll(async () => {
  try {
    await setAvailability(docker, "active");
    const stack = await drillConfig("starter");
    const started = Date.now();
    d = await deploy(docker, stack, isolate, { log });
    recordTiming("drills: dev/starter deployed", Date.now() - started, `${d.objects.length} docker objects`);
    if (d.result.programError) throw d.result.programError;
    if (d.result.failures.length > 0) throw new Error(`the first deploy failed: ${d.result.failures.map((f) => `${f.resourceName}: ${f.message}`).join("; ")}`);
    probeContainer = await containerOf(docker, PROBE_SERVICE);
    await evidence.collect(docker);
  } catch (error) {
    setupError = error as Error;
    log(`setup failed: ${setupError.message}`);
  }
});

afterAll(async () => {
  const started = Date.now();
  const problems = await destroy(docker, d, log);
  recordTiming("drills: teardown of the stack", Date.now() - started, problems.length ? problems.join("; ") : undefined);
});

let rowsBefore: { count: number; maxId: number } | undefined;

describe("drill: tier switch under traffic (starter -> growth -> scale)", () => {
  test("rows are written through the backend on starter", async () => {
    deployment();
    rowsBefore = await writeRows(ctx(), 40);
    expect(rowsBefore.count).toBeGreaterThanOrEqual(40);
  });

  test.each(["growth", "scale"])("switch to %s: replicas, limits and PostgreSQL settings follow the plan, no row is lost, no request fails but for the database restart", async (tier) => {
    deployment();
    const stack = await drillConfig(tier);
    const t = await traffic();
    const started = Date.now();
    let records: TrafficRecord[] = [];
    try {
      d = await redeploy(docker, deployment(), stack, isolate, { log });
    } finally {
      // A moment after the deploy returns: the traffic must see the stack answer again.
      await new Promise((r) => setTimeout(r, 3000));
      records = await t.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    await evidence.collect(docker);
    const steps = d!.result.steps.filter((s) => s.op !== "same" && s.op !== "create" && s.type === "docker:index/service:Service").map((s) => `${s.op} ${s.dockerName ?? s.name}`);
    recordFigure(`tier switch to ${tier}`, "pulumi up (program-driven)", `${seconds.toFixed(0)} s`, steps.join(", "));
    expect(d!.result.failures).toEqual([]);
    const c = ctx();
    expect(await planProblems(stack, ["postgres", "backend", "frontend"])).toEqual([]);
    expect(await postgresSettingProblems(c.probe, c.superuserFile, c.database, stack.resolved.plan!.postgres.settings)).toEqual([]);
    expect(await lostRows(c, rowsBefore!)).toEqual([]);
    expect(trafficProblems(`tier switch to ${tier}`, records).problems).toEqual([]);
  });
});

describe("drill: a broken release rolls back by itself", () => {
  test("the backend on an image whose /health fails: Swarm rolls back to the previous image, the deploy fails as pulumi up would, no request fails", async () => {
    const dep = deployment();
    const previous = String(objectsOf(dep, "service").find((o) => o.dockerName === "backend")!.inputs.taskSpec.containerSpec.image);
    const replicas = dep.stack.resolved.plan!.services.backend!.replicas;
    const stack = await drillConfig(dep.stack.resolved.plan!.tier, [`advwell:backendImage=${STANDIN_IMAGES.backendBroken.ref}`]);
    const watch = new UpdateWatch(docker, "backend");
    const t = await traffic();
    const started = Date.now();
    watch.start();
    let records: TrafficRecord[] = [];
    try {
      d = await redeploy(docker, dep, stack, isolate, { log });
    } finally {
      records = await t.stop();
    }
    const reported = Date.now();
    // Swarm's own record of the rollback, polled until the service is back (or 60 s after the deploy returned).
    while (!watch.restoredAt(previous, replicas) && Date.now() - reported < 60_000) await new Promise((r) => setTimeout(r, 1000));
    watch.stop();
    const restoredAt = watch.restoredAt(previous, replicas);
    log(`backend update status: ${watch.describe(started)}`);
    const note = loadNote();
    recordFigure("broken release", "deploy to restored service", restoredAt ? `${((restoredAt - started) / 1000).toFixed(0)} s` : "never", `spec back on ${previous}, ${replicas} tasks running on it, no broken task left; Swarm: ${watch.describe(started)}; ${note}`);
    recordFigure("broken release", "deploy reported failure after", `${((reported - started) / 1000).toFixed(0)} s`, d!.result.failures.map((f) => `${f.resourceName}: ${f.message.split("\n")[0]}`).join("; ") || "no failure reported");
    const failed = summarise(records, "backend");
    recordFigure("broken release", "backend requests failed", `${failed.failed} of ${failed.made}`, note);

    expect(d!.result.failures.map((f) => f.resourceName)).toEqual(["backend-service"]);
    expect(d!.result.failures[0].message).toMatch(/rollback completed/);
    expect(restoredAt).toBeDefined();
    const running = await runningTasks(docker, "backend");
    expect(running.map((r) => r.image)).toEqual(Array(replicas).fill(previous));
    expect(((await docker.getService(serviceId("backend")).inspect()) as any).Spec.TaskTemplate.ContainerSpec.Image).toBe(previous);
    expect(await backendHealthProblems(ctx(), replicas, 30_000)).toEqual([]);
    expect(failed.failed).toBe(0);
  });
});

describe("drill: PostgreSQL restarts and keeps its data", () => {
  const restart = async (action: () => Promise<void>) => {
    const c = ctx();
    const before = await rowSnapshot(c);
    const old = (await runningTasks(docker, "postgres"))[0];
    const t = await traffic();
    let records: TrafficRecord[] = [];
    let fresh: { container: string; afterMs: number } | undefined;
    try {
      await action();
      fresh = await waitForNewTask(docker, "postgres", old.container!, 120_000);
      // Until the traffic has seen PostgreSQL answer again, and a little longer.
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const ok = await c.probe(`PGPASSWORD="$(cat ${c.superuserFile})" psql -h postgres -U postgres -d postgres -Atc 'SELECT 1' 2>/dev/null`);
        if (ok.stdout.trim() === "1") break;
        await new Promise((r) => setTimeout(r, 250));
      }
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      records = await t.stop();
    }
    await evidence.collect(docker);
    const newLog = evidence.logs.get(fresh!.container) ?? "";
    const oldLog = evidence.logs.get(old.container!) ?? "";
    const volumes = async (container: string) => ((await docker.getContainer(container).inspect()).Mounts as any[]).filter((m) => m.Type === "volume").map((m) => m.Name).sort();
    // Where the time went: the old server's exit, the new container's start, its first healthy check.
    const oldState: any = (await docker.getContainer(old.container!).inspect()).State;
    const newState: any = (await docker.getContainer(fresh!.container).inspect()).State;
    // A task with a health check turns `running` (and gets its DNS entry) once healthy.
    const tasks: any[] = await docker.listTasks({ filters: JSON.stringify({ service: ["postgres"] }) });
    const firstHealthy = tasks.find((t) => t.Status?.ContainerStatus?.ContainerID === fresh!.container)?.Status?.Timestamp;
    const at = (iso?: string) => (iso ? new Date(iso).toISOString().slice(11, 23) : "?");
    // The last match: the first container's log also holds its init server's stop.
    const logTime = (text: string, pattern: RegExp) => [...text.split("\n")].reverse().find((l) => pattern.test(l))?.slice(11, 23) ?? "?";
    const history = tasks
      .sort((a, b) => (a.CreatedAt < b.CreatedAt ? -1 : 1))
      .slice(-4)
      .map((t) => `${String(t.Status?.ContainerStatus?.ContainerID ?? "").slice(0, 12)} ${t.DesiredState}/${t.Status?.State} at ${at(t.Status?.Timestamp)} exit ${t.Status?.ContainerStatus?.ExitCode ?? "-"} ${t.Status?.Err ?? ""}`)
      .join(" | ");
    log(`postgres tasks: ${history}`);
    const timeline = `shutdown request logged ${logTime(oldLog, /received (fast|smart|immediate) shutdown request/)}, shut down ${logTime(oldLog, /database system is shut down/)}, old container exited ${at(oldState.FinishedAt)}, new one started ${at(newState.StartedAt)}, ready to accept connections ${logTime(newLog, /ready to accept connections/)}, healthy (task running) ${at(firstHealthy)}`;
    return {
      timeline, before, records, newLog, oldLog, sameVolume: JSON.stringify(await volumes(old.container!)) === JSON.stringify(await volumes(fresh!.container)), volume: await volumes(fresh!.container) };
  };

  test("its container killed: Swarm restarts it on the same volume after crash recovery, rows intact, the backend reconnects without a redeploy", async () => {
    deployment();
    // A task failing within an update's monitor period (70 s for PostgreSQL) counts against that
    // update, and failure_action rollback undoes it: the kill waits until the tier switch's update
    // of PostgreSQL is over, so that it shows a plain restart.
    const outcome = await updateOutcome(docker, "postgres", 120_000);
    log(`kill: PostgreSQL's last update is ${outcome.state} (waited ${(outcome.afterMs / 1000).toFixed(0)} s)`);
    // `none`: no update since the service was created (the drill run alone, with -t).
    expect(["completed", "none"]).toContain(outcome.state);
    const r = await restart(async () => {
      const [task] = await runningTasks(docker, "postgres");
      await docker.getContainer(task.container!).kill({ signal: "SIGKILL" });
    });
    const { problems } = trafficProblems("PostgreSQL container killed (SIGKILL)", r.records);
    log(`kill: ${r.timeline}`);
    expect(r.sameVolume).toBe(true);
    // A kill leaves no shutdown checkpoint: the new server recovers from the WAL, on the same data.
    expect(r.newLog).toMatch(/database system was interrupted/);
    expect(await lostRows(ctx(), r.before)).toEqual([]);
    expect(await backendHealthProblems(ctx(), deployment().stack.resolved.plan!.services.backend!.replicas, 60_000)).toEqual([]);
    expect((await writeRows(ctx(), 5)).count).toBeGreaterThanOrEqual(r.before.count + 5);
    expect(problems).toEqual([]);
  });

  test("a forced update (stop-first): a graceful stop, no crash recovery, the same volume, rows intact, unavailable for less than twice the health check's timeout", async () => {
    deployment();
    // The outage is a printed figure (3.5 s on a quiet machine, 5.0 s at load 3.7). The assertion's
    // bound comes from the plan's health check, not from a literal a busy machine can reach: a
    // stop-first restart is a graceful stop, a start and the first passing check, and the plan
    // gives one check timeoutSeconds (5 s); two of those (10 s) is more than load has ever added to
    // stop + start + a 1 s interval, and less than a check interval back at 10 s costs on its own
    // (the first check runs one interval after the start; inspectProblems already holds the
    // deployed interval to the plan's). Independent of the interval on purpose, so that a plan
    // that slows its checks fails here instead of moving the bound with it.
    const health = deployment().stack.resolved.plan!.services.postgres!.health;
    const boundSeconds = 2 * health.timeoutSeconds;
    log(`forced update: the bound is 2 x the health check's timeout = ${boundSeconds} s (interval ${health.intervalSeconds} s)`);
    const r = await restart(async () => {
      const service = docker.getService(serviceId("postgres"));
      const current: any = await service.inspect();
      const spec = { ...current.Spec, TaskTemplate: { ...current.Spec.TaskTemplate, ForceUpdate: (current.Spec.TaskTemplate.ForceUpdate ?? 0) + 1 } };
      await service.update({ version: current.Version.Index, ...spec });
    });
    const { problems } = trafficProblems("PostgreSQL forced update (stop-first)", r.records, { postgresGoalSeconds: boundSeconds });
    log(`forced update: ${r.timeline}`);
    expect(r.sameVolume).toBe(true);
    expect(r.volume.length).toBeGreaterThan(0);
    // The old server's last words: a clean shutdown after it last came up (not the init server's).
    expect(r.oldLog.lastIndexOf("database system is shut down")).toBeGreaterThan(r.oldLog.lastIndexOf("ready to accept connections"));
    expect(r.newLog).toMatch(/database system was shut down at/);
    expect(r.newLog).not.toMatch(/database system was interrupted|not properly shut down|automatic recovery in progress/);
    expect(await lostRows(ctx(), r.before)).toEqual([]);
    expect(await backendHealthProblems(ctx(), deployment().stack.resolved.plan!.services.backend!.replicas, 60_000)).toEqual([]);
    expect(problems).toEqual([]);
  });

  test("the stack's own probes left no FATAL in PostgreSQL's log (here: the health check, the reconciler and the backup job; the replica and the exporter when a tier runs them)", async () => {
    deployment();
    await evidence.collect(docker);
    const all = fatals(evidence.sources(), (ip) => evidence.serviceAt(ip));
    log(`PostgreSQL FATAL lines across the drills: ${all.length} (${all.filter((f) => f.cause === "shutdown").length} ended by a shutdown, ${all.filter((f) => f.cause === "restart-window").length} during a restart, ${all.filter((f) => f.cause === "client").length} caused by the client)`);
    for (const f of all.filter((x) => x.cause !== "shutdown")) log(`  ${formatFatal(f)}`);
    expect(evidence.logs.size).toBeGreaterThanOrEqual(3);
    expect(probeFatals(all).map(formatFatal)).toEqual([]);
  });
});
