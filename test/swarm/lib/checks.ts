/**
 * What the rehearsal checks on the real Swarm, as functions that return problems, one line each
 * naming the service: an empty list passes. The expectations come from the plan (resolveStack
 * with the same config), never from the inputs the program sent, so a component that maps the
 * plan wrongly shows up here.
 */
import type Docker from "dockerode";
import type { Plan, UpdatePlan } from "../../../model";
import { cpusToNanoCpus, mibToBytes } from "../../../model/units";
import type { Json } from "./providerMapping";
import type { Deployment } from "./rehearsal";
import { containerLogs, ExecResult } from "./exec";
import { normaliseSetting } from "../../support/pgValues";

/** The slice of the plan one Swarm service is built from. */
export interface PlannedService {
  readonly dockerName: string;
  readonly global: boolean;
  readonly replicas: number;
  readonly cpuLimit: number;
  readonly memoryLimitMiB: number;
  readonly cpuReservation: number;
  readonly memoryReservationMiB: number;
  readonly stopGraceSeconds: number;
  readonly endpointMode: string;
  readonly update: UpdatePlan;
  readonly rollback: UpdatePlan;
  readonly restart: { condition: string; delaySeconds: number; maxAttempts: number; windowSeconds: number };
  readonly health: { intervalSeconds: number; timeoutSeconds: number; retries: number; startPeriodSeconds: number };
  readonly placement: { constraints: readonly string[]; spreadByLabels: readonly string[] };
}

/** Every service the plan decides, by Docker service name (a row's name is its Docker name). */
export function plannedServices(plan: Plan): Map<string, PlannedService> {
  const out = new Map<string, PlannedService>();
  for (const s of Object.values(plan.services)) {
    if (s) out.set(s.name, { ...s, dockerName: s.name });
  }
  return out;
}

const ns = (seconds: number) => seconds * 1e9;

/** `docker service inspect` against the plan: limits, reservations, update/rollback, restart, placement, health, stop grace, endpoint mode. */
export function inspectProblems(dockerName: string, spec: any, planned: PlannedService): string[] {
  const problems: string[] = [];
  const expect = (field: string, actual: unknown, wanted: unknown) => {
    if (JSON.stringify(actual) !== JSON.stringify(wanted)) problems.push(`${dockerName}: ${field} is ${JSON.stringify(actual)}, the plan says ${JSON.stringify(wanted)}`);
  };
  const task = spec.TaskTemplate ?? {};
  const c = task.ContainerSpec ?? {};
  if (planned.global) expect("Mode", spec.Mode, { Global: {} });
  else expect("Mode.Replicated.Replicas", spec.Mode?.Replicated?.Replicas, planned.replicas);
  expect("Resources.Limits.NanoCPUs", task.Resources?.Limits?.NanoCPUs, cpusToNanoCpus(planned.cpuLimit));
  expect("Resources.Limits.MemoryBytes", task.Resources?.Limits?.MemoryBytes, mibToBytes(planned.memoryLimitMiB));
  expect("Resources.Reservations.NanoCPUs", task.Resources?.Reservations?.NanoCPUs, cpusToNanoCpus(planned.cpuReservation));
  expect("Resources.Reservations.MemoryBytes", task.Resources?.Reservations?.MemoryBytes, mibToBytes(planned.memoryReservationMiB));
  for (const [field, plan] of [["UpdateConfig", planned.update], ["RollbackConfig", planned.rollback]] as const) {
    const u = spec[field] ?? {};
    expect(`${field}.Parallelism`, u.Parallelism, plan.parallelism);
    expect(`${field}.Delay`, u.Delay ?? 0, ns(plan.delaySeconds));
    expect(`${field}.FailureAction`, u.FailureAction, plan.failureAction);
    expect(`${field}.Monitor`, u.Monitor ?? 0, ns(plan.monitorSeconds));
    expect(`${field}.MaxFailureRatio`, u.MaxFailureRatio ?? 0, plan.maxFailureRatio);
    expect(`${field}.Order`, u.Order, plan.order);
  }
  const r = task.RestartPolicy ?? {};
  expect("RestartPolicy.Condition", r.Condition, planned.restart.condition);
  expect("RestartPolicy.Delay", r.Delay ?? 0, ns(planned.restart.delaySeconds));
  expect("RestartPolicy.MaxAttempts", r.MaxAttempts ?? 0, planned.restart.maxAttempts);
  expect("RestartPolicy.Window", r.Window ?? 0, ns(planned.restart.windowSeconds));
  expect("Placement.Constraints", [...(task.Placement?.Constraints ?? [])].sort(), [...planned.placement.constraints].sort());
  expect(
    "Placement.Preferences",
    (task.Placement?.Preferences ?? []).map((p: any) => p.Spread?.SpreadDescriptor),
    [...planned.placement.spreadByLabels],
  );
  const h = c.Healthcheck ?? {};
  if (!Array.isArray(h.Test) || h.Test.length < 2) problems.push(`${dockerName}: no health check command (Healthcheck.Test ${JSON.stringify(h.Test)})`);
  expect("Healthcheck.Interval", h.Interval ?? 0, ns(planned.health.intervalSeconds));
  expect("Healthcheck.Timeout", h.Timeout ?? 0, ns(planned.health.timeoutSeconds));
  expect("Healthcheck.Retries", h.Retries ?? 0, planned.health.retries);
  expect("Healthcheck.StartPeriod", h.StartPeriod ?? 0, ns(planned.health.startPeriodSeconds));
  expect("StopGracePeriod", c.StopGracePeriod ?? 0, ns(planned.stopGraceSeconds));
  expect("EndpointSpec.Mode", spec.EndpointSpec?.Mode ?? "vip", planned.endpointMode);
  return problems;
}

