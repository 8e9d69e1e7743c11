/**
 * PostgresReplica under Pulumi mocks: what reaches the engine.
 * (Traps: /work/shared/PULUMI-MOCKS.md. Mocks are set before the component is imported;
 * preview=false so outputs resolve.)
 */
import * as pulumi from "@pulumi/pulumi";
import { CONTAINER_FILES, readContainerFile } from "../../components/containerFiles";
import { applySet, loadStackConfig } from "../../config/stackConfig";
import { postgresReadyProbe, PROJECT, ReplicationPlan, resolvePlan, validateSettings } from "../../model";
import { configText } from "../support/component";

const REPLICA_ENTRYPOINT_PATH = CONTAINER_FILES.replicaEntrypoint.mountPath;

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const PASSWORD = "mock-pw-replication";
const PASSWORD_B64 = Buffer.from(PASSWORD).toString("base64");

interface Captured {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly id: string;
}
const captured: Captured[] = [];
const childOptions: Record<string, pulumi.CustomResourceOptions> = {};

pulumi.runtime.setMocks(
  {
    newResource(args) {
      const id = `${args.name}-id`;
      captured.push({ type: args.type, name: args.name, inputs: args.inputs, id });
      return { id, state: { ...args.inputs, name: args.inputs.name ?? `${args.name}-autonamed` } };
    },
    call(args) {
      return args.inputs;
    },
  },
  PROJECT,
  "production",
  false,
);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PostgresReplica } = require("../../components/postgresReplica") as typeof import("../../components/postgresReplica");

const isSecret = (v: unknown): v is { value: unknown } => typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] !== undefined;
const unwrap = (v: unknown): unknown => (isSecret(v) ? v.value : v);

/** Paths of every string that contains a needle and is not inside a secret wrapper. */
function plaintextHits(value: unknown, needles: string[], at = "$"): string[] {
  if (isSecret(value)) return [];
  if (typeof value === "string") return needles.some((n) => value.includes(n)) ? [at] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => plaintextHits(v, needles, `${at}[${i}]`));
  if (typeof value === "object" && value !== null) return Object.entries(value).flatMap(([k, v]) => plaintextHits(v, needles, `${at}.${k}`));
  return [];
}

function enterpriseReplication(): ReplicationPlan {
  const { config } = loadStackConfig("production");
  applySet(config, `${PROJECT}:tier=enterprise`, PROJECT);
  applySet(config, `${PROJECT}:nodes=["name=vps-1,cpus=4,memory=16GiB,role=manager","name=vps-2,cpus=4,memory=16GiB,role=worker","name=vps-3,cpus=4,memory=16GiB,role=worker"]`, PROJECT);
  const { settings } = validateSettings(config, "production");
  return resolvePlan(settings!).replication!;
}

