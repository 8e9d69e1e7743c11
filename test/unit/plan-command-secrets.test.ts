/**
 * Secrets and the offline plan command (issue 24 item 4, issue 22 item 6): a `secure:` value in a
 * stack file is a value that is set and known only at deploy time, on every output; and no output,
 * whatever the flag, prints a credential's value, whether it came from --set or a stack file.
 *
 * The stack files live in a temporary copy of the project's config folder, read with --cwd, so
 * no other test sees them.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { projectDir } from "../../config/stackConfig";
import { CONFIG_KEY_NAMES, CONFIG_KEYS, configKey } from "../../model";
import { PlanResult as Result, plans } from "../support/planBatch";

/** Every credential key of the key table: the test grows with it. */
const CREDENTIALS = CONFIG_KEY_NAMES.filter((k) => (CONFIG_KEYS[k] as { secret?: true }).secret === true);
/** A value no output may contain, recognisable wherever it would land. */
const MARK = "LEAKMARK7f3a";
/** A valid value for each credential, carrying the mark. */
const plainValue = (key: string) => (/url/i.test(key) ? `https://hooks.slack.com/services/T0/B0/${MARK}` : `${MARK}-${key}`);
const PROVIDER_SET = `aws:secretKey=${MARK}-aws`;
const SETS = [...CREDENTIALS.map((k) => `${configKey(k)}=${plainValue(k)}`), PROVIDER_SET];

/** Every output form: the plan, its JSON, the resources, each diff form and header (`@capture`: a saved --resources --json). */
const MODES: Readonly<Record<string, readonly string[]>> = {
  plan: [],
  "--json": ["--json"],
  "--resources": ["--resources"],
  "--resources --json": ["--resources", "--json"],
  "--diff --set (text)": ["--diff", "--set", "advwell:tier=starter"],
  "--diff --set --markdown": ["--diff", "--set", "advwell:tier=starter", "--markdown"],
  "--diff --set --json": ["--diff", "--set", "advwell:tier=starter", "--json"],
  "--diff staging --markdown": ["--diff", "staging", "--markdown"],
  "--diff-from --markdown": ["--diff-from", "@capture", "--markdown"],
};
/** Where the credentials come from: `secure:` values, plaintext in the stack file, or --set. */
const SOURCES: Readonly<Record<string, readonly string[]>> = {
  secure: ["--stack", "secure"],
  plain: ["--stack", "plain"],
  "--set": ["--stack", "production", ...SETS.flatMap((s) => ["--set", s])],
  // A provider's credential the plan does not refuse (it is the provider's to read): the diff runs,
  // and its header names the key with [secret].
  "provider --set": ["--stack", "production", "--set", PROVIDER_SET],
};

