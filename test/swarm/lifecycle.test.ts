/**
 * The re-deploy rules of the rehearsal's engine (lib/lifecycle.ts), one by one: what a second
 * `pulumi up` does with a resource registered again, and how the provider's wait after
 * ServiceUpdate reads Swarm's update status. No daemon needed; it runs with `npm run test:swarm`.
 */
import { goDurationString } from "./lib/engine";
import { changedPaths, decideStep, importMismatch, importMismatchMessage, importMissingMessage, nextRefreshWaitMs, planDeletes, protectedDeleteMessage, protectedReplaceMessage, readVolumeInputs, runningReplicas, TaskLike, updateRefresh } from "./lib/lifecycle";

const SERVICE = "docker:index/service:Service";
const service = (over: Record<string, unknown> = {}, containerSpec: Record<string, unknown> = {}) => ({
  name: "backend",
  mode: { replicated: { replicas: 2 } },
  taskSpec: {
    containerSpec: { image: "img:1", args: ["-c", "a=1"], secrets: [{ secretId: "s1", fileName: "a" }, { secretId: "s2", fileName: "b" }], ...containerSpec },
    networksAdvanceds: [{ id: "n1" }, { id: "n2" }],
  },
  ...over,
});

describe("a service registered again (docker_service schema: ForceNew and TypeSet fields)", () => {
  test("the same inputs are no step: the object and its ID stay", () => {
    expect(decideStep(SERVICE, "service", service(), service())).toEqual({ op: "same", changed: [], replaceBecause: [] });
  });

  test("set-typed fields (secrets, networks) in another order are no change; a list (args) in another order is", () => {
    const reordered = service({}, { secrets: [{ fileName: "b", secretId: "s2" }, { secretId: "s1", fileName: "a" }] });
    (reordered.taskSpec as any).networksAdvanceds = [{ id: "n2" }, { id: "n1" }];
    expect(decideStep(SERVICE, "service", service(), reordered).op).toBe("same");
    expect(decideStep(SERVICE, "service", service(), service({}, { args: ["a=1", "-c"] }))).toMatchObject({ op: "update", changed: ["taskSpec.containerSpec.args[0]", "taskSpec.containerSpec.args[1]"] });
  });

  test("a new image, a replica count, a new secret ID or new limits update the service in place", () => {
    expect(decideStep(SERVICE, "service", service(), service({}, { image: "img:2" }))).toEqual({ op: "update", changed: ["taskSpec.containerSpec.image"], replaceBecause: [] });
    expect(decideStep(SERVICE, "service", service(), service({ mode: { replicated: { replicas: 3 } } }))).toMatchObject({ op: "update", changed: ["mode.replicated.replicas"] });
    expect(decideStep(SERVICE, "service", service(), service({}, { secrets: [{ secretId: "s1", fileName: "a" }, { secretId: "s3", fileName: "b" }] }))).toMatchObject({ op: "update", changed: ["taskSpec.containerSpec.secrets"] });
  });

  test("replicated to global is an in-place update too (the mode block's ForceNew covers its count only); Swarm then refuses it", () => {
    expect(decideStep(SERVICE, "service", service(), service({ mode: { global: true } })).op).toBe("update");
  });

  test("ForceNew fields replace: name, the mode block appearing, networks_advanced, hosts, sysctl, auth", () => {
    expect(decideStep(SERVICE, "service", service(), service({ name: "api" }))).toMatchObject({ op: "replace", replaceBecause: ["name"] });
    expect(decideStep(SERVICE, "service", { ...service(), mode: undefined }, service())).toMatchObject({ op: "replace", replaceBecause: ["mode"] });
    const moved = service();
    (moved.taskSpec as any).networksAdvanceds = [{ id: "n1" }];
    expect(decideStep(SERVICE, "service", service(), moved)).toMatchObject({ op: "replace", replaceBecause: ["taskSpec.networksAdvanceds"] });
    expect(decideStep(SERVICE, "service", service(), service({}, { hosts: [{ host: "x", ip: "10.0.0.1" }] })).op).toBe("replace");
    expect(decideStep(SERVICE, "service", service(), service({}, { sysctl: { "net.core.somaxconn": "1024" } })).op).toBe("replace");
    expect(decideStep(SERVICE, "service", service(), service({ auth: { serverAddress: "r.example" } })).op).toBe("replace");
  });

  test("unset and empty are the same to Terraform: no diff between a missing list and []", () => {
    expect(changedPaths("service", service({ labels: [] }), service())).toEqual([]);
  });
});

