/**
 * What deploy.yml and drift.yml do, read as data, and the shell scripts they call, run against
 * stub `gh` and `npm` commands (no GitHub, no Pulumi CLI here).
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "../..");
const workflow = (name: string) => parse(fs.readFileSync(path.join(ROOT, ".github/workflows", name), "utf8"));
type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };
const stepsOf = (job: any): Step[] => job.steps;
const pulumiStep = (job: any) => stepsOf(job).find((s) => s.uses?.startsWith("pulumi/actions@"))!;

describe("deploy.yml", () => {
  const w = workflow("deploy.yml");
  test("runs on pushes to main", () => expect(w.on.push.branches).toEqual(["main"]));
  test("tests first, then staging, then production", () => {
    expect(stepsOf(w.jobs.test).some((s) => s.run?.includes(".ci/run"))).toBe(true);
    expect(w.jobs.staging.needs).toBe("test");
    expect(w.jobs.production.needs).toBe("staging");
  });
  test("production deploys through the production GitHub Environment (its reviewers approve)", () => {
    expect(w.jobs.production.environment).toBe("production");
    expect(w.jobs.staging.environment).toBe("staging");
  });
  test.each(["staging", "production"])("%s: one deploy at a time, never cancelled halfway", (stack) => {
    expect(w.jobs[stack].concurrency).toEqual({ group: `pulumi-${stack}`, "cancel-in-progress": false });
  });
  test.each(["staging", "production"])("%s: the offline plan gates pulumi up, which runs the policy pack on that stack", (stack) => {
    const steps = stepsOf(w.jobs[stack]);
    const gate = steps.findIndex((s) => s.run?.includes(".github/scripts/plan-gate.sh"));
    const up = steps.indexOf(pulumiStep(w.jobs[stack]));
    expect(w.jobs[stack].env.STACK).toBe(stack);
    expect(gate).toBeGreaterThan(-1);
    expect(gate).toBeLessThan(up);
    expect(pulumiStep(w.jobs[stack]).with).toMatchObject({ command: "up", "stack-name": stack, policyPacks: "policy" });
  });
  test.each(["staging", "production"])("%s: credentials come from secrets (token or self-managed backend, AWS, SSH)", (stack) => {
    const text = JSON.stringify(w.jobs[stack]);
    for (const s of ["PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DEPLOY_SSH_KEY", "DEPLOY_KNOWN_HOSTS"]) {
      expect(text).toContain(`secrets.${s}`);
    }
    expect(pulumiStep(w.jobs[stack]).with!["cloud-url"]).toBe("${{ secrets.PULUMI_BACKEND_URL }}");
  });
});

describe("drift.yml", () => {
  const w = workflow("drift.yml");
  const job = w.jobs.drift;
  test("runs on a schedule and on demand, for each deployed stack", () => {
    expect(w.on.schedule).toHaveLength(1);
    expect(w.on).toHaveProperty("workflow_dispatch");
    expect(job.strategy.matrix.stack).toEqual(["production", "staging"]);
    expect(job.strategy["fail-fast"]).toBe(false);
  });
  test("previews with refresh, expecting no changes, as JSON, with the policy pack", () => {
    const preview = stepsOf(job).find((s) => s.run?.includes("pulumi preview"))!.run!;
    for (const flag of ["--refresh", "--expect-no-changes", "--json", "--policy-pack policy", '--stack "$STACK"']) expect(preview).toContain(flag);
  });
  test("names the drift, then opens, updates or closes the stack's issue", () => {
    const runs = stepsOf(job).map((s) => s.run ?? "").join("\n");
    expect(runs).toContain(".github/scripts/drift-summary.ts preview.json");
    expect(runs).toContain('.github/scripts/drift-issue.sh "$STACK" drift.md "$DRIFT"');
    expect(job.permissions.issues).toBe("write");
  });
});

/** A directory with stub commands that log their arguments to calls.log. */
function stubs(commands: Record<string, string>): { dir: string; calls: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stubs-"));
  for (const [name, body] of Object.entries(commands)) {
    fs.writeFileSync(path.join(dir, name), `#!/usr/bin/env bash\necho "${name} $*" >> "${dir}/calls.log"\n${body}\n`, { mode: 0o755 });
  }
  return { dir, calls: () => (fs.existsSync(path.join(dir, "calls.log")) ? fs.readFileSync(path.join(dir, "calls.log"), "utf8").trim().split("\n") : []) };
}

describe("drift-issue.sh keeps one issue per stack", () => {
  const run = (existing: string, drift: "true" | "false") => {
    const s = stubs({ gh: `if [ "$1 $2" = "issue list" ]; then printf '%s' "${existing}"; fi` });
    const body = path.join(s.dir, "drift.md");
    fs.writeFileSync(body, "- backend runs 5 replicas, plan says 3\n");
    execFileSync("bash", [path.join(ROOT, ".github/scripts/drift-issue.sh"), "production", body, drift], { env: { ...process.env, PATH: `${s.dir}:${process.env.PATH}` } });
    const calls = s.calls();
    fs.rmSync(s.dir, { recursive: true });
    return calls.slice(1); // after `gh issue list`
  };
  test("drift, no open issue: creates one, labelled drift", () => {
    expect(run("", "true")).toEqual([expect.stringMatching(/^gh label create drift /), expect.stringMatching(/^gh issue create --title Drift on production: what runs differs from the code --label drift --body-file /)]);
  });
  test("drift, an open issue: replaces its body", () => {
    expect(run("12", "true")).toEqual([expect.stringMatching(/^gh label create drift /), expect.stringMatching(/^gh issue edit 12 --body-file .*drift\.md$/)]);
  });
  test("no drift, an open issue: closes it with a comment", () => {
    expect(run("12", "false")).toEqual([expect.stringMatching(/^gh issue close 12 --comment No drift on `production` at /)]);
  });
  test("no drift, no issue: does nothing", () => {
    expect(run("", "false")).toEqual([]);
  });
});

describe("plan-gate.sh", () => {
  test("a plan with errors: the capacity table still reaches the summary, and the gate exits 1", () => {
    const snapshot = fs.readFileSync(path.join(ROOT, "test/fixtures/plan-snapshots/production.enterprise.json.txt"), "utf8");
    const json = snapshot.slice(snapshot.indexOf("# stdout\n") + 9, snapshot.indexOf("\n# stderr") < 0 ? undefined : snapshot.indexOf("\n# stderr"));
    const s = stubs({ npm: `if [[ " $* " == *" --json "* ]]; then cat "$(dirname "$0")/plan.json"; fi; exit 1` });
    fs.writeFileSync(path.join(s.dir, "plan.json"), json);
    const summary = path.join(s.dir, "summary.md");
    const r = spawnSync("bash", [path.join(ROOT, ".github/scripts/plan-gate.sh"), "production"], {
      cwd: ROOT,
      env: { ...process.env, PATH: `${s.dir}:${process.env.PATH}`, GITHUB_STEP_SUMMARY: summary },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(fs.readFileSync(summary, "utf8")).toMatch(/this stack is not deployed/);
    expect(r.stdout).toContain("::error title=Plan of production has errors::");
    expect(s.calls()).toEqual(["npm run -s plan -- --stack production --json", "npm run -s plan -- --stack production"]);
    fs.rmSync(s.dir, { recursive: true });
  });
});