/** Volume names a mount source can stand for: Swarm expands {{.Task.Slot}} per task (1..replicas). */
export function expandMountSource(source: string, replicas: number): string[] {
  if (!source.includes("{{")) return [source];
  return Array.from({ length: replicas }, (_, i) => source.replace(/\{\{\s*\.Task\.Slot\s*\}\}/g, String(i + 1)));
}

/**
 * What Swarm stores must do what the plan means (issue 12, spec acceptance):
 * - every placement preference is a label descriptor the scheduler uses (`node.labels.` or
 *   `engine.labels.`; swarmkit's spread filter skips anything else);
 * - every service has a non-zero StopGracePeriod;
 * - every volume mount source is a Volume resource of the stack.
 */
export function storedSpecProblems(services: readonly { dockerName: string; spec: any }[], declaredVolumes: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const { dockerName, spec } of services) {
    const task = spec.TaskTemplate ?? {};
    for (const p of task.Placement?.Preferences ?? []) {
      const d: string = p.Spread?.SpreadDescriptor ?? "";
      if (!d.startsWith("node.labels.") && !d.startsWith("engine.labels.")) {
        problems.push(`${dockerName}: placement preference "${d}" is no label descriptor (Swarm's scheduler skips it; it must start with node.labels.)`);
      }
    }
    const grace = task.ContainerSpec?.StopGracePeriod ?? 0;
    if (!(grace > 0)) problems.push(`${dockerName}: StopGracePeriod is ${grace}: Swarm kills the task right after its stop signal`);
    const replicas = spec.Mode?.Replicated?.Replicas ?? 1;
    for (const m of task.ContainerSpec?.Mounts ?? []) {
      if (m.Type !== "volume") continue;
      for (const name of expandMountSource(m.Source ?? "", replicas)) {
        if (!declaredVolumes.has(name)) problems.push(`${dockerName}: mounts volume "${name}" at ${m.Target}, which is no Volume resource of the stack (Docker creates it implicitly, untracked, on whichever node the task lands)`);
      }
    }
  }
  return problems;
}

export interface ServiceState {
  readonly dockerName: string;
  readonly expected: number;
  readonly running: number;
  readonly failedTasks: number;
  readonly runningTaskIds: readonly string[];
  readonly lastError: string;
  readonly lastContainer?: string;
  /** The first task that ended: its state and error, and its last log lines. */
  readonly firstError: string;
}

