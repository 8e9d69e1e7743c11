/**
 * Plays `pulumi up` for the rehearsal: runs the real program (index.ts) under Pulumi's mock
 * runtime, and for every docker resource it registers creates the real object on a real Docker
 * Engine through dockerode, in the order the SDK registers them. The mock's newResource is async:
 * it returns only once the object exists, with its real ID and name as the resource's state, so
 * every later input that depends on it (a service's secretId, a network id) carries the real ID,
 * and the SDK holds back each resource until its dependencies (inputs and dependsOn) have been
 * registered, as the engine would.
 *
 * What stays mocked: random passwords (real random values, so the stack really authenticates),
 * AWS resources (the bucket name and the writer's access key come from the rehearsal's fixtures,
 * which s3rver accepts), the Pulumi state (every run creates; updates and replacements are not
 * implemented yet), and the provider's registry look-ups.
 */
import { randomBytes, randomInt } from "crypto";
import type Docker from "dockerode";
import type * as PulumiModule from "@pulumi/pulumi";
import { SECRET_SIG, unwrapSecrets } from "../../../scripts/lib/mockProgram";
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
  /** The request body sent to the Engine API. */
  readonly body: { [key: string]: Json };
  /** The engine it lives on (the default provider's, or a docker.Provider's). */
  readonly docker: Docker;
  readonly providerHost?: string;
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
  readonly log?: (line: string) => void;
}

export interface ProgramResult {
  readonly objects: EngineObject[];
  readonly outputs: Record<string, unknown>;
  /** Every generated credential, by Pulumi resource name. */
  readonly passwords: Record<string, string>;
  /** Resources the engine refused, with Docker's message; empty when the deploy went through. */
  readonly failures: { readonly type: string; readonly resourceName: string; readonly message: string }[];
  /** The program's own error (a plan with errors throws before registering anything). */
  readonly programError?: Error;
}

const ALPHANUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

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
    const replicas = service.Spec?.Mode?.Replicated?.Replicas;
    if (replicas === undefined) throw new Error("no replica count");
    const nodes = await docker.listNodes();
    const active = new Set(nodes.filter((n: any) => n.Status?.State !== "down").map((n: any) => n.ID));
    const tasks = await docker.listTasks({ filters: JSON.stringify({ service: [serviceId], "desired-state": ["running"] }) });
    const bySlot = new Map<number, any>();
    for (const t of tasks) if (!t.NodeID || active.has(t.NodeID)) bySlot.set(t.Slot ?? 0, t);
    const running = [...bySlot.values()].filter((t) => t.Status?.State === "running").length;
    if (running === replicas) return;
    if (Date.now() - started > config.timeoutMs) {
      throw new Error(`Service with ID (${serviceId}) did not converge after ${config.timeoutRaw}`);
    }
    wait = Math.min(Math.max(wait * 2, 5000), 10_000);
    await sleep(wait);
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

/**
 * Runs the program once against the engine. `pulumi` must be a fresh instance of the SDK (it reads
 * config once), `loadProgram` requires index.ts in that same module registry.
 */