describe("secrets, configs, networks and volumes: every schema field is ForceNew", () => {
  test.each([
    ["docker:index/secret:Secret", "secret", { data: "YQ==" }, { data: "Yg==" }],
    ["docker:index/serviceConfig:ServiceConfig", "config", { name: "c-1", dataRaw: "a" }, { name: "c-2", dataRaw: "b" }],
    ["docker:index/network:Network", "network", { name: "n", internal: true }, { name: "n", internal: false }],
    ["docker:index/volume:Volume", "volume", { name: "v", labels: [{ label: "a", value: "1" }] }, { name: "v", labels: [{ label: "a", value: "2" }] }],
  ] as const)("%s: a changed input replaces", (type, kind, before, after) => {
    expect(decideStep(type, kind, before, after).op).toBe("replace");
    expect(decideStep(type, kind, before, before).op).toBe("same");
  });

  test("ignoreChanges keeps a path out of the diff (an adopted volume's labels)", () => {
    expect(decideStep("docker:index/volume:Volume", "volume", { name: "v", labels: [{ label: "a", value: "1" }] }, { name: "v" }, ["labels"]).op).toBe("same");
  });

  test("a random password's changed argument is a new password; a mocked AWS resource updates in place", () => {
    expect(decideStep("random:index/randomPassword:RandomPassword", undefined, { length: 32 }, { length: 40 }).op).toBe("replace");
    expect(decideStep("aws:s3/bucketPolicy:BucketPolicy", undefined, { policy: "a" }, { policy: "b" }).op).toBe("update");
  });
});

describe("protect, and the deletions at the end of a run", () => {
  const entry = (urn: string, seq: number, protect = false, retainOnDelete = false) => ({ urn, seq, protect, retainOnDelete });

  test("the messages are the Pulumi engine's", () => {
    expect(protectedReplaceMessage("urn:x")).toBe('unable to replace resource "urn:x"\nas it is currently marked for protection. To unprotect the resource, remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`');
    expect(protectedDeleteMessage("urn:x")).toContain('unable to delete resource "urn:x"\nas it is currently marked for protection');
  });

  test("replaced objects and unregistered resources go newest first; a protected one is refused, a retained one only leaves the state", () => {
    const plan = planDeletes([entry("old-secret", 5)], [entry("config", 9), entry("volume", 2, true, true), entry("retained", 3, false, true)]);
    expect(plan.map((p) => [p.entry.urn, p.action])).toEqual([
      ["config", "delete"],
      ["old-secret", "delete"],
      ["retained", "forget"],
      ["volume", "refuse"],
    ]);
    expect(plan[3].message).toBe(protectedDeleteMessage("volume"));
  });
});

