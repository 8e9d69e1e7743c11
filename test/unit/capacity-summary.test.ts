/** The deploy summary's capacity table (.github/scripts/capacity-summary.ts) over the committed plan snapshots. */
import * as fs from "fs";
import * as path from "path";
import { capacityMarkdown, PlanJson } from "../../.github/scripts/capacity-summary";

/** The JSON part of a plan snapshot file (`$ command`, `# exit N`, `# stdout`, output, `# stderr` ...). */
function snapshot(file: string): PlanJson {
  const text = fs.readFileSync(path.resolve(__dirname, "../fixtures/plan-snapshots", file), "utf8");
  const start = text.indexOf("# stdout\n") + "# stdout\n".length;
  const end = text.indexOf("\n# stderr", start);
  return JSON.parse(text.slice(start, end < 0 ? undefined : end));
}

describe("capacity table for the deploy summary", () => {
  test("production at growth: every service with its replicas, limits and reservations, and the node's load", () => {
    const md = capacityMarkdown(snapshot("production.growth.json.txt"));
    expect(md).toMatch(/^### Capacity plan: `production`, tier `growth` \(21-50 companies\), production/);
    expect(md).toContain("| backend | 3 | 1 | 1 GiB | 0.5 | 512 MiB |");
    expect(md).toContain("| postgres | 1 | 2 | 3 GiB | 1 | 2 GiB |");
    expect(md).toContain("| node-exporter | 1 per node |");
    expect(md).toMatch(/\| vps-1 \| manager \| 4 \| 16 GiB \| 3\.39 \(84\.7%\) \| 4\.41 GiB \(27\.5%\) \|/);
    expect(md).not.toContain("not deployed");
  });
  test("a plan with errors says the stack is not deployed and lists the findings", () => {
    const md = capacityMarkdown(snapshot("production.enterprise.json.txt"));
    expect(md).toMatch(/\*\*The plan has \d+ error\(s\): this stack is not deployed\.\*\*/);
    expect(md).toContain("| error | `advwell:nodes` |");
    // The one nodes error keeps its per-service lines in its cell.
    expect(md).toMatch(/\| error \| `advwell:nodes` \| the enterprise tier needs 3 nodes like vps-1 [^\n]*<br>- backend: 6 of its 10 tasks [^\n]* fit on no node/);
  });
  test("a long list of findings is cut after 25, saying how many more there are", () => {
    const findings = Array.from({ length: 30 }, (_, i) => ({ level: "error", key: "advwell:nodes", message: `task ${i} fits on no node` }));
    const md = capacityMarkdown({ stack: "production", findings });
    expect(md).toContain("task 24 fits on no node");
    expect(md).not.toContain("task 25 fits on no node");
    expect(md).toContain("... and 5 more (run `npm run plan -- --stack production`).");
  });
  test("fields it does not know print as ?", () => {
    expect(capacityMarkdown({ stack: "x", services: { backend: { replicas: 2 } } })).toContain("| backend | 2 | ? | ? | ? | ? |");
  });
});
