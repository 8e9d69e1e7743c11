import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const file = path.resolve(__dirname, "../../.github/workflows/preview.yml");
const workflow = parse(fs.readFileSync(file, "utf8"));
const steps = (job: string): { uses?: string; run?: string; with?: Record<string, unknown> }[] => workflow.jobs[job].steps;

describe("the PR preview workflow", () => {
  test("runs on pull requests and may comment", () => {
    expect(Object.keys(workflow.on)).toEqual(["pull_request"]);
    expect(workflow.permissions["pull-requests"]).toBe("write");
  });
  test("installs, type-checks and tests", () => {
    const runs = steps("test").map((s) => s.run).filter(Boolean);
    expect(runs).toEqual(expect.arrayContaining(["npm ci", "npm run typecheck", "npm test"]));
  });
  test("posts the offline diff of every stack against the base branch", () => {
    const text = JSON.stringify(steps("offline-diff"));
    expect(text).toContain("--diff-from");
    expect(text).toContain("--resources --json");
    expect(text).toContain("github.event.pull_request.base.sha");
  });
  test("runs pulumi preview per stack with comment-on-pr, only when credentials exist", () => {
    const job = workflow.jobs["pulumi-preview"];
    expect(job.if).toBe("needs.credentials.outputs.present == 'true'");
    expect(job.strategy.matrix.stack).toEqual(expect.arrayContaining(["production", "staging"]));
    const action = steps("pulumi-preview").find((s) => s.uses?.startsWith("pulumi/actions@"))!;
    expect(action.with).toMatchObject({ command: "preview", "comment-on-pr": true });
  });
  test("pins every action to an exact version", () => {
    const uses = Object.keys(workflow.jobs).flatMap((j) => steps(j).map((s) => s.uses).filter((u): u is string => !!u));
    expect(uses.length).toBeGreaterThan(5);
    for (const u of uses) expect(u).toMatch(/@v\d+\.\d+\.\d+$/);
  });
});
