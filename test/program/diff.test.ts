import { diffResources, formatDiffMarkdown, Plan, ResourceDiff, TIERS } from "../../model";
import { redactSecrets } from "../../scripts/lib/mockProgram";
import { ProgramRun, runProgram } from "../support/program";
import { planFor, seedNodes } from "../support/stacks";

const view = (run: ProgramRun) =>
  run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => ({ type: r.type, name: r.name, protect: r.protect, retainOnDelete: r.retainOnDelete, inputs: redactSecrets(r.rawInputs) }));

/** Replica, resource and PostgreSQL-setting changes a tier move implies, computed from the plans. */
function expectedTuning(before: Plan, after: Plan): string[] {
  const changes: string[] = [];
  for (const name of ["postgres", "backend", "frontend", "traefik"] as const) {
    const a = before.services[name]!;
    const b = after.services[name]!;
    const svc = `${name}-service`;
    if (a.replicas !== b.replicas) changes.push(`${svc} mode.replicated.replicas`);
    if (a.cpuLimit !== b.cpuLimit) changes.push(`${svc} taskSpec.resources.limits.nanoCpus`);
    if (a.memoryLimitMiB !== b.memoryLimitMiB) changes.push(`${svc} taskSpec.resources.limits.memoryBytes`);
    if (a.cpuReservation !== b.cpuReservation) changes.push(`${svc} taskSpec.resources.reservation.nanoCpus`);
    if (a.memoryReservationMiB !== b.memoryReservationMiB) changes.push(`${svc} taskSpec.resources.reservation.memoryBytes`);
    if (a.update.parallelism !== b.update.parallelism) changes.push(`${svc} updateConfig.parallelism`, `${svc} rollbackConfig.parallelism`);
  }
  const names = new Set([...Object.keys(before.postgres.settings), ...Object.keys(after.postgres.settings)]);
  for (const n of names) if (before.postgres.settings[n] !== after.postgres.settings[n]) changes.push(`postgres-service taskSpec.containerSpec.args[${n}]`);
  // Not tuning, but a flag value too: the monitoring UIs' external URL is under the dashboard's host.
  if (before.monitoring && after.monitoring && before.edge.hosts.dashboard !== after.edge.hosts.dashboard) {
    changes.push("monitoring-alertmanager taskSpec.containerSpec.args[web.external-url]", "monitoring-prometheus taskSpec.containerSpec.args[web.external-url]");
  }
  return changes.sort();
}

const TUNING = /mode\.replicated|taskSpec\.resources|containerSpec\.args\[(?!--)|Config\.parallelism/;
function tuningChanges(diff: ResourceDiff): string[] {
  return diff.changed.flatMap((r) => r.changes.filter((c) => TUNING.test(c.path)).map((c) => `${r.name} ${c.path}`)).sort();
}

let production: ProgramRun;
let staging: ProgramRun;
beforeAll(async () => {
  production = await runProgram("production");
  staging = await runProgram("staging");
}, 30000);

describe("diff between the staging and production stacks", () => {
  test("lists exactly the replica and tuning changes the tier table implies (starter -> growth)", () => {
    const diff = diffResources("staging", view(staging), "production", view(production));
    const expected = expectedTuning(planFor("staging"), planFor("production"));
    expect(expected).toContain("backend-service mode.replicated.replicas");
    expect(TIERS.growth.backendReplicas).not.toBe(TIERS.starter.backendReplicas);
    expect(tuningChanges(diff)).toEqual(expected);
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
  });
});

describe.each(["starter", "scale", "business", "enterprise"])("a tier change to %s", (tier) => {
  let diff: ResourceDiff;
  beforeAll(async () => {
    const sets = [`advwell:tier=${tier}`, seedNodes(3)];
    diff = diffResources("production", view(production), tier, view(await runProgram("production", sets)));
  }, 30000);
  test("changes nothing about the Postgres volume or the backup bucket", () => {
    expect(view(production).filter((r) => r.type === "aws:s3/bucket:Bucket")).toHaveLength(1);
    const stateful = [...diff.changed, ...diff.added, ...diff.removed].filter((r) => r.type === "docker:index/volume:Volume" && r.name === "postgres-data" || r.type === "aws:s3/bucket:Bucket");
    expect(stateful).toEqual([]);
  });
  test("changes the replicas and tuning the plan says, and only those", () => {
    const expected = expectedTuning(planFor("production"), planFor("production", [`advwell:tier=${tier}`, seedNodes(3)]));
    expect(tuningChanges(diff)).toEqual(expected);
  });
});

describe("the Markdown form", () => {
  test("is stable for a known pair of configs and carries no secret", async () => {
    const after = await runProgram("production", ["advwell:tier=starter"]);
    const markdown = formatDiffMarkdown(diffResources("production", view(production), "production (tier=starter)", view(after)));
    for (const s of [...production.generatedSecrets, ...after.generatedSecrets]) expect(markdown).not.toContain(s);
    expect(markdown).toMatchSnapshot();
  });
  test("flags a change to a stateful resource loudly", () => {
    const before = view(production);
    const after = before.map((r) => (r.type === "docker:index/volume:Volume" && r.name === "postgres-data" ? { ...r, inputs: { ...r.inputs, driver: "nfs" } } : r));
    const markdown = formatDiffMarkdown(diffResources("a", before, "b", after));
    expect(markdown).toContain("STATEFUL: this change touches a volume or bucket");
    expect(markdown).toContain("| driver | `local` | `nfs` |");
  });
});
