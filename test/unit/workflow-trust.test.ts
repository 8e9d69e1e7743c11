/**
 * The trust model of docs/delivery.md ("Who can run what"), checked on every workflow as data:
 * - code a pull request controls never runs with a secret: no job of a `pull_request` workflow
 *   names a secret other than GITHUB_TOKEN, or an environment (whose secrets it would get);
 * - a job that names a deploy secret runs in a GitHub Environment (where those secrets live), and
 *   either only on main (`if: github.ref == 'refs/heads/main'`, in a workflow that push to main,
 *   a schedule or a dispatch starts), or in a `pull_request_target` workflow behind an environment
 *   whose reviewers must approve;
 * - a `pull_request_target` workflow restores and saves no cache;
 * - no run script hides a failure with `|| true` (or `|| :`, `|| exit 0`);
 * - every checkout drops the token (`persist-credentials: false`);
 * - tokens get nothing by default (`permissions: {}`), each job says what it needs, and write
 *   access is exactly the list below;
 * - every action is pinned by a full commit SHA, its tag in a comment.
 * Each rule is shown to catch a broken copy of a real workflow.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const WORKFLOWS = path.resolve(__dirname, "../../.github/workflows");
const FILES = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort();
const text = (file: string) => fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
const load = (file: string) => parse(text(file));

/** Environments whose required reviewers approve every job that uses them (docs/delivery.md, setup). */
const APPROVAL_ENVIRONMENTS = ["production", "pulumi-preview"];
/** Every write scope a job's token gets: workflow/job -> scopes. */
const WRITES: Record<string, string[]> = {
  "preview.yml/comment": ["pull-requests"],
  "pulumi-preview.yml/preview": ["pull-requests"],
  "drift.yml/drift": ["issues"],
};
const UNTRUSTED_EVENTS = ["pull_request", "pull_request_review", "pull_request_review_comment"];
const MAIN_ONLY = "github.ref == 'refs/heads/main'";

const triggers = (w: any): string[] => (typeof w.on === "string" ? [w.on] : Array.isArray(w.on) ? w.on : Object.keys(w.on ?? {}));
const secretsNamed = (job: unknown): string[] => [...new Set([...JSON.stringify(job).matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]))];
const steps = (job: any): any[] => job.steps ?? [];

/** What breaks the trust model in one workflow (parsed), by job. */
function trustProblems(file: string, w: any): string[] {
  const out: string[] = [];
  const on = triggers(w);
  const untrusted = on.some((t) => UNTRUSTED_EVENTS.includes(t));
  const target = on.includes("pull_request_target");
  if (target && on.length > 1) out.push(`${file}: pull_request_target shares the workflow with ${on.filter((t) => t !== "pull_request_target").join(", ")}`);
  if (w.on?.push && JSON.stringify(w.on.push.branches) !== JSON.stringify(["main"])) out.push(`${file}: push runs on ${JSON.stringify(w.on.push.branches ?? "every branch")}, not only main`);
  if (JSON.stringify(w.permissions) !== "{}") out.push(`${file}: top-level permissions are ${JSON.stringify(w.permissions)}, not {}`);
  for (const [name, job] of Object.entries<any>(w.jobs ?? {})) {
    const where = `${file}/${name}`;
    const deploySecrets = secretsNamed(job).filter((s) => s !== "GITHUB_TOKEN");
    if (untrusted && deploySecrets.length > 0) out.push(`${where}: a pull_request job names ${deploySecrets.join(", ")}`);
    if (untrusted && job.environment !== undefined) out.push(`${where}: a pull_request job runs in environment ${JSON.stringify(job.environment)}, whose secrets it would get`);
    if (deploySecrets.length > 0 && !untrusted) {
      if (job.environment === undefined) out.push(`${where}: names ${deploySecrets.join(", ")} outside a GitHub Environment`);
      if (target) {
        if (!APPROVAL_ENVIRONMENTS.includes(job.environment)) out.push(`${where}: a pull_request_target job with secrets in environment ${JSON.stringify(job.environment)}, which has no required reviewers`);
      } else if (!String(job.if ?? "").includes(MAIN_ONLY)) {
        out.push(`${where}: names ${deploySecrets.join(", ")} but does not run only on main (if: ${MAIN_ONLY})`);
      }
    }
    if (target) {
      for (const s of steps(job)) {
        const ref = String(s.with?.ref ?? "");
        if (s.uses?.startsWith("actions/checkout@") && /pull_request\.head|github\.head_ref/.test(ref) && !APPROVAL_ENVIRONMENTS.includes(job.environment)) {
          out.push(`${where}: checks out the pull request (${ref}) without an approval environment`);
        }
        if (s.with?.cache !== undefined || s.uses?.startsWith("actions/cache")) out.push(`${where}: uses a cache in a pull_request_target workflow (it would be saved in the base branch's scope)`);
      }
    }
    for (const s of steps(job)) {
      if (typeof s.run === "string" && /\|\|\s*(true|:|exit 0)(\s|;|$)/m.test(s.run)) out.push(`${where}: a run script hides a failure with || true`);
      if (s.uses?.startsWith("actions/checkout@") && s.with?.["persist-credentials"] !== false) out.push(`${where}: a checkout keeps the token in .git/config (persist-credentials is not false)`);
    }
    if (job.permissions === undefined) out.push(`${where}: no job-level permissions`);
    const writes = Object.entries<string>(job.permissions ?? {}).filter(([, v]) => v === "write").map(([k]) => k).sort();
    if (JSON.stringify(writes) !== JSON.stringify(WRITES[where] ?? [])) out.push(`${where}: writes ${JSON.stringify(writes)}, expected ${JSON.stringify(WRITES[where] ?? [])}`);
  }
  return out;
}

