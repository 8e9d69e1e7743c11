/**
 * Spec acceptance for every stack and tier: the program creates every network, volume, secret,
 * config and service of the stack on the real Swarm (each stack's own images, present or not), the
 * rehearsal reads every object back, and checks that Swarm accepted and stored what was sent, and
 * that what it stores does what the plan means. The node is drained meanwhile, so Swarm accepts
 * and stores the specs without starting a task (and convergeConfig's wait, which could never end
 * on a drained node, is not played); each case is cleaned up before the next.
 */
import { listStacks } from "../../config/stackConfig";
import { TIER_NAMES } from "../../model";
import { inspectProblems, labelProblems, plannedServices, sentButNotStored, storedSpecProblems } from "./lib/checks";
import { destroyObjects, EngineObject } from "./lib/engine";
import { Json } from "./lib/providerMapping";
import { assignments, deploy, labelNodes, objectsOf, rehearsalDocker, rehearsalFile, setAvailability, stackConfigWith } from "./lib/rehearsal";
import { recordTiming, say } from "./lib/report";

jest.setTimeout(10 * 60_000);
// Each case loads a fresh Pulumi SDK, which adds its own process exit listeners.
process.setMaxListeners(100);

const docker = rehearsalDocker();

async function storedObject(o: EngineObject): Promise<unknown> {
  switch (o.kind) {
    case "service":
      return (await o.docker.getService(o.id).inspect()).Spec;
    case "secret":
      return (await o.docker.getSecret(o.id).inspect()).Spec;
    case "config":
      return (await o.docker.getConfig(o.id).inspect()).Spec;
    case "network": {
      const n = await o.docker.getNetwork(o.id).inspect();
      return { Name: n.Name, CheckDuplicate: true, Driver: n.Driver, Internal: n.Internal, Attachable: n.Attachable, Ingress: n.Ingress, Labels: n.Labels, Options: n.Options };
    }
    case "volume": {
      const v = await o.docker.getVolume(o.id).inspect();
      return { Name: v.Name, Driver: v.Driver, Labels: v.Labels, DriverOpts: v.Options ?? {} };
    }
  }
}

/** Secret data never comes back from the API; a secret's stored spec is checked without it. */
function comparable(o: EngineObject): Json {
  if (o.kind !== "secret") return o.body;
  const { Data: _data, ...rest } = o.body;
  return rest;
}

/** How many objects of each kind the engine holds: a case must leave them as it found them. */
async function counts(): Promise<Record<string, number>> {
  return {
    services: (await docker.listServices()).length,
    secrets: (await docker.listSecrets()).length,
    configs: (await docker.listConfigs()).length,
    networks: (await docker.listNetworks()).length,
    volumes: ((await docker.listVolumes()).Volumes ?? []).length,
  };
}

const file = rehearsalFile();
const cases = listStacks().flatMap((stack) => TIER_NAMES.map((tier) => [stack, tier] as const));

describe("every stack and tier: Swarm accepts and stores what the program sends, and what it stores does what the plan means", () => {
  beforeAll(async () => {
    await setAvailability(docker, "drain");
  });
  afterAll(async () => {
    await setAvailability(docker, "active");
  });

  test.each(cases)("%s stack, %s tier", async (stackName, tier) => {
    const started = Date.now();
    const stack = stackConfigWith(stackName, [...assignments(file.acceptance), `advwell:tier=${tier}`]);
    const errors = stack.resolved.findings.filter((f) => f.level === "error");
    expect(errors).toEqual([]);
    await labelNodes(docker, stack.resolved);
    const before = await counts();
    const d = await deploy(docker, stack, (fn) => jest.isolateModulesAsync(fn), { withS3: false, withProbe: false, converge: false });
    try {
      expect(d.result.programError?.message).toBeUndefined();
      expect(d.result.failures).toEqual([]);
      const problems: string[] = [];
      for (const o of d.objects) {
        const stored = await storedObject(o);
        problems.push(...sentButNotStored(comparable(o), stored).map((p) => `${o.kind} ${o.dockerName}: ${p}`));
      }
      const services = await Promise.all(objectsOf(d, "service").map(async (o) => ({ dockerName: o.dockerName, spec: (await docker.getService(o.id).inspect()).Spec })));
      problems.push(...storedSpecProblems(services, new Set(objectsOf(d, "volume").map((v) => v.dockerName))));
      // One real node here: placement labels are checked against the labels the plan gives its inventory.
      problems.push(...labelProblems(services, stack.resolved.plan!.nodes.map((n) => n.labels)));
      const planned = plannedServices(stack.resolved.plan!);
      for (const s of services) {
        const p = planned.get(s.dockerName);
        if (p) problems.push(...inspectProblems(s.dockerName, s.spec, p));
        else problems.push(`${s.dockerName}: the plan has no such service`);
      }
      expect(problems).toEqual([]);
      expect(services.map((s) => s.dockerName).sort()).toEqual([...planned.keys()].sort());
    } finally {
      const leftovers = await destroyObjects(d.objects);
      const after = await counts();
      recordTiming(`acceptance ${stackName}/${tier}`, Date.now() - started, `${d.objects.length} objects`);
      if (leftovers.length > 0) say(`acceptance ${stackName}/${tier}: cleanup problems: ${leftovers.join("; ")}`);
      expect(after).toEqual(before);
    }
  });
});
