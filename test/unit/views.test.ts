/** The reviewer's views: Markdown cells keep backticks, the resource tree follows URNs, stack files name themselves in errors. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadStackConfig } from "../../config/stackConfig";
import { base64ToText, codeCell, diffResources, formatDiffMarkdown, formatResourceTree, ResourceNode, textToBase64 } from "../../model";

describe("Markdown diff cells", () => {
  test("a Traefik rule keeps its backticks: the code span is fenced with more backticks than it holds", () => {
    expect(codeCell("Host(`api.advwell.pro`)")).toBe("`` Host(`api.advwell.pro`) ``");
    expect(codeCell("plain")).toBe("`plain`");
    expect(codeCell("a | b")).toBe("`a \\| b`");
  });
  test("in a whole diff, the before and after of a rule show the real rule", () => {
    const r = (rule: string) => ({ type: "docker:index/service:Service", name: "backend-service", protect: false, retainOnDelete: false, inputs: { labels: [{ label: "traefik.http.routers.backend.rule", value: rule }] } });
    const md = formatDiffMarkdown(diffResources("a", [r("Host(`api.advwell.pro`)")], "b", [r("Host(`api.staging.advwell.pro`)")]));
    expect(md).toContain("| `` Host(`api.advwell.pro`) `` | `` Host(`api.staging.advwell.pro`) `` |");
    expect(md).not.toContain("Host('");
  });
  test("a Swarm config's base64 data reads as its text: a line diff under `data`, no base64 in the comment", () => {
    const c = (text: string) => ({ type: "docker:index/serviceConfig:ServiceConfig", name: "monitoring-rules", protect: false, retainOnDelete: false, inputs: { name: "monitoring-rules-x", data: textToBase64(text) } });
    const before = "groups:\n  - for: 300s\n";
    const after = "groups:\n  - for: 600s\n";
    const diff = diffResources("a", [c(before)], "b", [c(after)]);
    expect(diff.changed[0].changes).toEqual([{ path: "data", before: "(3 lines)", after: "(3 lines)", lines: { removed: ["  - for: 300s"], added: ["  - for: 600s"] } }]);
    expect(formatDiffMarkdown(diff)).not.toContain(textToBase64(before));
    expect(base64ToText(textToBase64("é\n"))).toBe("é\n");
  });
});

describe("the resource tree", () => {
  const node = (type: string, name: string, urn: string, parentUrn: string | null, parent: string | null): ResourceNode => ({ type, name, urn, parentUrn, parent, protect: false, retainOnDelete: false, inputs: {} });
  const root = "urn:pulumi:s::advwell::advwell:stack:AdvWell::advwell";
  const bucket = "urn:pulumi:s::advwell::advwell:stack:AdvWell$advwell:backup:BackupBucket::backup";
  const service = "urn:pulumi:s::advwell::advwell:stack:AdvWell$advwell:backup:BackupService::backup";
  test("two components named backup each hold only their own children", () => {
    const tree = formatResourceTree([
      node("advwell:stack:AdvWell", "advwell", root, null, null),
      node("advwell:backup:BackupBucket", "backup", bucket, root, "advwell"),
      node("advwell:backup:BackupService", "backup", service, root, "advwell"),
      node("aws:s3/bucket:Bucket", "backup-bucket", `${bucket}$aws:s3/bucket:Bucket::backup-bucket`, bucket, "backup"),
      node("docker:index/service:Service", "backup-service", `${service}$docker:index/service:Service::backup-service`, service, "backup"),
    ]);
    expect(tree.split("\n").filter((l) => l.includes("backup-bucket"))).toHaveLength(1);
    expect(tree.split("\n").filter((l) => l.includes("backup-service"))).toHaveLength(1);
    expect(tree).toMatch(/ {2}advwell:backup:BackupBucket backup\n {4}aws:s3\/bucket:Bucket backup-bucket/);
  });
});

describe("stack files", () => {
  test("a YAML error names the file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-yaml-"));
    fs.copyFileSync(path.join(__dirname, "../../Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    try {
      fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), "config:\n  advwell:tier: [growth\n");
      expect(() => loadStackConfig("broken", dir)).toThrow(/^Pulumi\.broken\.yaml is not valid YAML: /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
