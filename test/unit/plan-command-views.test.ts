/**
 * What the plan command's diffs tell a reviewer (issues 14 and 24): property by property in human
 * units, a PostgreSQL restart and how long it takes, two stacks matched resource by resource, the
 * errors that block a change (first in the PR comment), and the password rotation command. The
 * commands run as bin/advwell-plan runs them, all in one process (test/support/planBatch.ts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { plannedRestart } from "../../model";
import { PlanResult, plans } from "../support/planBatch";
import { planFor } from "../support/stacks";

const COMMANDS = {
  starter: ["--stack", "production", "--diff", "--set", "advwell:tier=starter"],
  apiDomain: ["--stack", "production", "--diff", "--set", "advwell:apiDomain=api2.advwell.pro"],
  twoStacks: ["--stack", "staging", "--diff", "production", "--markdown"],
  scaleText: ["--stack", "production", "--diff", "--set", "advwell:tier=scale"],
  scaleMarkdown: ["--stack", "production", "--diff", "--set", "advwell:tier=scale", "--markdown"],
  rotate: ["--stack", "staging", "--rotate", "app-password"],
  // What the PR workflow runs: the base branch's capture against the branch (here: a tier change).
  fromCapture: ["--stack", "production", "--set", "advwell:tier=starter", "--diff-from", "@capture", "--markdown"],
} as const;
type Name = keyof typeof COMMANDS;

const results = {} as Record<Name, PlanResult>;
let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-plan-views-"));
  const capture = path.join(dir, "production.json");
  const [base] = await plans([["--stack", "production", "--resources", "--json"]]);
  expect(base.code).toBe(0);
  fs.writeFileSync(capture, base.out);
  const names = Object.keys(COMMANDS) as Name[];
  const outputs = await plans(names.map((n) => COMMANDS[n].map((a) => (a === "@capture" ? capture : a))));
  names.forEach((n, i) => (results[n] = outputs[i]));
}, 120000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("a tier change's diff", () => {
  test("shows the change property by property, in human units, never nano-CPUs or bytes", () => {
    const { code, out } = results.starter;
    expect(code).toBe(0);
    expect(out).toContain("~ docker:index/service:Service backend-service");
    expect(out).toContain("mode.replicated.replicas: 3 => 2");
    expect(out).not.toContain("STATEFUL");
    expect(out).toContain("taskSpec.resources.limits.nanoCpus: 2 CPU => 1 CPU");
    expect(out).toContain("taskSpec.resources.reservation.nanoCpus: 1 CPU => 0.5 CPU");
    expect(out).toContain("taskSpec.resources.limits.memoryBytes: 3 GiB => 2 GiB");
    expect(out).toMatch(/convergeConfig\.timeout: \d+ min( \d+ s)? => \d+ min/);
    expect(out).not.toMatch(/\b\d{7,}\b/);
  });
  test("says PostgreSQL restarts, for about N s, N from the new plan's timings", () => {
    // The starter tier's settings and resources change PostgreSQL's task spec.
    const postgres = planFor("production", ["advwell:tier=starter"]).services.postgres!;
    const { seconds, worstSeconds } = plannedRestart(postgres);
    expect(results.starter.out.split("\n")[1]).toBe(`!!! PostgreSQL restarts (about ${seconds} s unavailable; up to ${worstSeconds} s if its shutdown takes the whole ${postgres.stopGraceSeconds} s stop grace): its task spec changes (settings, mounts, CPU and memory)`);
  });
  test("--diff-from a capture of the same stack (the PR comment) says it too, first", () => {
    const { code, out } = results.fromCapture;
    expect(code).toBe(0);
    expect(out.split("\n")[2]).toMatch(/^> \*\*PostgreSQL restarts \(about 3\.5 s unavailable;/);
    expect(out).toContain("| taskSpec.resources.limits.nanoCpus | `2 CPU` | `1 CPU` |");
  });
  test("a change that leaves PostgreSQL's spec alone does not say it restarts", () => {
    expect(results.apiDomain.code).toBe(0);
    expect(results.apiDomain.out).toContain("api2.advwell.pro");
    expect(results.apiDomain.out).not.toContain("PostgreSQL restarts");
  });
});

test("--stack staging --diff production --markdown matches every resource and flags only the stateful ones that change (issue 24 item 9)", () => {
  const { code, out } = results.twoStacks;
  expect(code).toBe(0);
  expect(out).toMatch(/\*\*0 added, 0 removed, \d+ changed\*\*/);
  // The backup bucket differs by stack (its prefix, protection); the Postgres volume does not.
  expect(out).toContain("#### ✏️ `aws:s3/bucket:Bucket` backup-bucket ⚠️ STATEFUL");
  expect(out).not.toContain("postgres-data");
  // Two stacks are compared, not deployed one onto the other: no restart to announce.
  expect(out).toContain("postgres-service");
  expect(out).not.toContain("PostgreSQL restarts");
});

describe("a change the plan refuses still shows what it would do", () => {
  test("text: the diff, then the errors that block it, exit 1", () => {
    const { code, out, err } = results.scaleText;
    expect(code).toBe(1);
    expect(out).toContain("mode.replicated.replicas: 3 => 5");
    const blockedAt = out.indexOf("This change cannot be deployed: the plan has errors");
    expect(blockedAt).toBeGreaterThan(out.indexOf("mode.replicated.replicas"));
    expect(out.slice(blockedAt)).toContain("ERROR advwell:nodes\n  the scale tier needs 2 nodes like vps-1");
    expect(err).toMatch(/plan has errors: advwell:nodes/);
  });
  test("Markdown (the PR comment): \"cannot be deployed\" first, one nodes error saying how many, the services under it", () => {
    const { code, out } = results.scaleMarkdown;
    expect(code).toBe(1);
    expect(out.startsWith("> **This change cannot be deployed: the plan has errors.**\n\n- `advwell:nodes`: the scale tier needs 2 nodes like vps-1")).toBe(true);
    expect(out.indexOf("### Infrastructure diff")).toBeGreaterThan(out.indexOf("  - frontend: task 3 of 3"));
    expect(out.match(/^- `advwell:nodes`/gm)).toHaveLength(1);
  });
});

test("--rotate app-password prints the one pulumi up --replace command, with the stack's URN from the program run", () => {
  const { code, out, err } = results.rotate;
  expect({ code, err }).toEqual({ code: 0, err: "" });
  expect(out).toBe("pulumi up --stack staging --replace 'urn:pulumi:staging::advwell::advwell:stack:AdvWell$random:index/randomPassword:RandomPassword::advwell-postgres-app-password'\n");
});
