/**
 * Every workflow under .github/workflows, as data: valid against SchemaStore's GitHub workflow schema
 * (test/fixtures/schemas), every `uses:` pinned to an exact version tag or commit, and every `with:`
 * input declared by the pinned action's action.yml (test/fixtures/actions), required ones present.
 * (test/unit/workflow.test.ts checks what preview.yml does; this file checks that it is well formed.)
 */
import Ajv, { ErrorObject } from "ajv";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "../..");
const WORKFLOWS = path.join(ROOT, ".github/workflows");
const ACTIONS = path.join(ROOT, "test/fixtures/actions");
const schema = JSON.parse(fs.readFileSync(path.join(ROOT, "test/fixtures/schemas/github-workflow.json"), "utf8"));

// strict: false because SchemaStore's schema is valid draft-07 but not Ajv-strict: it uses union
// types and puts properties/items without a sibling `type` (Ajv's strictTypes would log ~100
// warnings). The schema uses no `format` keyword (asserted below), so ajv-formats is not needed.
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

const workflowFiles = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort();
const load = (file: string) => parse(fs.readFileSync(path.join(WORKFLOWS, file), "utf8"));

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}

function steps(workflow: any): { job: string; index: number; step: Step }[] {
  return Object.entries<any>(workflow.jobs ?? {}).flatMap(([job, j]) => (j.steps ?? []).map((step: Step, index: number) => ({ job, index, step })));
}

const PINNED = /^([\w.-]+)\/([\w.-]+)(\/[^@]*)?@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/;

/** What is wrong with one `uses:` step: unpinned, unknown action, undeclared or missing inputs. */
function stepProblems(step: Step, actionsDir = ACTIONS): string[] {
  const uses = step.uses!;
  if (uses.startsWith("./") || uses.startsWith("docker://")) return [];
  const m = PINNED.exec(uses);
  if (!m) return [`${uses} is not pinned to an exact version tag (vX.Y.Z) or a commit SHA`];
  const [, owner, repo, subpath, ref] = m;
  const file = path.join(actionsDir, `${owner}__${repo}${subpath ? subpath.replace(/\//g, "__") : ""}@${ref}.yml`);
  if (!fs.existsSync(file)) return [`${uses}: no action.yml kept as data (${path.basename(file)})`];
  const inputs: Record<string, { required?: boolean; default?: unknown }> = parse(fs.readFileSync(file, "utf8")).inputs ?? {};
  const given = Object.keys(step.with ?? {});
  return [
    ...given.filter((k) => !(k in inputs)).map((k) => `${uses}: unknown input "${k}" (declared: ${Object.keys(inputs).join(", ")})`),
    ...Object.entries(inputs)
      .filter(([k, i]) => i.required === true && i.default === undefined && !given.includes(k))
      .map(([k]) => `${uses}: missing required input "${k}"`),
  ];
}

const schemaErrors = (doc: unknown): ErrorObject[] => (validate(doc) ? [] : validate.errors ?? []);

describe.each(workflowFiles)("%s", (file) => {
  test("is valid against SchemaStore's github-workflow schema", () => {
    expect(schemaErrors(load(file)).map((e) => `${e.instancePath} ${e.message}`)).toEqual([]);
  });
  test("pins every action exactly and gives each only inputs its action.yml declares, required ones included", () => {
    const used = steps(load(file)).filter((s) => s.step.uses);
    expect(used.length).toBeGreaterThan(0);
    expect(used.flatMap((s) => stepProblems(s.step).map((p) => `${s.job}[${s.index}]: ${p}`))).toEqual([]);
  });
});

test("the workflows checked include deploy, drift and preview", () => {
  expect(workflowFiles).toEqual(expect.arrayContaining(["deploy.yml", "drift.yml", "preview.yml", "pulumi-preview.yml"]));
});

test("the schema needs no format validators", () => {
  expect(JSON.stringify(schema)).not.toMatch(/"format"\s*:/);
});

describe("the checks reject", () => {
  const deploy = () => load("deploy.yml");
  test("a job key the schema does not know (a typo of environment)", () => {
    const w = deploy();
    w.jobs.production.enviroment = w.jobs.production.environment;
    delete w.jobs.production.environment;
    expect(schemaErrors(w).length).toBeGreaterThan(0);
  });
  test("a concurrency group without cancel-in-progress as a boolean or expression", () => {
    const w = deploy();
    w.jobs.staging.concurrency["cancel-in-progress"] = "no";
    expect(schemaErrors(w).length).toBeGreaterThan(0);
  });
  test("an input the action does not declare", () => {
    const pulumiActions = "pulumi/actions@c7fad9e2f0b79653172b36538b8b34b3c0291952";
    expect(stepProblems({ uses: pulumiActions, with: { command: "up", "stack-name": "staging", "policy-packs": "policy" } })).toEqual([
      expect.stringMatching(/^pulumi\/actions@c7fad9e2f0b7\w+: unknown input "policy-packs"/),
    ]);
  });
  test("a missing required input", () => {
    const dir = fs.mkdtempSync(path.join(require("os").tmpdir(), "actions-"));
    fs.writeFileSync(path.join(dir, "example__needs-input@v1.0.0.yml"), "name: x\ninputs:\n  token:\n    required: true\n  level:\n    required: true\n    default: info\n");
    expect(stepProblems({ uses: "example/needs-input@v1.0.0", with: { level: "debug" } }, dir)).toEqual(['example/needs-input@v1.0.0: missing required input "token"']);
    expect(stepProblems({ uses: "example/needs-input@v1.0.0", with: { token: "t" } }, dir)).toEqual([]);
    fs.rmSync(dir, { recursive: true });
  });
  test.each([["actions/checkout@v4"], ["actions/checkout@main"], ["actions/checkout@v4.2"]])("%s, which is not an exact pin", (uses) => {
    expect(stepProblems({ uses })).toEqual([expect.stringMatching(/is not pinned/)]);
  });
  test("a pinned action with no action.yml kept as data", () => {
    expect(stepProblems({ uses: "actions/checkout@v4.2.1" })).toEqual([expect.stringMatching(/no action.yml kept as data/)]);
  });
  test("a commit SHA counts as a pin (and then needs that commit's action.yml)", () => {
    expect(stepProblems({ uses: `actions/checkout@${"1".repeat(40)}` })).toEqual([expect.stringMatching(/no action.yml kept as data \(actions__checkout@1{40}\.yml\)/)]);
  });
});
