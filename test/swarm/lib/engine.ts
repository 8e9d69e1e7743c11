/**
 * Plays `pulumi up` for the rehearsal: runs the real program (index.ts) under Pulumi's mock
 * runtime, and for every docker resource it registers creates, updates, replaces or keeps the real
 * object on a real Docker Engine through dockerode, in the order the SDK registers them. The
 * mock's newResource is async: it returns only once the object exists (and, with convergeConfig,
 * has converged), with its real ID and name as the resource's state, so every later input that
 * depends on it (a service's secretId, a network id) carries the real ID, and the SDK holds back
 * each resource until its dependencies (inputs and dependsOn) have been registered, as the engine
 * would.
 *
 * A second run against the same EngineState is a second `pulumi up`: the state is keyed by URN,
 * and each resource registered again is compared with its last inputs (lifecycle.ts decideStep):
 * unchanged resources keep their ID and state, a changed service is updated in place with
 * ServiceUpdate (or replaced for the provider's ForceNew fields), a changed secret or config is
 * created anew beside the old one, whose deletion waits for the end of the run, protected
 * resources are never replaced or deleted, and resources the program no longer registers are
 * deleted, newest first. docs/rehearsal.md lists each rule with its source.
 *
 * What stays mocked: random passwords (real random values, kept across runs while their inputs
 * stay the same, so the stack really authenticates), AWS resources (the bucket name and the
 * writer's access key come from the rehearsal's fixtures, which s3rver accepts), and the
 * provider's registry look-ups.
 */
import { randomBytes, randomInt } from "crypto";
import { execFileSync } from "child_process";
import type Docker from "dockerode";
import type * as PulumiModule from "@pulumi/pulumi";
import { SECRET_SIG, unwrapSecrets } from "../../../scripts/lib/mockProgram";
import { decideStep, importMismatch, importMismatchMessage, importMissingMessage, nextRefreshWaitMs, planDeletes, protectedReplaceMessage, readVolumeInputs, runningReplicas, StepDecision, updateRefresh } from "./lifecycle";
import { configSpec, convergeConfig, Json, networkSpec, secretSpec, serviceSpec, volumeSpec } from "./providerMapping";

const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
const secret = (value: unknown) => ({ [SECRET_SIG]: SECRET_VALUE, value });

export type DockerKind = "network" | "volume" | "secret" | "config" | "service";

const DOCKER_TYPES: Record<string, DockerKind> = {
  "docker:index/network:Network": "network",
  "docker:index/volume:Volume": "volume",
  "docker:index/secret:Secret": "secret",
  "docker:index/serviceConfig:ServiceConfig": "config",
  "docker:index/service:Service": "service",
};

/** One object the program made the engine create. */
export interface EngineObject {
  readonly seq: number;
  readonly kind: DockerKind;
  /** Pulumi type and resource name. */
  readonly type: string;
  readonly resourceName: string;
  /** Docker's name (auto-named secrets get Pulumi's name-plus-suffix) and ID. */
  readonly dockerName: string;
  readonly id: string;
  /** Inputs as the program gave them, secret wrappers removed. */
  readonly inputs: Record<string, any>;
  /** The request body sent to the Engine API (the last ServiceUpdate's, for an updated service). */
  readonly body: { [key: string]: Json };
  /** The engine it lives on (the default provider's, or a docker.Provider's). */
  readonly docker: Docker;
  readonly providerHost?: string;
}

/** One resource of the stack's state, keyed by its URN, as `pulumi stack export` would hold it. */
export interface StateEntry {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly kind?: DockerKind;
  id: string;
  /** Inputs of the last registration, secret wrappers removed (the diff compares against these). */
  inputs: Record<string, any>;
  /** What the resource returned as its state (outputs), as the program reads it. */
  outputs: Record<string, unknown>;
  /** The Docker object, for docker resources. */
  object?: EngineObject;
  protect: boolean;
  retainOnDelete: boolean;
  /** Creation order: deletions run newest first. */
  readonly seq: number;
  /** A generated password's value (random.RandomPassword). */
  password?: string;
}

/** The stack's state across runs: pass the same one to every run of a deployment. */
export class EngineState {
  readonly entries = new Map<string, StateEntry>();
  /** Old copies of replaced resources, deleted at the end of a successful run (Pulumi's pending deletes). */
  condemned: StateEntry[] = [];
  seq = 0;

  /** The docker objects the stack holds now, in creation order. */
  objects(): EngineObject[] {
    return [...this.entries.values()].flatMap((e) => (e.object ? [e.object] : [])).sort((a, b) => a.seq - b.seq);
  }

  /** Every docker object the state still knows, pending deletes included (for teardown). */
  allObjects(): EngineObject[] {
    return [...this.objects(), ...this.condemned.flatMap((e) => (e.object ? [e.object] : []))].sort((a, b) => a.seq - b.seq);
  }
}

