import { diffResources, formatDiffMarkdown, Plan, ResourceDiff, STATEFUL_TYPES, TIERS } from "../../model";
import { redactSecrets } from "../../scripts/lib/mockProgram";
import { ProgramRun, runProgram } from "../support/program";
import { planFor, seedNodes } from "../support/stacks";

/** What the plan command captures, URNs included (they name the stack). */
const view = (run: ProgramRun) =>
  run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => ({ urn: r.urn, type: r.type, name: r.name, protect: r.protect, retainOnDelete: r.retainOnDelete, inputs: redactSecrets(r.rawInputs) }));

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

describe("two real stacks, URNs as captured (issue 24 item 9)", () => {
  type View = ReturnType<typeof view>[number];
  const comparable = (r: View) => JSON.stringify({ inputs: r.inputs, protect: r.protect, retainOnDelete: r.retainOnDelete });
  /** The oracle: a staging resource is the production one whose URN differs only in the stack's name. */
  function pairs() {
    const prod = new Map(view(production).map((r) => [r.urn, r]));
    return view(staging).map((s) => ({ staging: s, production: prod.get(s.urn.replace(/^urn:pulumi:staging::/, "urn:pulumi:production::")) }));
  }

  test("the URNs name the stack, so matching by URN alone would pair nothing", () => {
    const stagingUrns = new Set(view(staging).map((r) => r.urn));
    expect(view(production).filter((r) => stagingUrns.has(r.urn))).toEqual([]);
    expect(view(staging).every((r) => r.urn.startsWith("urn:pulumi:staging::advwell::"))).toBe(true);
  });

  test("every resource is matched by type and name: none added or removed, and exactly the resources whose inputs differ are changed", () => {
    const diff = diffResources("staging", view(staging), "production", view(production));
    const matched = pairs();
    expect(matched.every((p) => p.production !== undefined)).toBe(true);
    expect(view(production)).toHaveLength(view(staging).length);
    const differing = matched.filter((p) => comparable(p.staging) !== comparable(p.production!)).map((p) => `${p.staging.type} ${p.staging.name}`).sort();
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(diff.changed.map((r) => `${r.type} ${r.name}`).sort()).toEqual(differing);
    // The tiers differ (starter and growth), and so do the domains: many changes, but far from all.
    expect(differing.length).toBeGreaterThan(5);
    expect(differing.length).toBeLessThan(matched.length / 2);
  });

  test("the STATEFUL flag marks exactly the volumes and buckets whose inputs differ, and the Postgres volume is not one", () => {
    const diff = diffResources("staging", view(staging), "production", view(production));
    const statefulChanged = pairs()
      .filter((p) => STATEFUL_TYPES.has(p.staging.type) && comparable(p.staging) !== comparable(p.production!))
      .map((p) => p.staging.name)
      .sort();
    expect(diff.changed.filter((r) => r.stateful).map((r) => r.name).sort()).toEqual(statefulChanged);
    expect(statefulChanged).not.toContain("postgres-data");
    expect(view(staging).some((r) => r.type === "docker:index/volume:Volume" && r.name === "postgres-data")).toBe(true);
    const markdown = formatDiffMarkdown(diff);
    expect(markdown.includes("STATEFUL: this change touches a volume or bucket")).toBe(statefulChanged.length > 0);
    // One flag per stateful heading, plus the banner when there is any.
    expect(markdown.split("⚠️ STATEFUL").length - 1).toBe(statefulChanged.length + (statefulChanged.length > 0 ? 1 : 0));
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
