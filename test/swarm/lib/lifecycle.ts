/**
 * What a second `pulumi up` does with each resource, decided the way the Pulumi engine and the
 * docker provider decide it. Pure functions, no daemon: test/swarm/lifecycle.test.ts checks them
 * rule by rule, and engine.ts applies them. Sources (docs/rehearsal.md lists every rule):
 *
 *   SG = pulumi/pulumi pkg/resource/deploy/step_generator.go (generateSteps, the replace and protect
 *        checks), ST = pkg/resource/deploy/step.go (DeleteStep.Apply, UpdateStep.Apply),
 *   R, SEC, CFG, NET, VOL = terraform-provider-docker internal/provider/resource_docker_{service,
 *        secret,config,network,volume}.go (the schemas: ForceNew and TypeSet fields),
 *   F = resource_docker_service_funcs.go (resourceDockerServiceUpdateRefreshFunc,
 *        replicatedConsoleLogUpdater, numberedStates),
 *   SDK = terraform-plugin-sdk/v2 helper/schema (schema.go diffList: a block's ForceNew applies to
 *        its element count only; resource.go Apply: the state after a failed Update carries the new
 *        values), PD = pulumi-docker provider/resources.go (DeleteBeforeReplace only on
 *        docker_container).
 */

export type ResourceKind = "network" | "volume" | "secret" | "config" | "service";

/** What the engine does with a resource registered again. */
export type StepOp = "create" | "same" | "update" | "replace";

export interface StepDecision {
  readonly op: StepOp;
  /** Input paths whose value changed (dotted; a set-typed field is one path). */
  readonly changed: readonly string[];
  /** The changed paths that force a replacement (ForceNew). */
  readonly replaceBecause: readonly string[];
}

/**
 * docker_service fields of TypeSet (R): Terraform compares them as sets, so their order never
 * makes a diff. Each is one path here, compared as a sorted list.
 */
export const SERVICE_SET_PATHS: readonly string[] = [
  "labels",
  "taskSpec.containerSpec.labels",
  "taskSpec.containerSpec.mounts",
  "taskSpec.containerSpec.hosts",
  "taskSpec.containerSpec.secrets",
  "taskSpec.containerSpec.configs",
  "taskSpec.placement.constraints",
  "taskSpec.placement.prefs",
  "taskSpec.placement.platforms",
  "taskSpec.networksAdvanceds",
];

/**
 * docker_service changes that replace the service instead of updating it (R, ForceNew):
 * `name`, every `auth` field, the containerSpec's `hosts` (a ForceNew set of ForceNew fields),
 * `sysctl` (a ForceNew map) and every `networks_advanced` field (a set whose fields are all
 * ForceNew, so adding, removing or changing a network replaces). `mode` is ForceNew as a block,
 * which in the SDK applies to its element count only (SDK schema.go diffList: the count's schema
 * takes the block's ForceNew; nested fields keep their own): adding or removing the block
 * replaces, while a change of replicas, or of replicated to global, is an in-place update (and
 * Swarm refuses the latter: "service mode change is not allowed").
 */
export function serviceReplacePath(path: string): boolean {
  if (path === "name" || path === "auth" || path.startsWith("auth.")) return true;
  if (path === "mode") return true;
  if (path === "taskSpec.containerSpec.hosts" || path === "taskSpec.containerSpec.sysctl" || path.startsWith("taskSpec.containerSpec.sysctl.")) return true;
  return path === "taskSpec.networksAdvanceds";
}

/** Terraform treats an unset value and an empty one alike: no diff between absent, null, "", [] and {}. */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === "") return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.values(v as object).every(isEmpty);
  return false;
}

/** JSON with object keys sorted, so equal values print equally. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .filter((k) => !isEmpty((v as Record<string, unknown>)[k]))
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/**
 * Flattens inputs to leaf paths. Lists are indexed (`args[3]`), except the set-typed paths, which
 * are one leaf holding the sorted elements. The `mode` block is one leaf for its presence plus its
 * fields, so its count can be told apart from what is inside it.
 */
