/**
 * Under mocks, for every stack and tier: the overlays index.ts creates are the plan's (internal and
 * encrypted as it says), every service joins exactly the networks its plan names, and every secret
 * file is mounted 0400, owned by the user the service's image reads it as.
 */
import type { Plan } from "../../model/plan/resolve";
import { byType, ProgramRun, runProgram } from "../support/program";
import { planFor, seedNodes } from "../support/stacks";

const SERVICE = "docker:index/service:Service";
const NETWORK = "docker:index/network:Network";
// Each stack on its own config, and the tiers with the most and the fewest services (every
// program run costs about a second; test/unit/policy.test.ts runs the policy pack over all of them).
const CASES: [string, string[]][] = [
  ["production", []],
  ["staging", []],
  ["dev", []],
  ...(["starter", "enterprise"] as const).map((t): [string, string[]] => [`production/${t}`, [`advwell:tier=${t}`, seedNodes(3)]]),
];

const runs = new Map<string, { run: ProgramRun; plan: Plan }>();
beforeAll(async () => {
  for (const [key, sets] of CASES) {
    const stack = key.split("/")[0];
    runs.set(key, { run: await runProgram(stack, sets), plan: planFor(stack, sets) });
  }
}, 60000);

describe.each(CASES.map(([k]) => [k]))("%s", (key) => {
  test("creates the plan's networks: data internal and encrypted (IPsec between nodes), none attachable", () => {
    const { run, plan } = runs.get(key)!;
    const networks = byType(run, NETWORK);
    expect(networks.map((n) => n.inputs.name).sort()).toEqual(
      [...plan.networks.map((n) => n.dockerName), ...(plan.backup ? ["advwell-backup-egress"] : [])].sort(),
    );
    for (const n of plan.networks) {
      const inputs = networks.find((r) => r.inputs.name === n.dockerName)!.inputs;
      expect(inputs.attachable).toBe(false);
      expect(inputs.internal === true).toBe(n.internal);
      expect(inputs.options?.encrypted !== undefined).toBe(n.encrypted);
    }
    expect(plan.networks.find((n) => n.name === "data")).toMatchObject({ internal: true, encrypted: true });
  });

  test("every service joins exactly the networks its plan names (the backup also its own egress)", () => {
    const { run, plan } = runs.get(key)!;
    // The mocks give every resource the id `<resource name>-id`.
    const idOf = new Map(byType(run, NETWORK).map((n) => [`${n.name}-id`, n.inputs.name as string]));
    const dockerName = new Map(plan.networks.map((n) => [n.name, n.dockerName]));
    const services = byType(run, SERVICE);
    expect(services.length).toBe(Object.keys(plan.services).length);
    for (const s of services) {
      const p = plan.services[s.inputs.name as keyof Plan["services"]]!;
      const joined = (s.inputs.taskSpec.networksAdvanceds as { id: string }[]).map((n) => idOf.get(n.id));
      const expected = p.networks.map((n) => dockerName.get(n));
      expect(joined).toEqual(p.name === "backup" ? [...expected, "advwell-backup-egress"] : expected);
    }
  });

  test("nothing the public reaches shares a network with Prometheus, Alertmanager, cAdvisor or the exporters", () => {
    const { plan } = runs.get(key)!;
    const edge = plan.networks.find((n) => n.name === "edge")!;
    expect(edge.services).toEqual(expect.arrayContaining(["traefik", "backend", "frontend"]));
    for (const svc of ["prometheus", "alertmanager", "cadvisor", "node-exporter", "postgres-exporter", "grafana", "postgres"] as const) expect(edge.services).not.toContain(svc);
  });

  test("every secret file is 0400, owned by the uid/gid its plan names", () => {
    const { run, plan } = runs.get(key)!;
    let files = 0;
    for (const s of byType(run, SERVICE)) {
      const p = plan.services[s.inputs.name as keyof Plan["services"]]!;
      for (const secret of (s.inputs.taskSpec.containerSpec.secrets ?? []) as Record<string, unknown>[]) {
        files++;
        expect({ service: p.name, fileName: secret.fileName, uid: secret.fileUid, gid: secret.fileGid, mode: secret.fileMode }).toEqual({
          service: p.name,
          fileName: secret.fileName,
          uid: String(p.secretFiles!.uid),
          gid: String(p.secretFiles!.gid),
          mode: 0o400,
        });
      }
    }
    expect(files).toBeGreaterThanOrEqual(5);
  });
});