/** What the run did with one resource. */
export interface Step {
  readonly op: StepDecision["op"] | "import" | "delete" | "forget" | "refuse" | "skipped";
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly dockerName?: string;
  /** Changed input paths (update and replace). */
  readonly changed?: readonly string[];
  readonly startedAt: number;
  finishedAt?: number;
  error?: string;
}

export interface AwsFixtures {
  /** The bucket name the mocked aws.s3.Bucket reports (its prefix + this suffix when it has no fixed name). */
  readonly bucketSuffix: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface EngineOptions {
  /** The engine the default docker provider talks to (`docker:host`). */
  readonly docker: Docker;
  /** Engines for explicit docker.Provider resources, by their `host` input. Default: the same engine. */
  readonly dockerForHost?: (host: string) => Docker;
  readonly aws: AwsFixtures;
  /** The state of earlier runs (a re-deploy); a fresh state creates everything. */
  readonly state?: EngineState;
  /** Runs after each docker object exists (the rehearsal starts s3rver once the backup network exists). */
  readonly afterCreate?: (object: EngineObject) => Promise<void>;
  /** Rewrites a request body before it is sent: for deliberate breakage in mutation runs only. */
  readonly mutate?: (kind: DockerKind, resourceName: string, body: { [key: string]: Json }) => { [key: string]: Json };
  /**
   * Whether to play convergeConfig's wait for this service (default: always, as the provider
   * does). The rehearsal skips it where a service cannot converge here by design: services with no
   * stand-in image, and spec acceptance on a drained node. The real provider would wait there and
   * fail after the timeout.
   */
  readonly waitForConverge?: (inputs: Record<string, any>) => boolean;
  /** Engine API version the provider's client negotiated (decides `Init`). */
  readonly apiVersion?: string;
  /**
   * Config keys set with `pulumi config set --secret`: the program sees them as secrets
   * (runtime.isConfigSecret, Config.requireSecret), as under the CLI.
   */
  readonly secretKeys?: readonly string[];
  /** `pulumi up --replace <urn>`: these resources are replaced even when their inputs are unchanged. */
  readonly replace?: readonly string[];
  readonly log?: (line: string) => void;
}

export interface ProgramResult {
  /** The docker objects the stack holds after the run. */
  readonly objects: EngineObject[];
  readonly outputs: Record<string, unknown>;
  /** Every generated credential, by Pulumi resource name. */
  readonly passwords: Record<string, string>;
  /** Resources the engine refused, with Docker's message; empty when the deploy went through. */
  readonly failures: { readonly type: string; readonly resourceName: string; readonly message: string }[];
  /** The program's own error (a plan with errors throws before registering anything). */
  readonly programError?: Error;
  /** What the run did with each resource, in order. */
  readonly steps: Step[];
  readonly state: EngineState;
}

const ALPHANUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

/** bcrypt of a password with a random salt, cost 10, `$2a$` (the random provider's bcryptHash). */
function bcrypt(password: string): string {
  const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const salt = [...randomBytes(22)].map((b) => alphabet[b % 64]).join("");
  const hash = execFileSync("perl", ["-e", "print crypt($ENV{PW}, $ENV{SALT})"], { env: { PW: password, SALT: `$2a$10$${salt}` }, encoding: "utf8" });
  if (!/^\$2a\$10\$[./A-Za-z0-9]{53}$/.test(hash)) throw new Error("crypt(3) made no bcrypt hash (libxcrypt without bcrypt?)");
  return hash;
}

/** random.RandomPassword's result: `length` characters from its character classes. */
function randomPassword(inputs: Record<string, any>): string {
  const length = Number(inputs.length ?? 16);
  const alphabet = (inputs.upper === false ? "" : ALPHANUM.slice(0, 26)) + (inputs.lower === false ? "" : ALPHANUM.slice(26, 52)) + (inputs.numeric === false ? "" : ALPHANUM.slice(52)) + (inputs.special === false ? "" : (inputs.overrideSpecial ?? SPECIAL));
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** Pulumi's auto-name: the resource name, a dash and 7 random hex digits. */
export function autoName(resourceName: string): string {
  return `${resourceName}-${randomBytes(4).toString("hex").slice(0, 7)}`;
}

function dockerMessage(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string; statusCode?: number };
  return e.json?.message ?? e.message ?? String(error);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Go's time.Duration.String for whole milliseconds: 450 s -> "7m30s", 300 s -> "5m0s", 7 s -> "7s". */
export function goDurationString(ms: number): string {
  if (ms === 0) return "0s";
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sec = (ms % 60_000) / 1000;
  if (h === 0 && m === 0 && ms < 1000) return `${ms}ms`;
  return `${h > 0 ? `${h}h` : ""}${h > 0 || m > 0 ? `${m}m` : ""}${sec}s`;
}

async function activeNodes(docker: Docker): Promise<Set<string>> {
  const nodes = await docker.listNodes();
  return new Set(nodes.filter((n: any) => n.Status?.State !== "down").map((n: any) => n.ID));
}

async function runningTasks(docker: Docker, serviceId: string): Promise<any[]> {
  return docker.listTasks({ filters: JSON.stringify({ service: [serviceId], "desired-state": ["running"] }) });
}

/**
 * The provider's converge wait after ServiceCreate (F resourceDockerServiceCreate): a
 * retry.StateChangeConf with Delay = convergeConfig.delay, MinTimeout 5 s and the SDK's backoff
 * (first refresh after the delay, then waits of 5 s, then 10 s), Timeout = convergeConfig.timeout.
 * Converged when the tasks with desired state running that sit on active nodes (one per slot)
 * number the replicas and are all in state running (F replicatedConsoleLogUpdater.update); a
 * global service has no replica count, which the provider reports as an error. On timeout the
 * provider deletes the service and fails with DidNotConvergeError.
 */
export async function waitForServiceConverge(docker: Docker, serviceId: string, config: { delayMs: number; timeoutMs: number; timeoutRaw: string }): Promise<void> {
  const started = Date.now();
  await sleep(config.delayMs);
  let wait = 100;
  for (;;) {
    const service = await docker.getService(serviceId).inspect();
    const { running, replicas } = runningReplicas(service.Spec?.Mode?.Replicated?.Replicas, await runningTasks(docker, serviceId), await activeNodes(docker));
    if (running === replicas) return;
    if (Date.now() - started > config.timeoutMs) {
      throw new Error(`Service with ID (${serviceId}) did not converge after ${goDurationString(config.timeoutMs)}`);
    }
    wait = nextRefreshWaitMs(wait);
    await sleep(Math.min(wait, Math.max(0, config.timeoutMs - (Date.now() - started)) + 50));
  }
}

/** F resourceDockerServiceUpdate: the wait after ServiceUpdate starts with a fixed 7 s delay, whatever convergeConfig.delay says. */
export const UPDATE_CONVERGE_DELAY_MS = 7000;

/**
 * The provider's converge wait after ServiceUpdate (F resourceDockerServiceUpdate): Delay 7 s,
 * then refreshes as on create (lifecycle.ts updateRefresh decides each one) until `completed`,
 * an error carrying Swarm's message (rollback completed, paused, rollback paused), or the
 * timeout (DidNotConvergeError; the service is left as it is, not deleted).
 */
export async function waitForServiceUpdate(docker: Docker, serviceId: string, config: { timeoutMs: number }, onRefresh?: (state: string) => void): Promise<void> {
  const started = Date.now();
  await sleep(UPDATE_CONVERGE_DELAY_MS);
  let wait = 100;
  for (;;) {
    const service: any = await docker.getService(serviceId).inspect();
    const refresh = updateRefresh(service, await runningTasks(docker, serviceId), await activeNodes(docker));
    onRefresh?.("error" in refresh ? refresh.error : refresh.state);
    if ("error" in refresh) throw new Error(refresh.error);
    if (refresh.state === "completed") return;
    if (Date.now() - started > config.timeoutMs) throw new Error(`Service with ID (${serviceId}) did not converge after ${goDurationString(config.timeoutMs)}`);
    wait = nextRefreshWaitMs(wait);
    await sleep(Math.min(wait, Math.max(0, config.timeoutMs - (Date.now() - started)) + 50));
  }
}

/** The last 10 log lines of each failed task of a service (F deleteService). */
async function failedTaskLogs(docker: Docker, serviceId: string): Promise<string> {
  const tasks: any[] = await docker.listTasks({ filters: JSON.stringify({ service: [serviceId], "desired-state": ["shutdown"] }) });
  const out: string[] = [];
  for (const t of tasks.filter((x) => x.Status?.State === "failed" && x.Status?.ContainerStatus?.ContainerID)) {
    try {
      const buffer = (await docker.getContainer(t.Status.ContainerStatus.ContainerID).logs({ stdout: true, stderr: true, tail: 10, follow: false })) as unknown as Buffer;
      let offset = 0;
      while (offset + 8 <= buffer.length) {
        const size = buffer.readUInt32BE(offset + 4);
        out.push(buffer.subarray(offset + 8, offset + 8 + size).toString("utf8").trimEnd());
        offset += 8 + size;
      }
    } catch {
      // the container is gone
    }
  }
  return out.join("\n");
}

/** Beyond the provider's messages: what Swarm said about a service's newest tasks (a rejected task has no logs). */
async function newestTaskStates(docker: Docker, serviceId: string): Promise<string> {
  const tasks: any[] = await docker.listTasks({ filters: JSON.stringify({ service: [serviceId] }) });
  return [...tasks]
    .sort((a, b) => (a.UpdatedAt < b.UpdatedAt ? 1 : -1))
    .slice(0, 3)
    .map((t) => `${t.Status?.State}: ${t.Status?.Err ?? t.Status?.Message ?? ""}`)
    .join(" | ");
}

/**
 * The Node.js process itself, also from inside a jest sandbox (whose `process` is a copy with its
 * own listeners): Buffer is the host realm's, so its constructor is the host's Function.
 */
function hostProcess(): NodeJS.Process {
  return (Buffer.constructor as FunctionConstructor)("return process")() as NodeJS.Process;
}

/** Registration options the engine needs and the mock's newResource does not carry. */
interface Registration {
  readonly urn: string;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly ignoreChanges: readonly string[];
}

/** Thrown for a resource the run no longer changes after an earlier failure (never recorded as a failure itself). */
const SKIPPED = "not applied: the update stopped at an earlier failure";

/**
 * Runs the program once against the engine. `pulumi` must be a fresh instance of the SDK (it reads
 * config once), `loadProgram` requires index.ts in that same module registry. With
 * `options.state` from an earlier run this is a re-deploy.
 */
export async function runProgramOnEngine(
  pulumi: typeof PulumiModule,
  config: Record<string, string>,
  stack: string,
  loadProgram: () => Record<string, unknown>,
  options: EngineOptions,
): Promise<ProgramResult> {
  const log = options.log ?? (() => undefined);
  const state = options.state ?? new EngineState();
  const failures: ProgramResult["failures"][number][] = [];
  const steps: Step[] = [];
  const registered = new Set<string>();
  const providers = new Map<string, { host: string; docker: Docker }>();
  let inflight = 0;
  let lastActivity = Date.now();
  /**
   * After a refusal, resources that depend on the refused one never register, and the SDK can wait
   * for them forever. The CLI ends the update once nothing is in flight; so does this: settled
   * when a failure is recorded and no resource has been created for 10 s.
   */
  const watchers: NodeJS.Timeout[] = [];
  const settledAfterFailure = () =>
    new Promise<"settled">((resolve) => {
      const timer = setInterval(() => {
        if (failures.length > 0 && inflight === 0 && Date.now() - lastActivity > 10_000) {
          clearInterval(timer);
          resolve("settled");
        }
      }, 1000);
      watchers.push(timer);
    });

  const engineFor = (provider: string | undefined): { docker: Docker; host?: string } => {
    if (!provider) return { docker: options.docker };
    const id = provider.split("::").pop() ?? "";
    const p = providers.get(id);
    return p ? { docker: p.docker, host: p.host } : { docker: options.docker };
  };

  const waitForConverge = (inputs: Record<string, any>) => options.waitForConverge?.(inputs) ?? true;

  function bodyFor(kind: DockerKind, name: string, dockerName: string, inputs: Record<string, any>): { [key: string]: Json } {
    let body: { [key: string]: Json };
    switch (kind) {
      case "network":
        body = networkSpec(inputs);
        break;
      case "volume":
        body = volumeSpec(inputs);
        break;
      case "secret":
        body = secretSpec(inputs, dockerName);
        break;
      case "config":
        body = configSpec(inputs);
        break;
      case "service":
        body = serviceSpec(inputs, options.apiVersion ?? "1.41");
        break;
    }
    return options.mutate ? options.mutate(kind, name, body) : body;
  }

  async function createDocker(kind: DockerKind, type: string, name: string, inputs: Record<string, any>, provider: string | undefined): Promise<EngineObject> {
    const { docker, host } = engineFor(provider);
    const dockerName: string = kind === "secret" ? (inputs.name ?? autoName(name)) : inputs.name;
    const body = bodyFor(kind, name, dockerName, inputs);
    let id: string;
    switch (kind) {
      case "network":
        id = (await docker.createNetwork(body as any)).id;
        break;
      case "volume":
        id = ((await docker.createVolume(body as any)) as any).Name ?? (body.Name as string);
        break;
      case "secret":
        id = (await docker.createSecret(body)).id;
        break;
      case "config":
        id = (await docker.createConfig(body)).id;
        break;
      case "service": {
        id = (await docker.createService(body as any)).id;
        const converge = convergeConfig(inputs);
        if (converge && waitForConverge(inputs)) {
          const started = Date.now();
          try {
            await waitForServiceConverge(docker, id, converge);
            log(`service ${inputs.name} converged after ${((Date.now() - started) / 1000).toFixed(0)} s (convergeConfig timeout ${converge.timeoutRaw})`);
          } catch (error) {
            // As the provider's deleteService: the failed tasks' last log lines, then the service goes.
            const logs = await failedTaskLogs(docker, id);
            const states = await newestTaskStates(docker, id);
            await docker.getService(id).remove().catch(() => undefined);
            throw new Error(`${(error as Error).message} (service ${inputs.name}; newest tasks: ${states})${logs ? `\n\nLast task logs:\n${logs}` : ""}`);
          }
        }
        // The provider's Read: the service as Swarm stored it.
        await docker.getService(id).inspect();
        break;
      }
    }
    const object: EngineObject = { seq: ++state.seq, kind, type, resourceName: name, dockerName: kind === "volume" ? id : dockerName, id, inputs, body, docker, providerHost: host };
    log(`created ${kind} ${object.dockerName} (${name})`);
    if (options.afterCreate) await options.afterCreate(object);
    return object;
  }

  /** F resourceDockerServiceUpdate: ServiceUpdate with the version just read and the whole spec, then the converge wait. */
  async function updateService(entry: StateEntry, inputs: Record<string, any>): Promise<EngineObject> {
    const old = entry.object!;
    const body = bodyFor("service", entry.name, old.dockerName, inputs);
    const service = old.docker.getService(old.id);
    const current: any = await service.inspect();
    await service.update({ _query: { version: current.Version.Index }, _body: body } as any);
    const object: EngineObject = { ...old, inputs, body };
    // The state after a failed update carries the new inputs (SDK resource.go Apply returns
    // data.State(), and the provider never marks it partial): the next run sees no diff.
    entry.inputs = inputs;
    entry.object = object;
    entry.outputs = { ...inputs, name: old.dockerName };
    const converge = convergeConfig(inputs);
    if (converge && waitForConverge(inputs)) {
      const started = Date.now();
      try {
        await waitForServiceUpdate(old.docker, old.id, converge);
        log(`service ${old.dockerName} updated and converged after ${((Date.now() - started) / 1000).toFixed(0)} s`);
      } catch (error) {
        const states = await newestTaskStates(old.docker, old.id);
        throw new Error(`${(error as Error).message} (service ${old.dockerName}; newest tasks: ${states})`);
      }
    }
    await service.inspect();
    return object;
  }

  /** Removes a docker object as the provider's Delete does; services wait for their tasks' stop grace period. */
  async function deleteDocker(object: EngineObject): Promise<void> {
    const graceNs = Number((object.body.TaskTemplate as any)?.ContainerSpec?.StopGracePeriod ?? 0);
    const graceMs = Math.max(1000, graceNs / 1e6);
    const problems = await destroyObjects([object], log, graceMs);
    if (problems.length > 0) throw new Error(problems.join("; "));
    log(`deleted ${object.kind} ${object.dockerName} (${object.resourceName})`);
  }

  const stateOf = (kind: DockerKind, object: EngineObject, inputs: Record<string, any>): Record<string, unknown> => {
    // State: the inputs plus what the provider computes. Secret data stays out of it.
    const out: Record<string, unknown> = { ...inputs, name: object.dockerName };
    if (kind === "secret") delete out.data;
    return out;
  };

  /** `--replace <urn>` forces a replacement; otherwise the inputs decide (lifecycle.ts decideStep). */
  const decide = (urn: string, type: string, kind: DockerKind | undefined, old: StateEntry | undefined, inputs: Record<string, any>, ignoreChanges: readonly string[]): StepDecision => {
    if (!old) return { op: "create", changed: [], replaceBecause: [] };
    if (options.replace?.includes(urn)) return { op: "replace", changed: [], replaceBecause: ["--replace"] };
    return decideStep(type, kind, old.inputs, inputs, ignoreChanges);
  };

  /**
   * The `import` resource option on a resource the state does not hold yet (ST ImportStep.Apply):
   * the provider's Read by ID (missing: "resource '<id>' does not exist"), the ignored properties
   * taken from what was read, then the diff of the program's inputs against the read inputs; any
   * difference fails the run ("inputs to import do not match the existing resource"). Nothing is
   * created or changed in Docker. Only docker.Volume is implemented (the program imports nothing
   * else): any other kind throws and names it.
   */
  async function importDocker(kind: DockerKind, type: string, name: string, id: string, inputs: Record<string, any>, ignoreChanges: readonly string[], provider: string | undefined): Promise<{ object: EngineObject; inputs: Record<string, any> }> {
    if (kind !== "volume") throw new Error(`the rehearsal's engine cannot import a ${type} yet (only docker.Volume): ${name}`);
    const { docker, host } = engineFor(provider);
    let read: Record<string, any>;
    try {
      read = readVolumeInputs(await docker.getVolume(id).inspect());
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) throw new Error(importMissingMessage(id));
      throw error;
    }
    const { keys, processed } = importMismatch(kind, read, inputs, ignoreChanges);
    if (keys.length > 0) throw new Error(importMismatchMessage(keys));
    const object: EngineObject = { seq: ++state.seq, kind, type, resourceName: name, dockerName: String(read.name), id: String(read.name), inputs: processed, body: {}, docker, providerHost: host };
    log(`imported ${kind} ${object.dockerName} (${name})`);
    return { object, inputs: processed };
  }

  async function dockerStep(kind: DockerKind, args: PulumiModule.runtime.MockResourceArgs, inputs: Record<string, any>, reg: Registration, step: Step & { op: Step["op"] }): Promise<{ id: string; state: Record<string, unknown> }> {
    const old = state.entries.get(reg.urn);
    if (!old && args.id) {
      (step as { op: Step["op"] }).op = "import";
      if (failures.length > 0) throw new Error(SKIPPED);
      const imported = await importDocker(kind, args.type, args.name, args.id, inputs, reg.ignoreChanges, args.provider);
      const outputs = stateOf(kind, imported.object, imported.inputs);
      state.entries.set(reg.urn, { urn: reg.urn, type: args.type, name: args.name, kind, id: imported.object.id, inputs: imported.inputs, outputs, object: imported.object, protect: reg.protect, retainOnDelete: reg.retainOnDelete, seq: imported.object.seq });
      (step as { dockerName?: string }).dockerName = imported.object.dockerName;
      return { id: imported.object.id, state: outputs };
    }
    const decision: StepDecision = decide(reg.urn, args.type, kind, old, inputs, reg.ignoreChanges);
    (step as { op: Step["op"] }).op = decision.op;
    (step as { changed?: readonly string[] }).changed = decision.changed;
    if (old && decision.op === "same") {
      old.protect = reg.protect;
      old.retainOnDelete = reg.retainOnDelete;
      return { id: old.id, state: old.outputs };
    }
    if (failures.length > 0) throw new Error(SKIPPED);
    if (old && decision.op === "update") {
      log(`updating ${kind} ${old.object!.dockerName}: ${decision.changed.join(", ")}`);
      const object = await updateService(old, inputs);
      old.protect = reg.protect;
      old.retainOnDelete = reg.retainOnDelete;
      return { id: object.id, state: old.outputs };
    }
    if (old && decision.op === "replace") {
      // SG: a replacement of a resource protected before and now fails the run.
      if (old.protect && reg.protect) throw new Error(protectedReplaceMessage(reg.urn));
      log(`replacing ${kind} ${old.object?.dockerName} (${decision.replaceBecause.join(", ")})`);
      if (reg.deleteBeforeReplace && old.object) await deleteDocker(old.object);
      else state.condemned.push(old);
    }
    const object = await createDocker(kind, args.type, args.name, inputs, args.provider);
    const outputs = stateOf(kind, object, inputs);
    state.entries.set(reg.urn, { urn: reg.urn, type: args.type, name: args.name, kind, id: object.id, inputs, outputs, object, protect: reg.protect, retainOnDelete: reg.retainOnDelete, seq: object.seq });
    (step as { dockerName?: string }).dockerName = object.dockerName;
    return { id: object.id, state: outputs };
  }

  /** Resources without a Docker object: generated passwords, the mocked AWS resources, providers, components. */
  function otherStep(args: PulumiModule.runtime.MockResourceArgs, inputs: Record<string, any>, reg: Registration, step: Step): { id: string; state: Record<string, unknown> } {
    const old = state.entries.get(reg.urn);
    const decision: StepDecision = decide(reg.urn, args.type, undefined, old, inputs, reg.ignoreChanges);
    (step as { op: Step["op"] }).op = decision.op;
    (step as { changed?: readonly string[] }).changed = decision.changed;
    const keep = (id: string, outputs: Record<string, unknown>, password?: string) => {
      state.entries.set(reg.urn, { urn: reg.urn, type: args.type, name: args.name, id, inputs, outputs, protect: reg.protect, retainOnDelete: reg.retainOnDelete, seq: old?.seq ?? ++state.seq, password: password ?? old?.password });
      return { id, state: outputs };
    };
    if (args.type === "pulumi:providers:docker") {
      const id = `provider-${args.name}`;
      const host = String(inputs.host ?? "");
      providers.set(id, { host, docker: options.dockerForHost ? options.dockerForHost(host) : options.docker });
      return keep(id, { ...args.inputs });
    }
    if (old && decision.op === "same") return keep(old.id, old.outputs);
    const out: Record<string, unknown> = { ...args.inputs };
    switch (args.type) {
      case "random:index/randomPassword:RandomPassword": {
        const value = randomPassword(inputs);
        out.result = secret(value);
        // A real bcrypt hash, as the random provider makes (Go's bcrypt, cost 10, "$2a$"): Traefik's
        // stand-in checks the dashboard's password against it. libxcrypt's crypt(3), through perl.
        out.bcryptHash = secret(bcrypt(value));
        return keep(args.name, out, value);
      }
      case "aws:s3/bucket:Bucket":
        out.bucket = inputs.bucket ?? `${inputs.bucketPrefix ?? args.name}${options.aws.bucketSuffix}`;
        out.arn = `arn:aws:s3:::${out.bucket}`;
        return keep(String(out.bucket), out);
      case "aws:iam/user:User":
        out.arn = `arn:aws:iam::000000000000:user/${inputs.name ?? args.name}`;
        out.name = inputs.name ?? args.name;
        return keep(String(out.name), out);
      case "aws:iam/accessKey:AccessKey":
        out.secret = secret(options.aws.secretAccessKey);
        return keep(options.aws.accessKeyId, out);
      default:
        return keep(args.custom ? `${args.name}-id` : "", out);
    }
  }

  // The mock's newResource gets no URN, parent or resource options; the monitor's registration
  // request has them. Wrap registerResource to read them: the mock calls newResource synchronously
  // from it, so the registration just read is the one newResource serves.
  let current: Registration | undefined;
  const qualifiedTypes = new Map<string, string>();

  pulumi.runtime.setAllConfig(config, options.secretKeys ? [...options.secretKeys] : undefined);
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        const reg = current ?? { urn: `urn:pulumi:${stack}::advwell::${args.type}::${args.name}`, protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [] };
        current = undefined;
        inflight++;
        lastActivity = Date.now();
        try {
          return await newResource(args, reg);
        } finally {
          inflight--;
          lastActivity = Date.now();
        }
      },
      call(args) {
        if (args.token === "aws:index/getCallerIdentity:getCallerIdentity") return { accountId: "000000000000", arn: "arn:aws:iam::000000000000:user/rehearsal", userId: "AIDAREHEARSAL" };
        if (args.token === "aws:index/getRegion:getRegion") return { name: "sa-east-1", region: "sa-east-1" };
        return args.inputs;
      },
    },
    "advwell",
    stack,
    false,
  );
  const monitor = (pulumi.runtime as any).getMonitor();
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: unknown) => {
    const type: string = req.getType();
    const name: string = req.getName();
    const parent: string = req.getParent();
    // The engine's URN: the parents' types joined by "$" (the stack itself is not named), then the name.
    const parentType = parent ? qualifiedTypes.get(parent) : undefined;
    const qualifiedType = parentType && !parentType.startsWith("pulumi:pulumi:Stack") ? `${parentType}$${type}` : type;
    qualifiedTypes.set(monitor.newUrn(parent, type, name), qualifiedType);
    current = {
      urn: `urn:pulumi:${stack}::advwell::${qualifiedType}::${name}`,
      protect: req.getProtect() === true,
      retainOnDelete: req.getRetainondelete?.() === true,
      deleteBeforeReplace: req.getDeletebeforereplace?.() === true,
      ignoreChanges: req.getIgnorechangesList?.() ?? [],
    };
    return registerResource(req, callback);
  };

  async function newResource(args: PulumiModule.runtime.MockResourceArgs, reg: Registration): Promise<{ id: string; state: Record<string, unknown> }> {
    if (registered.has(reg.urn)) throw new Error(`Duplicate resource URN '${reg.urn}'; try giving it a unique name`);
    registered.add(reg.urn);
    const inputs = unwrapSecrets(args.inputs) as Record<string, any>;
    const kind = DOCKER_TYPES[args.type];
    const step: Step = { op: "create", urn: reg.urn, type: args.type, name: args.name, startedAt: Date.now() };
    steps.push(step);
    try {
      const result = kind ? await dockerStep(kind, args, inputs, reg, step) : otherStep(args, inputs, reg, step);
      step.finishedAt = Date.now();
      return result;
    } catch (error) {
      step.finishedAt = Date.now();
      const message = dockerMessage(error);
      if (message === SKIPPED) {
        (step as { op: Step["op"] }).op = "skipped";
        throw new Error(SKIPPED);
      }
      step.error = message;
      failures.push({ type: args.type, resourceName: args.name, message });
      log(`FAILED ${step.op} ${kind ?? args.type} ${inputs.name ?? args.name}: ${message}`);
      throw new Error(`${args.type} ${args.name}: ${message}`);
    }
  }

  /** Pending deletes of an earlier run that failed go first (Pulumi's GeneratePendingDeletes). */
  async function runDeletes(entries: { entry: StateEntry; action: "delete" | "forget" | "refuse"; message?: string }[]): Promise<void> {
    for (const { entry, action, message } of entries) {
      const step: Step = { op: action, urn: entry.urn, type: entry.type, name: entry.name, dockerName: entry.object?.dockerName, startedAt: Date.now() };
      steps.push(step);
      const forget = () => {
        state.condemned = state.condemned.filter((e) => e !== entry);
        if (state.entries.get(entry.urn) === entry) state.entries.delete(entry.urn);
      };
      try {
        if (action === "refuse") throw new Error(message);
        if (action === "delete" && entry.object) await deleteDocker(entry.object);
        forget();
      } catch (error) {
        step.error = dockerMessage(error);
        failures.push({ type: entry.type, resourceName: entry.name, message: step.error });
        log(`FAILED ${action} ${entry.urn}: ${step.error}`);
      }
      step.finishedAt = Date.now();
    }
  }

  if (state.condemned.length > 0) await runDeletes(planDeletes([...state.condemned], []));

  let program: Record<string, unknown> = {};
  let programError: Error | undefined;
  // A refused resource rejects promises the SDK itself never awaits: record them, as the CLI
  // reports them, instead of letting them end the test process.
  const onRejection = (reason: unknown) => {
    const message = (reason as Error)?.message ?? String(reason);
    if (message.includes(SKIPPED)) return;
    if (!failures.some((f) => message.includes(f.message))) failures.push({ type: "program", resourceName: "", message });
  };
  // Under jest, `process` is a sandbox copy, and jest's own unhandledRejection listener on the real
  // process fails the current test: the run's listener must stand in for it on the real one.
  const host = hostProcess();
  const jestListeners = host.listeners("unhandledRejection");
  host.removeAllListeners("unhandledRejection");
  host.on("unhandledRejection", onRejection);
  let abandoned = false;
  try {
    const run = (pulumi.runtime as any).runInPulumiStack(async () => {
      try {
        program = loadProgram();
      } catch (e) {
        programError = e as Error;
      }
      return program;
    });
    run.catch(() => undefined);
    abandoned = (await Promise.race([run, settledAfterFailure()])) === "settled";
  } catch (e) {
    // The stack's outputs depend on a resource the engine refused: the failure is already recorded.
    onRejection(e);
  }
  const outputs: Record<string, unknown> = {};
  try {
    if (!programError && !abandoned) {
      // Every registration, including the ones still creating objects, finishes before disconnect returns.
      try {
        const done = (pulumi.runtime as any).disconnect();
        done.catch(() => undefined);
        await Promise.race([done, settledAfterFailure()]);
      } catch (e) {
        onRejection(e);
      }
      if (failures.length === 0) {
        for (const [name, value] of Object.entries(program)) {
          outputs[name] = await new Promise((resolve) => pulumi.output(value as any).apply((v: unknown) => resolve(unwrapSecrets(v))));
        }
        // The end of a successful run: replaced resources' old objects, then what the program no longer registers.
        const unregistered = [...state.entries.values()].filter((e) => !registered.has(e.urn));
        await runDeletes(planDeletes([...state.condemned], unregistered));
      }
    }
  } finally {
    // Late rejections of the failed run land in the next tick; keep listening a moment.
    await new Promise((r) => setTimeout(r, 200));
    host.off("unhandledRejection", onRejection);
    for (const l of jestListeners) host.on("unhandledRejection", l as (...args: any[]) => void);
    for (const t of watchers) clearInterval(t);
  }
  const passwords = Object.fromEntries([...state.entries.values()].filter((e) => e.password !== undefined).map((e) => [e.name, e.password!]));
  return { objects: state.objects(), outputs, passwords, failures, programError, steps, state };
}