const settled = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));
const one = (type: string, name?: string) => {
  const hits = captured.filter((c) => c.type === type && (name === undefined || c.name === name));
  if (hits.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, got ${hits.map((h) => h.name).join(", ") || "none"}`);
  return hits[0];
};
const scriptFile = readContainerFile;

describe("PostgresReplica (enterprise tier)", () => {
  const replication = enterpriseReplication();
  let host: string;
  let service: Captured;
  let taskSpec: Record<string, any>;
  let container: Record<string, any>;

  beforeAll(async () => {
    const replica = new PostgresReplica(
      "postgres-replica",
      { replication, network: { id: "overlay-net-id", name: "advwell-data" }, replicationPassword: PASSWORD },
      {
        transformations: [
          (args) => {
            childOptions[args.name] = args.opts as pulumi.CustomResourceOptions;
            return undefined;
          },
        ],
      },
    );
    host = replica.database.host;
    await settled(pulumi.all([replica.service.id, ...replica.volumes.map((v) => v.id)]));
    service = one("docker:index/service:Service");
    taskSpec = unwrap(service.inputs.taskSpec) as Record<string, any>;
    container = taskSpec.containerSpec;
  });

  test("the service is named postgres-replica, which is its DNS name and the component's host output", () => {
    expect(service.inputs.name).toBe("postgres-replica");
    expect(host).toBe("postgres-replica");
  });

  test("it is placed only on the node labelled advwell.postgres=replica, one task, stop-first", () => {
    expect(taskSpec.placement.constraints).toEqual(["node.labels.advwell.postgres==replica"]);
    expect(service.inputs.mode).toEqual({ replicated: { replicas: 1 } });
    expect((service.inputs.updateConfig as Record<string, unknown>).order).toBe("stop-first");
    expect(taskSpec.resources.limits).toEqual({ nanoCpus: 4e9, memoryBytes: 8192 * 1024 * 1024 });
  });

  test("its data volume is protected and survives deletion of the stack", () => {
    const volume = one("docker:index/volume:Volume");
    expect(volume.inputs.name).toBe("advwell-postgres-replica-data-1");
    expect(childOptions[volume.name]).toMatchObject({ protect: true, retainOnDelete: true });
    expect(container.mounts).toContainEqual({ type: "volume", source: "advwell-postgres-replica-data-{{.Task.Slot}}", target: "/var/lib/postgresql/data" });
  });

  test("the entrypoint is the repository's script, mounted from a Swarm config and run by bash with the plan's -c settings", () => {
    const config = one("docker:index/serviceConfig:ServiceConfig", "postgres-replica-entrypoint");
    expect(configText(config.inputs)).toBe(scriptFile("replicaEntrypoint"));
    expect(config.inputs.name).toMatch(/^postgres-replica-entrypoint-[0-9a-f]{10}$/);
    expect(container.configs).toEqual([{ configId: config.id, configName: config.inputs.name, fileName: REPLICA_ENTRYPOINT_PATH, fileMode: 0o555 }]);
    expect(container.commands).toEqual(["bash", REPLICA_ENTRYPOINT_PATH]);
    expect(container.args).toEqual(expect.arrayContaining(["-c", "hot_standby=on", "-c", "hot_standby_feedback=on", "-c", `max_connections=${replication.settings.max_connections}`]));
    expect(container.env).toMatchObject({ PRIMARY_HOST: "postgres", REPLICATION_USER: "replicator", REPLICATION_SLOT: "replica_{{.Task.Slot}}" });
  });

  test("the password reaches the task only as a 0400 secret file owned by the image's postgres user", () => {
    const secret = one("docker:index/secret:Secret", "postgres-replica-replication-password");
    expect(isSecret(secret.inputs.data)).toBe(true);
    expect(unwrap(secret.inputs.data)).toBe(PASSWORD_B64);
    expect(container.secrets).toEqual([
      { secretId: secret.id, secretName: "postgres-replica-replication-password-autonamed", fileName: "/run/secrets/postgres-replication-password", fileUid: "999", fileGid: "999", fileMode: 0o400 },
    ]);
  });

  test("no input of any resource carries the password, plain or base64, outside a secret", () => {
    expect(captured.flatMap((c) => plaintextHits(c.inputs, [PASSWORD, PASSWORD_B64], `${c.name}`))).toEqual([]);
  });

  test("health reads the standby's status from postmaster.pid, with the plan's 300 s start period for the first clone", () => {
    expect(container.healthcheck).toEqual({ tests: postgresReadyProbe("standby"), interval: "5s", timeout: "5s", retries: 5, startPeriod: "300s" });
    expect(container.stopSignal).toBe("SIGINT");
  });

  test("it joins the stack's overlay network and mounts a /dev/shm sized by the plan", () => {
    expect(taskSpec.networksAdvanceds).toEqual([{ id: "overlay-net-id" }]);
    expect(container.mounts).toContainEqual({ type: "tmpfs", target: "/dev/shm", tmpfsOptions: { sizeBytes: replication.shmSizeMiB * 1024 * 1024 } });
  });
});
