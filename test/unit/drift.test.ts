/**
 * The drift summariser (.github/scripts/drift-summary.ts) over `pulumi preview --refresh --json`
 * digests in the shape pkg/display/json.go writes (PreviewDigest: steps with op, urn, oldState and
 * newState as apitype.ResourceV3, diffReasons, detailedDiff of {kind, inputDiff}).
 */
import * as fs from "fs";
import * as path from "path";
import { driftLines, driftMarkdown, formatValue, main, parsePath, PreviewDigest, valueAt } from "../../.github/scripts/drift-summary";

const FIXTURES = path.resolve(__dirname, "../fixtures/drift");
const fixture = (name: string): PreviewDigest => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), "utf8"));

describe("drift in the plan's terms", () => {
  test("docker service scale backend=5 against a plan of 3", () => {
    expect(driftLines(fixture("scale-backend.json"))).toEqual(["backend runs 5 replicas, plan says 3"]);
  });
  test("docker service update --image ... --limit-memory 2g --limit-cpu 1.5 backend", () => {
    expect(driftLines(fixture("update-backend-image-limits.json"))).toEqual([
      expect.stringMatching(/^backend runs image tomautomations\/advwell-backend:v53@sha256:[0-9a-f]{64}, plan says tomautomations\/advwell-backend:v52$/),
      "backend has a memory limit of 2 GiB, plan says 1 GiB",
      "backend has a CPU limit of 1.5 CPUs, plan says 1 CPU",
    ]);
  });
  test("other resources get a generic line; a removed resource is missing; secrets never print", () => {
    const lines = driftLines(fixture("bucket-volume-secret.json"));
    expect(lines).toEqual([
      'BucketVersioning backup-versioning versioningConfiguration.status: live "Suspended", code "Enabled"',
      "Volume monitoring-grafana-data does not exist live (removed by hand?); pulumi up creates it",
      "Secret advwell-database-url data: live [secret], code [secret] (pulumi up replaces it)",
    ]);
    expect(lines.join()).not.toMatch(/ciphertext|AAAB/);
  });
  test("a preview of only unchanged resources is no drift", () => {
    expect(driftLines(fixture("no-drift.json"))).toEqual([]);
  });
  test("the program's step wins over the refresh step of the same resource", () => {
    const digest = fixture("scale-backend.json");
    const [refresh, program] = digest.steps!.filter((s) => s.urn.endsWith("backend-service"));
    expect(refresh.oldState!.inputs!.mode).toEqual({ replicated: { replicas: 3 } });
    expect(driftLines({ steps: [refresh, { ...program, op: "same" }] })).toEqual([]);
  });
});

describe("the issue body and the command", () => {
  test("names the stack, lists the drift, counts the changes and says how to fix it", () => {
    const md = driftMarkdown("production", fixture("scale-backend.json"), "https://github.com/o/r/actions/runs/7");
    expect(md).toContain("`production`");
    expect(md).toContain("- backend runs 5 replicas, plan says 3");
    expect(md).toContain("Changes pulumi up would make: update 1.");
    expect(md).toContain("[run](https://github.com/o/r/actions/runs/7)");
    expect(md).toContain("pulumi up");
  });
  test.each([
    ["scale-backend.json", 2, /backend runs 5 replicas/],
    ["no-drift.json", 0, /^$/],
  ])("%s exits %i", (file, code, body) => {
    let out = "";
    expect(main([path.join(FIXTURES, file), "--stack", "production"], (s) => (out += s), () => undefined)).toBe(code);
    expect(out).toMatch(body);
  });
  test("a file that is not a digest exits 1 and says so", () => {
    let err = "";
    expect(main([path.join(FIXTURES, "..", "actions", "pulumi__actions@c7fad9e2f0b79653172b36538b8b34b3c0291952.yml")], () => undefined, (s) => (err += s))).toBe(1);
    expect(err).toMatch(/is not a pulumi preview --json digest/);
  });
});

describe("property paths", () => {
  test.each<[string, (string | number)[]]>([
    ["mode.replicated.replicas", ["mode", "replicated", "replicas"]],
    ["labels[3].value", ["labels", 3, "value"]],
    ['tags["advwell.stateful"]', ["tags", "advwell.stateful"]],
  ])("%s", (p, parts) => expect(parsePath(p)).toEqual(parts));
  test("a path into a secret stops at the secret", () => {
    const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "x" };
    expect(formatValue(valueAt({ a: secret }, "a.b.c"))).toBe("[secret]");
  });
});