export function flatten(value: unknown, setPaths: readonly string[] = [], prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (v: unknown, path: string) => {
    if (isEmpty(v)) return;
    if (setPaths.includes(path)) {
      const items = (Array.isArray(v) ? v : Object.entries(v as object).map(([k, x]) => ({ [k]: x }))).map(canonical).sort();
      out.set(path, `[${items.join(",")}]`);
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => visit(item, `${path}[${i}]`));
      return;
    }
    if (typeof v === "object") {
      for (const [k, x] of Object.entries(v as object)) visit(x, path ? `${path}.${k}` : k);
      return;
    }
    out.set(path, JSON.stringify(v));
  };
  visit(value, prefix);
  return out;
}

/** The top of a leaf path that a rule is written for: `taskSpec.containerSpec.args[3]` -> `taskSpec.containerSpec.args`. */
function fieldOf(path: string): string {
  return path.replace(/\[\d+\].*$/, "");
}

/** Input paths that differ between two registrations, with `ignoreChanges` paths (and what is under them) left out. */
export function changedPaths(kind: ResourceKind | undefined, oldInputs: Record<string, unknown>, newInputs: Record<string, unknown>, ignoreChanges: readonly string[] = []): string[] {
  const sets = kind === "service" ? SERVICE_SET_PATHS : [];
  const a = flatten(oldInputs, sets);
  const b = flatten(newInputs, sets);
  const changed = new Set<string>();
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(key) === b.get(key)) continue;
    if (ignoreChanges.some((i) => key === i || key.startsWith(`${i}.`) || key.startsWith(`${i}[`))) continue;
    changed.add(key);
  }
  // The mode block appearing or disappearing (its count), as opposed to a change inside it.
  if (kind === "service" && isEmpty(oldInputs.mode) !== isEmpty(newInputs.mode)) changed.add("mode");
  return [...changed].sort();
}

/**
 * The step for a resource registered again, given its last inputs:
 * - services: `update` in place unless a ForceNew path changed (serviceReplacePath);
 * - secrets, configs, networks and volumes: every field of their schemas is ForceNew (SEC, CFG,
 *   NET, VOL), so any change replaces;
 * - `random` passwords: every argument forces a new value (the random provider's RequiresReplace);
 * - anything else (the mocked AWS resources, providers, components): updated in place.
 */
export function decideStep(type: string, kind: ResourceKind | undefined, oldInputs: Record<string, unknown>, newInputs: Record<string, unknown>, ignoreChanges: readonly string[] = []): StepDecision {
  const changed = changedPaths(kind, oldInputs, newInputs, ignoreChanges);
  if (changed.length === 0) return { op: "same", changed, replaceBecause: [] };
  let replaceBecause: string[];
  if (kind === "service") replaceBecause = changed.filter((p) => serviceReplacePath(fieldOf(p)) || serviceReplacePath(p));
  else if (kind !== undefined || type.startsWith("random:")) replaceBecause = changed;
  else replaceBecause = [];
  return { op: replaceBecause.length > 0 ? "replace" : "update", changed, replaceBecause };
}

/** SG: a replacement of a resource protected in the state and in the program fails the run with this message. */
export function protectedReplaceMessage(urn: string): string {
  return `unable to replace resource "${urn}"\nas it is currently marked for protection. To unprotect the resource, remove the \`protect\` flag from the resource in your Pulumi program and run \`pulumi up\``;
}

/** ST DeleteStep.Apply: a protected resource the program no longer registers is not deleted; the run fails. */
export function protectedDeleteMessage(urn: string): string {
  return `unable to delete resource "${urn}"\nas it is currently marked for protection. To unprotect the resource, either remove the \`protect\` flag from the resource in your Pulumi program or use the command:\n\`pulumi state unprotect ${urn}\``;
}

export interface StateEntryLike {
  readonly urn: string;
  readonly seq: number;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
}

export type DeletePlan<T extends StateEntryLike> = { readonly entry: T; readonly action: "delete" | "forget" | "refuse"; readonly message?: string };