/**
 * Removes what a run created, newest first: services (waiting for their containers to go, then
 * force-removing stragglers), then configs and secrets, networks, volumes. Test cleanup, so
 * protected and retained volumes go too.
 */
export async function destroyObjects(objects: readonly EngineObject[], log: (line: string) => void = () => undefined, graceMs = 20_000): Promise<string[]> {
  const problems: string[] = [];
  const order: DockerKind[] = ["service", "config", "secret", "network", "volume"];
  const services = objects.filter((o) => o.kind === "service");
  await Promise.all(services.map((o) => o.docker.getService(o.id).remove().catch((e) => problems.push(`service ${o.dockerName}: ${dockerMessage(e)}`))));
  // Swarm stops the tasks with their stop signal and grace period; give them a while, then kill.
  const engines = [...new Set(objects.map((o) => o.docker))];
  const serviceIds = new Set(services.map((o) => o.id));
  const deadline = Date.now() + graceMs;
  for (const docker of engines) {
    let forced = false;
    for (;;) {
      const left = (await docker.listContainers({ all: true })).filter((c) => serviceIds.has(c.Labels?.["com.docker.swarm.service.id"] ?? ""));
      if (left.length === 0) break;
      if (Date.now() > deadline && !forced) {
        forced = true;
        log(`force-removing ${left.map((c) => c.Labels?.["com.docker.swarm.task.name"] ?? c.Id).join(", ")}: still stopping ${graceMs / 1000} s after their service was removed`);
        for (const c of left) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
      }
      await sleep(500);
    }
  }
  for (const kind of order.slice(1)) {
    for (const o of objects.filter((x) => x.kind === kind).reverse()) {
      const remove = async () => {
        if (kind === "config") await o.docker.getConfig(o.id).remove();
        if (kind === "secret") await o.docker.getSecret(o.id).remove();
        if (kind === "network") await o.docker.getNetwork(o.id).remove();
        if (kind === "volume") await o.docker.getVolume(o.id).remove({ force: true });
      };
      // A network or volume can stay busy for a moment after its last container went.
      for (let attempt = 0; ; attempt++) {
        try {
          await remove();
          break;
        } catch (e) {
          const message = dockerMessage(e);
          if (/no such|not found/i.test(message)) break;
          if (attempt >= 20) {
            problems.push(`${kind} ${o.dockerName}: ${message}`);
            break;
          }
          await sleep(500);
        }
      }
    }
  }
  return problems;
}