/** `uses:` lines not pinned to a full commit SHA with its tag in a comment. */
function pinProblems(file: string, source: string): string[] {
  return source
    .split("\n")
    .filter((l) => /^\s*(-\s+)?uses:/.test(l))
    .filter((l) => !/uses:\s+[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+\s*$/.test(l))
    .map((l) => `${file}: ${l.trim()} is not pinned to a commit SHA with its tag in a comment`);
}

describe.each(FILES)("%s", (file) => {
  test("follows the trust model", () => expect(trustProblems(file, load(file))).toEqual([]));
  test("pins every action by commit SHA", () => {
    expect(text(file)).toMatch(/uses:/);
    expect(pinProblems(file, text(file))).toEqual([]);
  });
});

test("the workflows checked are deploy, drift, preview and pulumi-preview", () => {
  expect(FILES).toEqual(["deploy.yml", "drift.yml", "preview.yml", "pulumi-preview.yml"]);
});

describe("the trust checks catch", () => {
  const broken = (file: string, breakIt: (w: any) => void) => {
    const w = load(file);
    breakIt(w);
    return trustProblems(file, w);
  };
  test.each<[string, string, (w: any) => void, RegExp]>([
    ["a deploy secret in a pull_request job", "preview.yml", (w) => (w.jobs.test.steps[2].env = { KEY: "${{ secrets.DEPLOY_SSH_KEY }}" }), /preview.yml\/test: a pull_request job names DEPLOY_SSH_KEY/],
    ["an environment on a pull_request job", "preview.yml", (w) => (w.jobs["offline-diff"].environment = "staging"), /runs in environment "staging"/],
    ["the old preview: pull_request with the passphrase", "preview.yml", (w) => (w.jobs.p = { permissions: {}, steps: [{ env: { P: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" }, run: "pulumi preview" }] }), /names PULUMI_CONFIG_PASSPHRASE/],
    ["a deploy job without an environment", "deploy.yml", (w) => delete w.jobs.production.environment, /production: names .* outside a GitHub Environment/],
    ["a deploy job that a dispatch on any branch runs", "deploy.yml", (w) => delete w.jobs.staging.if, /staging: names .* does not run only on main/],
    ["a deploy on pushes to every branch", "deploy.yml", (w) => delete w.on.push.branches, /push runs on "every branch"/],
    ["drift without its environment", "drift.yml", (w) => delete w.jobs.drift.environment, /outside a GitHub Environment/],
    ["the PR preview in an environment without reviewers", "pulumi-preview.yml", (w) => (w.jobs.preview.environment = "staging"), /no required reviewers/],
    ["pull_request_target sharing a file with pull_request", "pulumi-preview.yml", (w) => (w.on.pull_request = null), /shares the workflow with pull_request/],
    ["a checkout of the PR head before approval", "pulumi-preview.yml", (w) => (w.jobs.lint = { permissions: {}, steps: [{ uses: "actions/checkout@x", with: { ref: "${{ github.event.pull_request.head.sha }}", "persist-credentials": false } }] }), /lint: checks out the pull request/],
    ["an npm cache under pull_request_target", "pulumi-preview.yml", (w) => (w.jobs.preview.steps[1].with.cache = "npm"), /uses a cache/],
    ["|| true in a run script", "preview.yml", (w) => (w.jobs.test.steps[2].run = "npm ci || true"), /hides a failure/],
    ["|| exit 0 in a run script", "preview.yml", (w) => (w.jobs["offline-diff"].steps[4].run = "cd base\nnpm ci || exit 0\n"), /offline-diff: a run script hides a failure/],
    ["a checkout that keeps the token", "deploy.yml", (w) => delete w.jobs.test.steps[0].with["persist-credentials"], /keeps the token/],
    ["write-all at the top", "drift.yml", (w) => (w.permissions = "write-all"), /top-level permissions are "write-all"/],
    ["a job without permissions", "deploy.yml", (w) => delete w.jobs.test.permissions, /test: no job-level permissions/],
    ["a write scope nobody asked for", "preview.yml", (w) => (w.jobs["offline-diff"].permissions["pull-requests"] = "write"), /offline-diff: writes \["pull-requests"\], expected \[\]/],
  ])("%s", (_, file, breakIt, message) => {
    expect(trustProblems(file, load(file))).toEqual([]);
    expect(broken(file, breakIt).join("\n")).toMatch(message);
  });
  test.each([
    ["      - uses: actions/checkout@v4.2.2"],
    ["      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"],
    ["        uses: pulumi/actions@c7fad9e2f0b79653172b36538b8b34b3c0291952 # main"],
  ])("an action pinned as %s", (line) => expect(pinProblems("x.yml", line)).toHaveLength(1));
});