/**
 * The deletions at the end of a successful run: the old objects of replaced resources (their
 * replacements exist and the dependents have moved) and the resources this run no longer
 * registered, newest first (the reverse of creation, which is a dependency order). A protected
 * one is refused (ST DeleteStep.Apply); one with retainOnDelete leaves the state but stays in
 * Docker.
 */
export function planDeletes<T extends StateEntryLike>(condemned: readonly T[], unregistered: readonly T[]): DeletePlan<T>[] {
  const all = [...condemned.map((e) => ({ e, replaced: true })), ...unregistered.map((e) => ({ e, replaced: false }))].sort((x, y) => y.e.seq - x.e.seq);
  return all.map(({ e, replaced }) => {
    // The old copy of a replaced resource goes even if protected: its replacement already passed the protect check (SG).
    if (!replaced && e.protect) return { entry: e, action: "refuse", message: protectedDeleteMessage(e.urn) };
    if (e.retainOnDelete) return { entry: e, action: "forget" };
    return { entry: e, action: "delete" };
  });
}

// ---------------------------------------------------------------------------------------------
// The provider's converge wait after ServiceUpdate (F resourceDockerServiceUpdateRefreshFunc).

/** F numberedStates: task states in the order Swarm's state machine passes them. */
export const NUMBERED_STATES: Readonly<Record<string, number>> = {
  new: 1,
  allocated: 2,
  pending: 3,
  assigned: 4,
  accepted: 5,
  preparing: 6,
  ready: 7,
  starting: 8,
  running: 9,
  complete: 10,
  shutdown: 11,
  failed: 12,
  rejected: 13,
};

export interface TaskLike {
  readonly Slot?: number;
  readonly NodeID?: string;
  readonly DesiredState?: string;
  readonly Status?: { readonly State?: string };
}

/**
 * F replicatedConsoleLogUpdater.tasksBySlot: one task per slot, on an active node; where a slot has
 * several tasks the one with the lowest desired state wins, and between equal desired states the
 * lower observed state (a start-first update briefly runs two tasks in a slot).
 */
export function tasksBySlot<T extends TaskLike>(tasks: readonly T[], activeNodes: ReadonlySet<string>): Map<number, T> {
  const bySlot = new Map<number, T>();
  const n = (s: string | undefined) => NUMBERED_STATES[s ?? ""] ?? 0;
  for (const task of tasks) {
    if (n(task.DesiredState) === 0 || n(task.Status?.State) === 0) continue;
    const existing = bySlot.get(task.Slot ?? 0);
    if (existing) {
      if (n(existing.DesiredState) < n(task.DesiredState)) continue;
      if (n(existing.DesiredState) === n(task.DesiredState) && n(existing.Status?.State) <= n(task.Status?.State)) continue;
    }
    if (task.NodeID && !activeNodes.has(task.NodeID)) continue;
    bySlot.set(task.Slot ?? 0, task);
  }
  return bySlot;
}

/** F replicatedConsoleLogUpdater.update: the number of slots whose task runs, against the replica count. */
export function runningReplicas(replicas: number | undefined, tasks: readonly TaskLike[], activeNodes: ReadonlySet<string>): { running: number; replicas: number } {
  if (replicas === undefined) throw new Error("no replica count");
  let running = 0;
  for (const task of tasksBySlot(tasks, activeNodes).values()) {
    if ((NUMBERED_STATES[task.DesiredState ?? ""] ?? 0) <= NUMBERED_STATES.running && task.Status?.State === "running") running++;
  }
  return { running, replicas };
}

export type UpdateRefresh = { readonly state: "completed" | "updating" } | { readonly error: string };

/**
 * One refresh of the provider's wait after ServiceUpdate (F resourceDockerServiceUpdateRefreshFunc):
 * UpdateStatus.State `completed` is success; `rollback_completed`, `paused` and `rollback_paused`
 * are failures carrying Swarm's message; `rollback_started` counts the tasks as a rollback, and a
 * rollback whose tasks all run is a failure too. No UpdateStatus (Swarm resets it on every
 * ServiceUpdate and starts no rollout when no task is dirty, e.g. a replicas-only change): the
 * running tasks are counted against the replicas. `tasks` are the service's tasks with desired state
 * running, as the provider lists them.
 */