/** Tasks of one service: how many are running (healthy, when it has a health check), how many failed so far. */
export async function serviceState(docker: Docker, id: string, dockerName: string, expected: number): Promise<ServiceState> {
  const tasks: any[] = await docker.listTasks({ filters: JSON.stringify({ service: [id] }) });
  const running = tasks.filter((t) => t.DesiredState === "running" && t.Status?.State === "running");
  // A long-running service's task that ended at all (failed, rejected, or exited) is a restart.
  const failed = tasks.filter((t) => ["failed", "rejected", "complete"].includes(t.Status?.State) || (t.Status?.State === "shutdown" && t.Status?.ContainerStatus?.ExitCode));
  const newestFirst = [...tasks].sort((a, b) => (a.UpdatedAt < b.UpdatedAt ? 1 : -1));
  // The task to explain: the newest that failed, else the newest not running (pending, starting).
  const latest = newestFirst.find((t) => failed.includes(t)) ?? newestFirst.find((t) => t.Status?.State !== "running");
  // Logs and health checks come from the newest task that has a container.
  const withContainer = newestFirst.find((t) => t.Status?.State !== "running" && t.Status?.ContainerStatus?.ContainerID);
  const first = [...failed].sort((a, b) => (a.CreatedAt < b.CreatedAt ? -1 : 1))[0];
  let firstError = "";
  if (first) {
    const container = first.Status?.ContainerStatus?.ContainerID;
    const logs = container ? await containerLogs(docker, container, 4) : "";
    firstError = `${first.Status?.State}: ${first.Status?.Err ?? first.Status?.Message ?? ""}${logs ? `; its last log lines: ${logs.split("\n").join(" | ")}` : ""}`;
  }
  return {
    firstError,
    dockerName,
    expected,
    running: running.length,
    failedTasks: failed.length,
    runningTaskIds: running.map((t) => t.ID).sort(),
    lastError: latest ? `${latest.Status?.State}: ${latest.Status?.Err ?? latest.Status?.Message ?? ""}`.trim() : "",
    lastContainer: withContainer?.Status?.ContainerStatus?.ContainerID,
  };
}

/**
 * Waits until every listed service runs its expected tasks (a task with a health check reports
 * running only once healthy), then watches them for `stableMs` more: the same tasks must still be
 * running and no new task may have failed (a restart loop). Returns problems naming services,
 * with the last task error and log lines.
 */