describe("the provider's wait after ServiceUpdate (resourceDockerServiceUpdateRefreshFunc)", () => {
  const nodes = new Set(["n1"]);
  const task = (slot: number, state: string, desired = "running", node = "n1"): TaskLike => ({ Slot: slot, NodeID: node, DesiredState: desired, Status: { State: state } });
  const svc = (replicas: number, status?: { State: string; Message?: string }) => ({ Spec: { Mode: { Replicated: { Replicas: replicas } } }, ...(status ? { UpdateStatus: status } : {}) });

  test("UpdateStatus completed is success at once", () => {
    expect(updateRefresh(svc(2, { State: "completed" }), [], nodes)).toEqual({ state: "completed" });
  });

  test("rollback_completed, paused and rollback_paused fail with Swarm's message", () => {
    expect(updateRefresh(svc(2, { State: "rollback_completed", Message: "rollback completed" }), [], nodes)).toEqual({ error: "service rollback completed: rollback completed" });
    expect(updateRefresh(svc(2, { State: "paused", Message: "update paused due to failure or early termination of task x" }), [], nodes)).toEqual({ error: "service update paused: update paused due to failure or early termination of task x" });
    expect(updateRefresh(svc(2, { State: "rollback_paused", Message: "m" }), [], nodes)).toEqual({ error: "service rollback paused: m" });
  });

  test("updating: done once every slot's task runs; a start-first slot with a new task still starting is not", () => {
    const updating = svc(2, { State: "updating" });
    expect(updateRefresh(updating, [task(1, "running"), task(2, "running"), task(2, "starting")], nodes)).toEqual({ state: "updating" });
    expect(updateRefresh(updating, [task(1, "running"), task(2, "running")], nodes)).toEqual({ state: "completed" });
  });

  test("a rollback in progress whose tasks all run is a failure, not a success", () => {
    expect(updateRefresh(svc(1, { State: "rollback_started", Message: "update rolled back due to failure or early termination of task t1" }), [task(1, "running")], nodes)).toEqual({
      error: "service rollback completed: update rolled back due to failure or early termination of task t1",
    });
  });

  test("no UpdateStatus (a replicas-only change starts no rollout): the running tasks are counted", () => {
    expect(updateRefresh(svc(3), [task(1, "running"), task(2, "running"), task(3, "starting")], nodes)).toEqual({ state: "updating" });
    expect(updateRefresh(svc(3), [task(1, "running"), task(2, "running"), task(3, "running")], nodes)).toEqual({ state: "completed" });
  });

  test("tasks on a node that is down do not count; a global service has no replica count", () => {
    expect(runningReplicas(2, [task(1, "running"), task(2, "running", "running", "gone")], nodes)).toEqual({ running: 1, replicas: 2 });
    expect(() => runningReplicas(undefined, [], nodes)).toThrow("no replica count");
  });

  test("refreshes back off as the SDK's StateChangeConf does (MinTimeout 5 s, at most 10 s); timeouts print as Go durations", () => {
    expect([100, 5000, 10_000].map((w) => nextRefreshWaitMs(w))).toEqual([5000, 10_000, 10_000]);
    expect([450_000, 300_000, 7000, 3_600_000].map(goDurationString)).toEqual(["7m30s", "5m0s", "7s", "1h0m0s"]);
  });
});

describe("the import resource option on a docker.Volume (ImportStep.Apply)", () => {
  // What `docker volume inspect` shows for the volume `docker stack deploy` made for the seed.
  const stackVolume = readVolumeInputs({ Name: "advtom_postgres_data", Driver: "local", Options: null, Labels: { "com.docker.stack.namespace": "advtom" } });

  test("the program's inputs with labels and driverOpts ignored match a stack's volume: no diff, and the state keeps the labels read", () => {
    const { keys, processed } = importMismatch("volume", stackVolume, { name: "advtom_postgres_data", driver: "local" }, ["labels", "driverOpts"]);
    expect(keys).toEqual([]);
    expect(processed.labels).toEqual([{ label: "com.docker.stack.namespace", value: "advtom" }]);
  });

  test("without ignoreChanges the stack's label is a difference, and the import fails naming the key", () => {
    const { keys } = importMismatch("volume", stackVolume, { name: "advtom_postgres_data", driver: "local" });
    expect(keys).toEqual(["labels"]);
    expect(importMismatchMessage(keys)).toBe("inputs to import do not match the existing resource: [labels]");
  });

  test("labels of the program's own are a difference too, and so is another driver; an unset name or driver takes what was read (Optional+Computed)", () => {
    expect(importMismatch("volume", stackVolume, { name: "advtom_postgres_data", driver: "local", labels: [{ label: "advwell.stateful", value: "true" }] }).keys).toEqual(["labels"]);
    expect(importMismatch("volume", stackVolume, { name: "advtom_postgres_data", driver: "rexray" }, ["labels"]).keys).toEqual(["driver"]);
    expect(importMismatch("volume", stackVolume, {}, ["labels"]).keys).toEqual([]);
  });

  test("a volume that is not there is Pulumi's 'does not exist'", () => {
    expect(importMissingMessage("advtom_postgres_data")).toBe("resource 'advtom_postgres_data' does not exist");
  });
});