let dir: string;
const results: Record<string, Record<string, Result>> = {};
let productionCapture: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-plan-secrets-"));
  for (const f of ["Pulumi.yaml", "Pulumi.production.yaml", "Pulumi.staging.yaml"]) fs.copyFileSync(path.join(projectDir(), f), path.join(dir, f));
  const production = parse(fs.readFileSync(path.join(projectDir(), "Pulumi.production.yaml"), "utf8")).config as Record<string, unknown>;
  // As `pulumi config set --secret` leaves them: ciphertext the offline plan cannot read. The
  // adoption keys make the superuser password required, where "got undefined" used to appear.
  const secure: Record<string, unknown> = { ...production, "advwell:adoptPostgresVolume": "advtom_postgres_data", "advwell:adoptPostgresMajor": 15 };
  for (const k of CREDENTIALS) secure[configKey(k)] = { secure: `v1:${Buffer.from(`${MARK}-cipher-${k}`).toString("base64")}` };
  fs.writeFileSync(path.join(dir, "Pulumi.secure.yaml"), stringify({ config: secure }));
  // Plaintext credentials in a stack file: whether the plan refuses them or not, never echoed.
  const plain: Record<string, unknown> = { ...production };
  for (const k of CREDENTIALS) plain[configKey(k)] = plainValue(k);
  fs.writeFileSync(path.join(dir, "Pulumi.plain.yaml"), stringify({ config: plain }));

  const commands = Object.entries(SOURCES).flatMap(([source, sourceArgs]) =>
    Object.entries(MODES).map(([mode, modeArgs]) => ({ source, mode, args: ["--cwd", dir, ...sourceArgs, ...modeArgs.map((a) => (a === "@capture" ? path.join(dir, "capture.json") : a))] })),
  );
  // The capture that --diff-from reads is the batch's first command; its file is written before the rest run.
  const [capture] = await plans([["--cwd", dir, "--stack", "production", "--resources", "--json"]]);
  expect(capture.code).toBe(0);
  productionCapture = capture.out;
  fs.writeFileSync(path.join(dir, "capture.json"), capture.out);
  const outputs = await plans(commands.map((c) => c.args));
  commands.forEach((c, i) => ((results[c.source] ??= {})[c.mode] = outputs[i]));
}, 240000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("the key table has credentials to test", () => {
  expect(CREDENTIALS).toEqual(expect.arrayContaining(["postgresSuperuserPassword", "alertWebhookUrl"]));
});

describe("a stack file with a secure: value for every credential (issue 24 item 4)", () => {
  test.each(Object.keys(MODES))("%s: exits 0 with output, no key missing", (mode) => {
    const { code, out, err } = results.secure[mode];
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out.length).toBeGreaterThan(0);
    expect(out).not.toMatch(/the key is missing|got undefined/);
  });

  test("the plan reads them as set: alerts have a receiver, no finding about the credentials", () => {
    const planJson = JSON.parse(results.secure["--json"].out);
    expect(planJson.monitoring.alertReceiver).toBe("webhook");
    const keys = planJson.findings.map((f: { key: string }) => f.key);
    for (const k of CREDENTIALS) expect(keys).not.toContain(configKey(k));
  });

  test("the program reads them as secrets: the adopted cluster's configured password, not a generated one, delivered as [secret]", () => {
    const names = (json: string) => JSON.parse(json).resources.map((r: { name: string }) => r.name);
    expect(names(productionCapture)).toContain("advwell-postgres-superuser-password");
    const secure = JSON.parse(results.secure["--resources --json"].out).resources as { type: string; name: string; inputs: Record<string, unknown> }[];
    expect(secure.map((r) => r.name)).not.toContain("advwell-postgres-superuser-password");
    expect(secure.find((r) => r.type === "docker:index/secret:Secret" && r.name === "postgres-superuser-password")?.inputs.data).toBe("[secret]");
  });
});

describe("no output prints a credential's value (issue 22 item 6)", () => {
  const cases = Object.keys(SOURCES).flatMap((source) => Object.keys(MODES).map((mode) => [source, mode] as const));
  test.each(cases)("credentials from %s: %s", (source, mode) => {
    const { out, err } = results[source][mode];
    expect((out + err).length).toBeGreaterThan(0);
    expect(out + err).not.toContain(MARK);
    // Plaintext credentials (in the stack file or through --set) are refused with the command that
    // stores them encrypted; secure: values are accepted.
    if (source === "plain" || source === "--set") expect(out + err).toContain("pulumi config set --secret advwell:postgresSuperuserPassword");
  });

  test("the --diff header says which credentials were set, as [secret], in text, Markdown and JSON", () => {
    const header = `production with aws:secretKey=[secret] advwell:tier=starter`;
    const run = results["provider --set"];
    expect(run["--diff --set (text)"].out.split("\n")[0]).toContain(`diff production -> ${header}:`);
    expect(run["--diff --set --markdown"].out).toContain(`\`${header}\``);
    expect(JSON.parse(run["--diff --set --json"].out).after).toBe(header);
  });
});
