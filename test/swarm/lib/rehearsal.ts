/**
 * One rehearsal deploy: the stack's config plus test/swarm/rehearsal.yaml, the real node labelled
 * as the plan says, the program run on the engine (engine.ts), and the rehearsal's own services:
 * s3rver (S3) on the backup's egress network and a probe container on every network of the stack,
 * which the checks `docker exec` into. Used from the jest tests (a fresh module registry per run).
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type Docker from "dockerode";
import { parse as parseYaml } from "yaml";
import { applySet, loadStackConfig } from "../../../config/stackConfig";
import { resolveStack, Resolved } from "../../../model";
import { dockerClient } from "./daemon";
import { AwsFixtures, destroyObjects, EngineObject, EngineOptions, EngineState, ProgramResult, runProgramOnEngine } from "./engine";
import { STANDIN_IMAGES } from "./images";

const STANDIN_REFS: ReadonlySet<string> = new Set(Object.values(STANDIN_IMAGES).map((i) => i.ref));

export const REHEARSAL_FILE = path.resolve(__dirname, "..", "rehearsal.yaml");
/** The s3rver task's name on the backup's egress network (and advwell:backupEndpointUrl's host). */
export const S3_HOST = "s3.rehearsal.internal";
export const S3_SERVICE = "rehearsal-s3rver";
export const PROBE_SERVICE = "rehearsal-probe";
const BACKUP_EGRESS_NETWORK = "advwell-backup-egress";
/** The rehearsal's own services stay on the manager: a drill that takes a worker away must not take them too. */
export const ON_MANAGER = "node.role==manager";

interface RehearsalFile {
  readonly deploy: Record<string, unknown>;
  readonly tiers?: Record<string, Record<string, unknown>>;
  /** The day-2 drills' keys, on top of `deploy`, the same for every tier they switch between. */
  readonly drills: Record<string, unknown>;
  readonly acceptance: Record<string, unknown>;
}

export function rehearsalFile(): RehearsalFile {
  return parseYaml(fs.readFileSync(REHEARSAL_FILE, "utf8")) as RehearsalFile;
}

const asValue = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

/** `key=value` assignments, in `--set` form, for a section of rehearsal.yaml. */
export function assignments(section: Record<string, unknown> | undefined): string[] {
  return Object.entries(section ?? {}).map(([k, v]) => `${k}=${asValue(v)}`);
}

/** The rehearsal's inventory entry for a node Swarm really schedules on (`docker` is that node's engine). */
export async function realNodeEntry(docker: Docker, name = "rehearsal-1", role: "manager" | "worker" = "manager"): Promise<string> {
  const info = await docker.info();
  const memoryGiB = Math.floor((info.MemTotal as number) / 1024 ** 3) - 2;
  return `name=${name},cpus=${info.NCPU},memory=${memoryGiB}GiB,role=${role}`;
}

export interface StackConfig {
  readonly stack: string;
  readonly config: Record<string, string>;
  /** Every assignment applied on top of the stack file, in order, for reports. */
  readonly sets: string[];
  readonly resolved: Resolved;
}

/**
 * Pulumi.yaml + Pulumi.<stack>.yaml, then each assignment as `pulumi config set` would; the keys in
 * `secretKeys` as `pulumi config set --secret` would (the plan refuses a plaintext credential).
 */
export function stackConfigWith(stack: string, sets: readonly string[], secretKeys: readonly string[] = []): StackConfig {
  const loaded = loadStackConfig(stack);
  for (const s of sets) applySet(loaded.config, s, loaded.project);
  return { stack, config: loaded.config, sets: [...sets], resolved: resolveStack(loaded.config, stack, secretKeys) };
}

/** The config of a rehearsal deploy: the stack file, rehearsal.yaml's `deploy` (+ the tier's extras), the real node. */
export async function deployConfig(docker: Docker, stack: string, tier?: string, extra: readonly string[] = []): Promise<StackConfig> {
  const file = rehearsalFile();
  const sets = [
    ...assignments(file.deploy),
    ...(tier ? [`advwell:tier=${tier}`, ...assignments(file.tiers?.[tier])] : []),
    `advwell:nodes=${JSON.stringify([await realNodeEntry(docker)])}`,
    ...extra,
  ];
  return stackConfigWith(stack, sets);
}