export async function runProgramOnEngine(
  pulumi: typeof PulumiModule,
  config: Record<string, string>,
  stack: string,
  loadProgram: () => Record<string, unknown>,
  options: EngineOptions,
): Promise<ProgramResult> {
  const log = options.log ?? (() => undefined);
  const objects: EngineObject[] = [];
  const passwords: Record<string, string> = {};
  const failures: ProgramResult["failures"][number][] = [];
  const providers = new Map<string, { host: string; docker: Docker }>();
  let seq = 0;
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

  async function createDocker(kind: DockerKind, type: string, name: string, inputs: Record<string, any>, provider: string | undefined): Promise<{ id: string; state: Record<string, unknown> }> {
    const { docker, host } = engineFor(provider);
    const dockerName: string = kind === "secret" ? (inputs.name ?? autoName(name)) : inputs.name;
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
    if (options.mutate) body = options.mutate(kind, name, body);
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
        if (converge && (options.waitForConverge?.(inputs) ?? true)) {
          const started = Date.now();
          try {
            await waitForServiceConverge(docker, id, converge);
            log(`service ${inputs.name} converged after ${((Date.now() - started) / 1000).toFixed(0)} s (convergeConfig timeout ${converge.timeoutRaw})`);
          } catch (error) {
            // As the provider's deleteService: the failed tasks' last log lines, then the service goes.
            const logs = await failedTaskLogs(docker, id);
            // Beyond the provider's message: what Swarm said about the newest tasks (a rejected task has no logs).
            const tasks: any[] = await docker.listTasks({ filters: JSON.stringify({ service: [id] }) });
            const states = [...tasks]
              .sort((a, b) => (a.UpdatedAt < b.UpdatedAt ? 1 : -1))
              .slice(0, 3)
              .map((t) => `${t.Status?.State}: ${t.Status?.Err ?? t.Status?.Message ?? ""}`);
            await docker.getService(id).remove().catch(() => undefined);
            throw new Error(`${(error as Error).message} (service ${inputs.name}; newest tasks: ${states.join(" | ")})${logs ? `\n\nLast task logs:\n${logs}` : ""}`);
          }
        }
        // The provider's Read: the service as Swarm stored it.
        await docker.getService(id).inspect();
        break;
      }
    }
    const object: EngineObject = { seq: ++seq, kind, type, resourceName: name, dockerName: kind === "volume" ? id : dockerName, id, inputs, body, docker, providerHost: host };
    objects.push(object);
    log(`created ${kind} ${object.dockerName} (${name})`);
    if (options.afterCreate) await options.afterCreate(object);
    // State: the inputs plus what the provider computes. Secret data stays out of it.
    const state: Record<string, unknown> = { ...inputs, name: object.dockerName };
    if (kind === "secret") delete state.data;
    return { id, state };
  }

  pulumi.runtime.setAllConfig(config);
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        inflight++;
        lastActivity = Date.now();
        try {
          return await newResource(args);
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

  async function newResource(args: PulumiModule.runtime.MockResourceArgs): Promise<{ id: string; state: Record<string, unknown> }> {
        const inputs = unwrapSecrets(args.inputs) as Record<string, any>;
        const kind = DOCKER_TYPES[args.type];
        try {
          if (kind) return await createDocker(kind, args.type, args.name, inputs, args.provider);
        } catch (error) {
          const message = dockerMessage(error);
          failures.push({ type: args.type, resourceName: args.name, message });
          log(`FAILED ${kind} ${inputs.name ?? args.name}: ${message}`);
          throw new Error(`${args.type} ${args.name}: ${message}`);
        }
        const state: Record<string, unknown> = { ...args.inputs };
        switch (args.type) {
          case "pulumi:providers:docker": {
            const id = `provider-${args.name}`;
            const host = String(inputs.host ?? "");
            providers.set(id, { host, docker: options.dockerForHost ? options.dockerForHost(host) : options.docker });
            return { id, state };
          }
          case "random:index/randomPassword:RandomPassword": {
            const value = randomPassword(inputs);
            passwords[args.name] = value;
            state.result = secret(value);
            // Only Traefik's dashboard reads the hash, and Traefik has no stand-in: well-formed, not a real bcrypt.
            state.bcryptHash = secret(`$2a$10$${randomBytes(40).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, 53).padEnd(53, "x")}`);
            return { id: args.name, state };
          }
          case "aws:s3/bucket:Bucket": {
            state.bucket = inputs.bucket ?? `${inputs.bucketPrefix ?? args.name}${options.aws.bucketSuffix}`;
            state.arn = `arn:aws:s3:::${state.bucket}`;
            return { id: String(state.bucket), state };
          }
          case "aws:iam/user:User":
            state.arn = `arn:aws:iam::000000000000:user/${inputs.name ?? args.name}`;
            state.name = inputs.name ?? args.name;
            return { id: String(state.name), state };
          case "aws:iam/accessKey:AccessKey":
            state.secret = secret(options.aws.secretAccessKey);
            return { id: options.aws.accessKeyId, state };
          default:
            return { id: args.custom ? `${args.name}-id` : "", state };
        }
  }

  let program: Record<string, unknown> = {};
  let programError: Error | undefined;
  // A refused resource rejects promises the SDK itself never awaits: record them, as the CLI
  // reports them, instead of letting them end the test process.
  const onRejection = (reason: unknown) => {
    const message = (reason as Error)?.message ?? String(reason);
    if (!failures.some((f) => message.includes(f.message))) failures.push({ type: "program", resourceName: "", message });
  };
  process.on("unhandledRejection", onRejection);
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
      }
    }
  } finally {
    // Late rejections of the failed run land in the next tick; keep listening a moment.
    await new Promise((r) => setTimeout(r, 200));
    process.off("unhandledRejection", onRejection);
    for (const t of watchers) clearInterval(t);
  }
  return { objects, outputs, passwords, failures, programError };
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