export async function convergenceProblems(
  docker: Docker,
  services: readonly { id: string; dockerName: string; expected: number }[],
  options: { readonly timeoutMs: number; readonly stableMs: number; readonly log?: (line: string) => void },
): Promise<{ problems: string[]; states: ServiceState[]; convergedAfterMs: number }> {
  const started = Date.now();
  let states: ServiceState[] = [];
  const readyAt = new Map<string, number>();
  for (;;) {
    states = await Promise.all(services.map((s) => serviceState(docker, s.id, s.dockerName, s.expected)));
    for (const s of states) if (s.running >= s.expected && !readyAt.has(s.dockerName)) readyAt.set(s.dockerName, Date.now() - started);
    if (states.every((s) => s.running >= s.expected)) break;
    if (Date.now() - started > options.timeoutMs) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const convergedAfterMs = Date.now() - started;
  options.log?.(
    `ready after: ${states.map((s) => `${s.dockerName} ${readyAt.has(s.dockerName) ? `${Math.round(readyAt.get(s.dockerName)! / 1000)} s` : "never"}${s.failedTasks ? ` (${s.failedTasks} failed task(s) first: ${s.lastError})` : ""}`).join(", ")}`,
  );
  const problems: string[] = [];
  const describe = async (s: ServiceState) => {
    const logs = s.lastContainer ? await containerLogs(docker, s.lastContainer, 8) : "";
    const health = s.lastContainer ? await lastHealthCheck(docker, s.lastContainer) : "";
    return `${s.lastError ? ` Last task: ${s.lastError}.` : ""}${health ? ` ${health}.` : ""}${logs ? ` Last log lines:\n    ${logs.split("\n").join("\n    ")}` : ""}`;
  };
  for (const s of states.filter((x) => x.running < x.expected)) {
    problems.push(`${s.dockerName}: ${s.running} of ${s.expected} task(s) running and healthy after ${Math.round(options.timeoutMs / 1000)} s (${s.failedTasks} failed so far).${await describe(s)}`);
  }
  if (problems.length > 0) return { problems, states, convergedAfterMs };
  options.log?.(`converged after ${(convergedAfterMs / 1000).toFixed(1)} s; watching ${options.stableMs / 1000} s for restarts`);
  await new Promise((r) => setTimeout(r, options.stableMs));
  const after = await Promise.all(services.map((s) => serviceState(docker, s.id, s.dockerName, s.expected)));
  for (const [i, s] of after.entries()) {
    const before = states[i];
    if (s.failedTasks > before.failedTasks || JSON.stringify(s.runningTaskIds) !== JSON.stringify(before.runningTaskIds)) {
      problems.push(`${s.dockerName}: restarted while being watched (${before.failedTasks} -> ${s.failedTasks} failed tasks; running tasks changed).${await describe(s)}`);
    }
  }
  return { problems, states: after, convergedAfterMs };
}

/** The container's health check command and its last result, when it has one. */
export async function lastHealthCheck(docker: Docker, containerId: string): Promise<string> {
  try {
    const info: any = await docker.getContainer(containerId).inspect();
    const test = info.Config?.Healthcheck?.Test;
    const log = info.State?.Health?.Log ?? [];
    if (!test || log.length === 0) return "";
    const last = log[log.length - 1];
    return `Its health check ${JSON.stringify(test)} last exited ${last.ExitCode}${last.Output?.trim() ? ` saying "${last.Output.trim().slice(0, 300)}"` : ""} (${info.State.Health.FailingStreak} failing in a row)`;
  } catch {
    return "";
  }
}

/**
 * Host paths the stack bind-mounts that this machine does not have, so the engine refuses the
 * mount before it looks for the image. Each is a fact of the rehearsal machine, not of the stack:
 * on a Docker host with udev both exist.
 */
export const ABSENT_HOST_PATHS: Readonly<Record<string, string>> = {
  "/var/run/docker.sock": "the rehearsal's dockerd listens on its own socket and leaves the host's /var/run alone",
  "/dev/disk": "this VM has no udev, so no /dev/disk",
  // cAdvisor's layer metadata bind (components/monitoring.ts): the rehearsal's dockerd keeps its data
  // root in its own temporary folder, and no daemon has ever used the host's /var/lib/docker.
  "/var/lib/docker/image": "the rehearsal's dockerd has its own data root, so the host has no /var/lib/docker",
};

/**
 * Services the stack creates that have no stand-in image: their tasks must fail for the missing
 * image only, or for a bind source listed in ABSENT_HOST_PATHS (the engine checks mounts first).
 */
export async function missingImageProblems(docker: Docker, d: Deployment, names: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const name of names) {
    const o = d.objects.find((x) => x.kind === "service" && x.dockerName === name);
    if (!o) {
      problems.push(`${name}: the program created no such service`);
      continue;
    }
    const image = o.inputs.taskSpec?.containerSpec?.image;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const tasks: any[] = await docker.listTasks({ filters: JSON.stringify({ service: [o.id] }) });
      const errors = tasks.map((t) => t.Status?.Err).filter(Boolean);
      if (errors.length > 0) {
        const absent = (e: string) => Object.keys(ABSENT_HOST_PATHS).some((p) => e === `invalid mount config for type "bind": bind source path does not exist: ${p}`);
        const other = errors.filter((e: string) => e !== `No such image: ${image}` && !absent(e));
        if (other.length > 0) problems.push(`${name}: task failed with "${other[0]}", not only the missing image ${image}`);
        break;
      }
      if (Date.now() > deadline) {
        problems.push(`${name}: no task reported the missing image ${image} within 60 s (tasks: ${tasks.map((t) => t.Status?.State).join(", ")})`);
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  return problems;
}

export interface SettingRow {
  readonly name: string;
  readonly unit: string | null;
  readonly vartype: string;
  readonly source: string;
  readonly shown: string;
}

const FILE_LOCATIONS: ReadonlySet<string> = new Set(["config_file", "hba_file", "ident_file", "data_directory"]);

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Every setting of the plan against PostgreSQL's `SHOW` (normalised as PostgreSQL reads it), and
 * each one from the -c arguments. `probe` runs a shell script inside the Swarm.
 */
export async function postgresSettingProblems(probe: (script: string) => Promise<ExecResult>, superuserFile: string, database: string, settings: Readonly<Record<string, string>>): Promise<string[]> {
  const names = Object.keys(settings);
  const out = await probe(
    `PGPASSWORD="$(cat ${superuserFile})" psql -h postgres -U postgres -d ${sh(database)} -At -F '|' -v ON_ERROR_STOP=1 -c ${sh(
      `SELECT name, coalesce(unit, ''), vartype, source, current_setting(name) FROM pg_settings WHERE name IN (${names.map((n) => `'${n}'`).join(",")})`,
    )}`,
  );
  if (out.exitCode !== 0 || out.stderr) return [`postgres: psql failed (${out.exitCode}): ${out.stderr.trim()}`];
  const rows = new Map(
    out.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("|"))
      .map(([name, unit, vartype, source, shown]) => [name, { name, unit: unit || null, vartype, source, shown } as SettingRow]),
  );
  return names.flatMap((name) => {
    const row = rows.get(name);
    if (!row) return [`postgres: ${name} is not a setting PostgreSQL knows`];
    const wanted = normaliseSetting(settings[name], row);
    const shown = normaliseSetting(row.shown, row);
    const issues: string[] = [];
    if (wanted !== shown) issues.push(`postgres: SHOW ${name} = ${row.shown}, the plan says ${settings[name]}`);
    // PostgreSQL records the file locations it reads at start-up (hba_file, ...) as "override", even from -c.
    const fromArgs = row.source === "command line" || (FILE_LOCATIONS.has(name) && row.source === "override");
    if (!fromArgs) issues.push(`postgres: ${name} comes from "${row.source}", not the -c arguments`);
    return issues;
  });
}

/** Where the stored object differs from what was sent (only the keys that were sent). */
export function sentButNotStored(sent: Json, stored: unknown, path = ""): string[] {
  if (sent === null || typeof sent !== "object") {
    return JSON.stringify(sent) === JSON.stringify(stored) ? [] : [`${path || "."}: sent ${JSON.stringify(sent)}, stored ${JSON.stringify(stored)}`];
  }
  if (Array.isArray(sent)) {
    if (!Array.isArray(stored) || stored.length !== sent.length) return [`${path}: sent ${sent.length} item(s), stored ${JSON.stringify(stored)}`];
    return sent.flatMap((item, i) => sentButNotStored(item, stored[i], `${path}[${i}]`));
  }
  const obj = (stored ?? {}) as Record<string, unknown>;
  return Object.entries(sent).flatMap(([k, v]) => sentButNotStored(v, obj[k], path ? `${path}.${k}` : k));
}


/**
 * Every node label a service's placement names must exist on some node: a constraint
 * `node.labels.K==V` needs a node labelled K=V (or the task never runs), a spread preference
 * `node.labels.K` needs nodes labelled K (or it spreads nothing). `nodes` are the labels of the
 * real nodes (a deploy) or of the plan's inventory (spec acceptance).
 */
export function labelProblems(services: readonly { dockerName: string; spec: any }[], nodes: readonly Readonly<Record<string, string>>[]): string[] {
  const problems: string[] = [];
  for (const { dockerName, spec } of services) {
    const placement = spec.TaskTemplate?.Placement ?? {};
    for (const c of placement.Constraints ?? []) {
      const m = /^node\.labels\.([^=!]+?)\s*(==|!=)\s*(.+)$/.exec(c);
      if (!m) continue;
      const [, key, op, value] = m;
      const ok = op === "==" ? nodes.some((n) => n[key] === value) : nodes.some((n) => n[key] !== value);
      if (!ok) problems.push(`${dockerName}: placement constraint "${c}" matches no node (node labels: ${JSON.stringify(nodes)})`);
    }
    for (const p of placement.Preferences ?? []) {
      const d: string = p.Spread?.SpreadDescriptor ?? "";
      if (!d.startsWith("node.labels.")) continue;
      const key = d.slice("node.labels.".length);
      if (!nodes.some((n) => key in n)) problems.push(`${dockerName}: spreads over "${d}", a label no node has (node labels: ${JSON.stringify(nodes)})`);
    }
  }
  return problems;
}