/** Gives the engine's nodes the labels the plan lists for its inventory, in inventory order. */
export async function labelNodes(docker: Docker, resolved: Resolved): Promise<void> {
  const nodes = (await docker.listNodes()).sort((a: any, b: any) => (a.CreatedAt < b.CreatedAt ? -1 : 1));
  const planNodes = resolved.plan?.nodes ?? [];
  for (let i = 0; i < nodes.length; i++) {
    const node: any = nodes[i];
    const wanted = planNodes[i]?.labels ?? {};
    const labels: Record<string, string> = Object.fromEntries(Object.entries(node.Spec.Labels ?? {}).filter(([k]) => !k.startsWith("advwell.")) as [string, string][]);
    Object.assign(labels, wanted);
    await docker.getNode(node.ID).update({ version: node.Version.Index, ...node.Spec, Labels: labels });
  }
}

/** Sets every node's availability (drain: Swarm accepts services but schedules no task). */
export async function setAvailability(docker: Docker, availability: "active" | "drain"): Promise<void> {
  for (const n of (await docker.listNodes()) as any[]) {
    if (n.Spec.Availability === availability) continue;
    await docker.getNode(n.ID).update({ version: n.Version.Index, ...n.Spec, Availability: availability });
  }
}

export function rehearsalSocket(): string {
  const socket = process.env.ADVWELL_REHEARSAL_SOCKET;
  if (!socket) throw new Error("ADVWELL_REHEARSAL_SOCKET is not set: run the rehearsal with `npm run test:swarm`, which starts the daemon and builds the images first");
  return socket;
}

export function rehearsalDocker(): Docker {
  return dockerClient(rehearsalSocket());
}

export interface Deployment {
  readonly stack: StackConfig;
  /** The last run's result (a re-deploy's, after redeploy). */
  readonly result: ProgramResult;
  /** The docker objects the stack holds after the last run. */
  readonly objects: readonly EngineObject[];
  /** The stack's state across runs (keyed by URN): a re-deploy starts from it. */
  readonly state: EngineState;
  readonly aws: AwsFixtures & { readonly bucket?: string };
  /** The rehearsal's own services (s3rver, probe), removed with the deployment. */
  readonly harnessServices: string[];
  readonly harnessSecrets: string[];
  readonly timings: Record<string, number>;
}

export function objectsOf(d: Deployment, kind: EngineObject["kind"]): EngineObject[] {
  return d.objects.filter((o) => o.kind === kind);
}

export function serviceObject(d: Deployment, dockerName: string): EngineObject {
  const found = d.objects.find((o) => o.kind === "service" && o.dockerName === dockerName);
  if (!found) throw new Error(`the program created no service ${dockerName}; it created ${objectsOf(d, "service").map((o) => o.dockerName).join(", ")}`);
  return found;
}