export function updateRefresh(service: { Spec?: { Mode?: { Replicated?: { Replicas?: number } } }; UpdateStatus?: { State?: string; Message?: string } }, tasks: readonly TaskLike[], activeNodes: ReadonlySet<string>): UpdateRefresh {
  let rollback = false;
  const status = service.UpdateStatus;
  if (status) {
    switch (status.State) {
      case "updating":
        rollback = false;
        break;
      case "completed":
        return { state: "completed" };
      case "rollback_started":
        rollback = true;
        break;
      case "rollback_completed":
        return { error: `service rollback completed: ${status.Message ?? ""}` };
      case "paused":
        return { error: `service update paused: ${status.Message ?? ""}` };
      case "rollback_paused":
        return { error: `service rollback paused: ${status.Message ?? ""}` };
    }
  }
  const { running, replicas } = runningReplicas(service.Spec?.Mode?.Replicated?.Replicas, tasks, activeNodes);
  if (running === replicas) return rollback ? { error: `service rollback completed: ${status?.Message ?? ""}` } : { state: "completed" };
  return { state: "updating" };
}

/**
 * The terraform SDK's retry.StateChangeConf waits between refreshes: 100 ms doubled after each
 * pending refresh, never below MinTimeout (5 s for both converge waits) nor above 10 s.
 */
export function nextRefreshWaitMs(previousMs: number, minTimeoutMs = 5000): number {
  return Math.min(Math.max(previousMs * 2, minTimeoutMs), 10_000);
}

// ---------------------------------------------------------------------------------------------
// The `import` resource option (ST ImportStep.Apply), for docker.Volume (VOL).

/** ST ImportStep.Apply: the provider's Read found nothing under the import ID. */
export function importMissingMessage(id: string): string {
  return `resource '${id}' does not exist`;
}

/** ST ImportStep.Apply: the program's inputs differ from what was read (Go's %v of the changed keys). */
export function importMismatchMessage(keys: readonly string[]): string {
  return `inputs to import do not match the existing resource: [${keys.join(" ")}]`;
}

/**
 * VOL resourceDockerVolumeRead: the inputs a docker_volume's state holds, from the Engine's volume
 * inspect: name, driver, driver_opts and labels (a set of {label, value}).
 */
export function readVolumeInputs(inspect: { Name: string; Driver?: string; Options?: Record<string, string> | null; Labels?: Record<string, string> | null }): Record<string, unknown> {
  return {
    name: inspect.Name,
    driver: inspect.Driver ?? "local",
    driverOpts: { ...(inspect.Options ?? {}) },
    labels: Object.entries(inspect.Labels ?? {})
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([label, value]) => ({ label, value })),
  };
}

/** VOL: `name` and `driver` are Optional+Computed, so a program that leaves them unset takes what was read without a diff. */
const VOLUME_COMPUTED: readonly string[] = ["name", "driver"];

/**
 * The import's check (ST ImportStep.Apply): the ignored properties take the values read
 * (processIgnoreChanges), then the program's inputs are diffed against the read inputs. Returns
 * the changed top-level keys (any one fails the import) and the inputs the state keeps.
 */
export function importMismatch(kind: ResourceKind, read: Record<string, unknown>, inputs: Record<string, unknown>, ignoreChanges: readonly string[] = []): { keys: string[]; processed: Record<string, unknown> } {
  const processed: Record<string, unknown> = { ...inputs };
  for (const path of ignoreChanges) {
    if (path.includes(".") || path.includes("[")) throw new Error(`ignoreChanges path "${path}": only top-level keys are implemented for imports`);
    if (path in read) processed[path] = read[path];
    else delete processed[path];
  }
  if (kind === "volume") for (const key of VOLUME_COMPUTED) if (isEmpty(processed[key]) && key in read) processed[key] = read[key];
  const keys = [...new Set(changedPaths(kind, read, processed).map((p) => p.split(/[.[]/)[0]))].sort();
  return { keys, processed };
}
