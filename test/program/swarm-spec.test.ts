/**
 * What Swarm stores must do what the plan means (issue 12): every service has a stop grace period
 * from the plan, placement preferences are real label descriptors, every named volume a service
 * mounts is a Volume resource of the stack, and the endpoint mode follows advwell:endpointMode.
 */
import { TIER_NAMES } from "../../model";
import { byType, ProgramRun, runProgram } from "../support/program";
import { planFor, seedNodes } from "../support/stacks";

const SERVICE = "docker:index/service:Service";
const VOLUME = "docker:index/volume:Volume";
const ROOMY = seedNodes(3);

const runs = new Map<string, ProgramRun>();
beforeAll(async () => {
  for (const tier of TIER_NAMES) runs.set(tier, await runProgram("production", [`advwell:tier=${tier}`, ROOMY]));
  runs.set("dnsrr", await runProgram("dev", ["advwell:endpointMode=dnsrr", "advwell:backupEnabled=true", "advwell:backupImage=local/backup-standin:15", "advwell:backupEndpointUrl=http://s3.rehearsal:4569"]));
}, 60000);

describe.each(TIER_NAMES)("%s tier", (tier) => {
  const services = () => byType(runs.get(tier)!, SERVICE);

  test("every service stops with the plan's grace period, never 0 (the provider's default for an unset value)", () => {
    const plan = planFor("production", [`advwell:tier=${tier}`, ROOMY]);
    const planned = plan.services as Record<string, { stopGraceSeconds: number }>;
    expect(services().length).toBeGreaterThan(0);
    for (const s of services()) {
      const grace = s.inputs.taskSpec.containerSpec.stopGracePeriod;
      expect({ service: s.inputs.name, grace }).toEqual({ service: s.inputs.name, grace: `${planned[s.inputs.name].stopGraceSeconds}s` });
      expect(planned[s.inputs.name].stopGraceSeconds).toBeGreaterThan(0);
    }
  });

  test("placement preferences are label descriptors Swarm's scheduler honours (node.labels.*)", () => {
    const prefs = services().flatMap((s) => s.inputs.taskSpec.placement.prefs ?? []);
    expect(prefs.length).toBeGreaterThan(0);
    for (const p of prefs) expect(p).toMatch(/^(node|engine)\.labels\./);
  });

  test("every named volume a service mounts is a Volume resource of the stack", () => {
    const declared = new Set(byType(runs.get(tier)!, VOLUME).map((v) => v.inputs.name));
    const mounted = services().flatMap((s) =>
      (s.inputs.taskSpec.containerSpec.mounts ?? [])
        .filter((m: { type: string }) => m.type === "volume")
        .map((m: { source: string }) => ({ service: s.inputs.name, source: m.source.replace("{{.Task.Slot}}", "1") })),
    );
    expect(mounted.length).toBeGreaterThan(0);
    for (const m of mounted) expect({ ...m, declared: declared.has(m.source) }).toEqual({ ...m, declared: true });
  });

  test("services use the default endpoint mode, vip", () => {
    for (const s of services()) expect(s.inputs.endpointSpec.mode).toBe("vip");
  });
});

describe("advwell:endpointMode=dnsrr, a backup image and an S3-compatible endpoint", () => {
  test("every service resolves by DNS round robin", () => {
    const services = byType(runs.get("dnsrr")!, SERVICE);
    expect(services.length).toBeGreaterThan(5);
    for (const s of services) expect({ service: s.inputs.name, mode: s.inputs.endpointSpec.mode }).toEqual({ service: s.inputs.name, mode: "dnsrr" });
  });

  test("the backup job runs the configured image and talks to the configured endpoint", () => {
    const backup = byType(runs.get("dnsrr")!, SERVICE).find((s) => s.inputs.name === "backup")!;
    expect(backup.inputs.taskSpec.containerSpec.image).toBe("local/backup-standin:15");
    expect(backup.inputs.taskSpec.containerSpec.env.AWS_ENDPOINT_URL).toBe("http://s3.rehearsal:4569");
  });
});

describe("pulumi up waits for a rollout and fails when it fails (issue 15)", () => {
  test.each(TIER_NAMES)("%s: every replicated service carries the plan's convergeConfig; global ones none (the provider refuses it)", (tier) => {
    const plan = planFor("production", [`advwell:tier=${tier}`, ROOMY]);
    for (const s of byType(runs.get(tier)!, SERVICE)) {
      const planned = plan.services[s.inputs.name as keyof typeof plan.services]!;
      if (planned.global) {
        expect(s.inputs.convergeConfig).toBeUndefined();
      } else {
        expect({ service: s.inputs.name, converge: s.inputs.convergeConfig }).toEqual({ service: s.inputs.name, converge: { timeout: `${planned.converge!.timeoutSeconds}s`, delay: `${planned.converge!.pollSeconds}s` } });
      }
    }
    // The provider first looks one health interval + 2 s after a create (at most 5 s), a database
    // after 5 s: 3 s for the reconciler's 1 s checks, 4 s for the backend's 2 s checks.
    const delay = (name: string) => byType(runs.get(tier)!, SERVICE).find((s) => s.inputs.name === name)?.inputs.convergeConfig?.delay;
    expect({ postgres: delay("postgres"), reconcile: delay("postgres-reconcile"), backend: delay("backend") }).toEqual({ postgres: "5s", reconcile: "3s", backend: "4s" });
  });

  test("the timeout covers the whole rollout and a rollback after it: backend at 10 replicas waits longer than at 2", () => {
    const small = planFor("production", ["advwell:tier=starter"]).services.backend!;
    const big = planFor("production", ["advwell:tier=enterprise", ROOMY]).services.backend!;
    const batches = (s: typeof big) => Math.ceil(s.replicas / s.update.parallelism);
    for (const s of [small, big]) {
      expect(s.converge!.timeoutSeconds).toBe(batches(s) * (2 * s.update.monitorSeconds + s.update.delaySeconds) + Math.ceil(s.replicas / s.rollback.parallelism) * (s.rollback.monitorSeconds + s.rollback.delaySeconds) + 60);
    }
    expect(big.converge!.timeoutSeconds).toBeGreaterThan(small.converge!.timeoutSeconds);
  });
});
