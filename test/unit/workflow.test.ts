/**
 * What the pull-request workflows do: preview.yml (tests and the offline diff, no secret) and
 * pulumi-preview.yml (the real preview, behind a label and an approval). The trust rules every
 * workflow follows are in workflow-trust.test.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const load = (name: string) => parse(fs.readFileSync(path.resolve(__dirname, "../../.github/workflows", name), "utf8"));
type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };

describe("preview.yml", () => {
  const workflow = load("preview.yml");
  const steps = (job: string): Step[] => workflow.jobs[job].steps;
  test("runs on pull requests only", () => expect(Object.keys(workflow.on)).toEqual(["pull_request"]));
  test("installs, type-checks and tests", () => {
    const runs = steps("test").map((s) => s.run).filter(Boolean);
    expect(runs).toEqual(expect.arrayContaining(["npm ci", "npm run typecheck", "npm test"]));
  });
  test("diffs every stack against the base branch offline, and fails the check when a plan has errors", () => {
    const text = JSON.stringify(steps("offline-diff"));
    expect(text).toContain("--diff-from");
    expect(text).toContain("--resources --json");
    expect(text).toContain("github.event.pull_request.base.sha");
    const last = steps("offline-diff").at(-1)!;
    expect(last.run).toMatch(/exit 1/);
    expect(workflow.jobs["offline-diff"].permissions).toEqual({ contents: "read" });
  });
  test("the job that may comment runs none of the pull request's code: no checkout, no run step", () => {
    const comment = workflow.jobs.comment;
    expect(comment.permissions).toEqual({ "pull-requests": "write" });
    expect(comment.steps.every((s: Step) => s.run === undefined && !s.uses!.startsWith("actions/checkout@"))).toBe(true);
    expect(comment.steps.map((s: Step) => s.uses!.split("@")[0])).toEqual(["actions/download-artifact", "marocchino/sticky-pull-request-comment"]);
    expect(comment.needs).toBe("offline-diff");
  });
  test("has no Pulumi preview job (that one needs credentials: pulumi-preview.yml)", () => {
    expect(JSON.stringify(workflow)).not.toContain("pulumi/actions@");
  });
});

describe("pulumi-preview.yml", () => {
  const workflow = load("pulumi-preview.yml");
  const job = workflow.jobs.preview;
  const steps: Step[] = job.steps;
  test("starts only when the label `preview` is added, from the base branch's copy of this file", () => {
    expect(workflow.on).toEqual({ pull_request_target: { types: ["labeled"] } });
    expect(job.if).toBe("github.event.label.name == 'preview'");
  });
  test("waits for the pulumi-preview environment's reviewers before anything runs", () => {
    expect(Object.keys(workflow.jobs)).toEqual(["preview"]);
    expect(job.environment).toBe("pulumi-preview");
  });
  test("checks out exactly the commit the label was added at, without persisting the token", () => {
    const checkout = steps.find((s) => s.uses?.startsWith("actions/checkout@"))!;
    expect(checkout.with).toEqual({ ref: "${{ github.event.pull_request.head.sha }}", "persist-credentials": false });
    expect(steps.indexOf(checkout)).toBe(0);
  });
  test("uses no cache (a pull_request_target cache lands in the base branch's scope)", () => {
    for (const s of steps) expect(s.with?.cache).toBeUndefined();
  });
  test("previews each stack with the policy pack and comments on the pull request", () => {
    expect(job.strategy.matrix.stack).toEqual(expect.arrayContaining(["production", "staging"]));
    const action = steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
    expect(action.with).toMatchObject({ command: "preview", "comment-on-pr": true, policyPacks: "policy", "stack-name": "${{ matrix.stack }}" });
  });
});