async function waitRunning(docker: Docker, service: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tasks = await docker.listTasks({ filters: JSON.stringify({ service: [service], "desired-state": ["running"] }) });
    if (tasks.some((t: any) => t.Status?.State === "running")) return;
    if (Date.now() > deadline) {
      const last = tasks.map((t: any) => `${t.Status?.State}: ${t.Status?.Err ?? t.Status?.Message}`).join("; ");
      throw new Error(`${service} did not start within ${timeoutMs / 1000} s (${last || "no task"})`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Starts s3rver (S3) on the backup's egress network as soon as the program has created it. */
function s3rverHook(
  docker: Docker,
  h: { enabled: boolean; suffix: string; aws: AwsFixtures; bucket?: string; harnessServices: string[]; harnessSecrets: string[]; timings: Record<string, number>; log: (line: string) => void },
): (o: EngineObject) => Promise<void> {
  return async (o: EngineObject) => {
    if (!h.enabled || o.kind !== "network" || o.dockerName !== BACKUP_EGRESS_NETWORK) return;
    // S3 must answer before the backup task's first run: it starts once this network exists.
    const started = Date.now();
    const keyId = await docker.createSecret({ Name: `rehearsal-s3-key-id-${h.suffix}`, Data: Buffer.from(h.aws.accessKeyId).toString("base64") });
    const keySecret = await docker.createSecret({ Name: `rehearsal-s3-secret-${h.suffix}`, Data: Buffer.from(h.aws.secretAccessKey).toString("base64") });
    h.harnessSecrets.push(keyId.id, keySecret.id);
    await docker.createService({
      Name: S3_SERVICE,
      Labels: { "advwell.rehearsal": "s3rver" },
      TaskTemplate: {
        ContainerSpec: {
          Image: STANDIN_IMAGES.s3rver.ref,
          Env: [
            "S3_ACCESS_KEY_ID_FILE=/run/secrets/s3-key-id",
            "S3_SECRET_ACCESS_KEY_FILE=/run/secrets/s3-secret",
            `S3_BUCKETS=${h.bucket ?? ""}`,
            "S3_SERVICE_ENDPOINT=rehearsal.internal",
          ],
          Secrets: [
            { SecretID: keyId.id, SecretName: `rehearsal-s3-key-id-${h.suffix}`, File: { Name: "s3-key-id", UID: "0", GID: "0", Mode: 0o400 } },
            { SecretID: keySecret.id, SecretName: `rehearsal-s3-secret-${h.suffix}`, File: { Name: "s3-secret", UID: "0", GID: "0", Mode: 0o400 } },
          ],
        },
        Networks: [{ Target: o.id, Aliases: [S3_HOST] }],
        Placement: { Constraints: [ON_MANAGER] },
      },
      EndpointSpec: { Mode: "dnsrr" },
    } as any);
    h.harnessServices.push(S3_SERVICE);
    await waitRunning(docker, S3_SERVICE, 90_000);
    h.timings.s3rver = Date.now() - started;
    h.log(`s3rver up on ${BACKUP_EGRESS_NETWORK} as ${S3_HOST} (bucket ${h.bucket})`);
  };
}

/** A service without a stand-in image cannot converge here: its convergeConfig wait would only time out. */
function canConverge(inputs: Record<string, any>): boolean {
  return STANDIN_REFS.has(String(inputs.taskSpec?.containerSpec?.image ?? ""));
}

/**
 * Runs the program for `stack` on the engine (in a fresh module registry), with the rehearsal's
 * S3 and probe. `runInFreshModules` is jest.isolateModulesAsync in the tests.
 */
export async function deploy(
  docker: Docker,
  stack: StackConfig,
  runInFreshModules: (fn: () => Promise<void>) => Promise<void>,
  options: {
    readonly mutate?: EngineOptions["mutate"];
    readonly log?: (line: string) => void;
    readonly withS3?: boolean;
    readonly withProbe?: boolean;
    /** Play convergeConfig's wait for services that can run here (stand-in image); false: for none. */
    readonly converge?: boolean;
    /** Engines for docker.Provider resources by their `host` (advwell:replicaDockerHost on two nodes). */
    readonly dockerForHost?: EngineOptions["dockerForHost"];
    /** Runs after each object exists, after the rehearsal's own hook (the cutover drill's writer). */
    readonly afterCreate?: EngineOptions["afterCreate"];
  } = {},
): Promise<Deployment> {
  const timings: Record<string, number> = {};
  const log = options.log ?? (() => undefined);
  const suffix = randomBytes(6).toString("hex");
  const aws: AwsFixtures = {
    bucketSuffix: suffix,
    accessKeyId: `AKIA${randomBytes(8).toString("hex").toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, 40),
  };
  const plan = stack.resolved.plan;
  const backup = plan?.backup;
  const bucket = backup ? (backup.bucket.name ?? `${backup.bucket.namePrefix}${suffix}`) : undefined;
  const harnessServices: string[] = [];
  const harnessSecrets: string[] = [];

  let t = Date.now();
  await labelNodes(docker, stack.resolved);
  timings.labels = Date.now() - t;

  const s3Hook = s3rverHook(docker, { enabled: options.withS3 ?? true, suffix, aws, bucket, harnessServices, harnessSecrets, timings, log });
  const afterCreate = async (o: EngineObject) => {
    await s3Hook(o);
    await options.afterCreate?.(o);
  };

  t = Date.now();
  const state = new EngineState();
  let result: ProgramResult | undefined;
  await runInFreshModules(async () => {
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    result = await runProgramOnEngine(pulumi, stack.config, stack.stack, () => require("../../../index"), {
      docker,
      aws,
      state,
      afterCreate,
      mutate: options.mutate,
      dockerForHost: options.dockerForHost,
      log,
      waitForConverge: (inputs) => (options.converge ?? true) && canConverge(inputs),
    });
  });
  timings.program = Date.now() - t;
  const deployment: Deployment = { stack, result: result!, objects: result!.objects, state, aws: { ...aws, bucket }, harnessServices, harnessSecrets, timings };

  if ((options.withProbe ?? true) && result!.failures.length === 0 && !result!.programError) {
    t = Date.now();
    const networks = objectsOf(deployment, "network");
    // One file per resource name (a name used twice under different parents keeps its first secret).
    // The probe mounts copies: Docker refuses to remove a secret a service uses, and a re-deploy
    // removes the secrets it replaced, as Pulumi would; no harness service may hold the stack's own.
    const secrets = objectsOf(deployment, "secret").filter((s, i, all) => all.findIndex((x) => x.resourceName === s.resourceName) === i);
    const copies = await Promise.all(
      secrets.map(async (s, i) => {
        const name = `rehearsal-copy-${suffix}-${i}`;
        const { id } = await docker.createSecret({ Name: name, Data: s.body.Data as string, Labels: { "advwell.rehearsal": "probe", "advwell.rehearsal.copy-of": s.dockerName } });
        harnessSecrets.push(id);
        return { id, name, file: s.resourceName };
      }),
    );
    await docker.createService({
      Name: PROBE_SERVICE,
      Labels: { "advwell.rehearsal": "probe" },
      TaskTemplate: {
        ContainerSpec: {
          Image: STANDIN_IMAGES.probe.ref,
          // Every secret of the stack, under its Pulumi resource name: the checks read the values Swarm holds.
          Secrets: copies.map((c) => ({ SecretID: c.id, SecretName: c.name, File: { Name: c.file, UID: "0", GID: "0", Mode: 0o400 } })),
        },
        Networks: networks.map((n) => ({ Target: n.id })),
        Placement: { Constraints: [ON_MANAGER] },
      },
      EndpointSpec: { Mode: "dnsrr" },
    } as any);
    harnessServices.push(PROBE_SERVICE);
    await waitRunning(docker, PROBE_SERVICE, 90_000);
    timings.probe = Date.now() - t;
  }
  return deployment;
}

/**
 * A second `pulumi up` of a deployment with changed config: the program runs again against the
 * deployment's state (engine.ts), with the same AWS fixtures, so unchanged resources keep their
 * objects and only what changed is updated, replaced or deleted. The probe and s3rver stay.
 */
export async function redeploy(
  docker: Docker,
  d: Deployment,
  stack: StackConfig,
  runInFreshModules: (fn: () => Promise<void>) => Promise<void>,
  options: { readonly mutate?: EngineOptions["mutate"]; readonly log?: (line: string) => void } = {},
): Promise<Deployment> {
  const log = options.log ?? (() => undefined);
  await labelNodes(docker, stack.resolved);
  const timings: Record<string, number> = { ...d.timings };
  const afterCreate = s3rverHook(docker, { enabled: !d.harnessServices.includes(S3_SERVICE), suffix: randomBytes(6).toString("hex"), aws: d.aws, bucket: d.aws.bucket, harnessServices: d.harnessServices, harnessSecrets: d.harnessSecrets, timings, log });
  const started = Date.now();
  let result: ProgramResult | undefined;
  await runInFreshModules(async () => {
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    result = await runProgramOnEngine(pulumi, stack.config, stack.stack, () => require("../../../index"), {
      docker,
      aws: d.aws,
      state: d.state,
      afterCreate,
      mutate: options.mutate,
      log,
      waitForConverge: canConverge,
    });
  });
  timings.program = Date.now() - started;
  return { ...d, stack, result: result!, objects: result!.objects, timings };
}

/** Removes the stack's objects and the rehearsal's services and secrets. */
export async function destroy(docker: Docker, d: Deployment | undefined, log: (line: string) => void = () => undefined): Promise<string[]> {
  if (!d) return [];
  const problems: string[] = [];
  for (const s of d.harnessServices) await docker.getService(s).remove().catch((e) => problems.push(`${s}: ${(e as Error).message}`));
  problems.push(...(await destroyObjects(d.state.allObjects(), log)));
  for (const id of d.harnessSecrets) await docker.getSecret(id).remove().catch(() => undefined);
  return problems;
}

/**
 * Where the probe finds the secret a service mounts at `fileName` (as the service's spec names it):
 * the probe mounts every secret of the stack under its Pulumi resource name.
 */
export function probeSecretPath(d: Deployment, service: string, fileName: string): string {
  const o = serviceObject(d, service);
  const refs = ((o.body.TaskTemplate as any)?.ContainerSpec?.Secrets ?? []) as { SecretID: string; File: { Name: string } }[];
  const ref = refs.find((r) => r.File.Name === fileName || r.File.Name === `/run/secrets/${fileName}`);
  if (!ref) throw new Error(`${service} mounts no secret at ${fileName}; it mounts ${refs.map((r) => r.File.Name).join(", ")}`);
  const secret = d.objects.find((x) => x.kind === "secret" && x.id === ref.SecretID);
  if (!secret) throw new Error(`${service}'s secret ${ref.SecretID} is not one the program created`);
  return `/run/secrets/${secret.resourceName}`;
}
