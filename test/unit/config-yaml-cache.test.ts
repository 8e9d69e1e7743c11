/**
 * The config loader's cache of parsed YAML (config/stackConfig.ts): used when the text is the same,
 * never for other text, and only for values JSON carries exactly.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";

type Loader = typeof import("../../config/stackConfig");
/** The loader in a fresh module registry: no parse remembered in memory from earlier loads. */
function freshLoader(): Loader {
  let loader: Loader | undefined;
  jest.isolateModules(() => {
    loader = require("../../config/stackConfig");
  });
  return loader!;
}

let dir: string;
const written: string[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-yaml-cache-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const f of written.splice(0)) fs.rmSync(f, { force: true });
});

/** A project whose texts no other test has (a unique comment), so its cache files are its own. */
function project(stackYaml: string): { projectText: string; stackText: string } {
  const unique = `# ${path.basename(dir)}\n`;
  const projectText = `${unique}name: advwell\nruntime: nodejs\nconfig:\n  advwell:tier:\n    default: growth\n`;
  const stackText = unique + stackYaml;
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), projectText);
  fs.writeFileSync(path.join(dir, "Pulumi.probe.yaml"), stackText);
  const loader = freshLoader();
  written.push(loader.parseCacheFile(projectText), loader.parseCacheFile(stackText));
  return { projectText, stackText };
}

test("a parse is cached as JSON under a name from the text, and a later process uses it", () => {
  const { stackText } = project("config:\n  advwell:companies: 30\n  advwell:nodes:\n    - name: a\n      cpus: 4\n");
  expect(freshLoader().loadStackConfig("probe", dir).config).toEqual({ "advwell:tier": "growth", "advwell:companies": "30", "advwell:nodes": '[{"name":"a","cpus":4}]' });
  const file = freshLoader().parseCacheFile(stackText);
  expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual(parseYaml(stackText));

  // What the cache holds is what a new process reads (here made visibly different)...
  fs.writeFileSync(file, JSON.stringify({ config: { "advwell:companies": 99 } }));
  expect(freshLoader().loadStackConfig("probe", dir).config["advwell:companies"]).toBe("99");
  // ...but only for that exact text: one changed byte is parsed afresh.
  fs.writeFileSync(path.join(dir, "Pulumi.probe.yaml"), stackText.replace("30", "31"));
  written.push(freshLoader().parseCacheFile(stackText.replace("30", "31")));
  expect(freshLoader().loadStackConfig("probe", dir).config["advwell:companies"]).toBe("31");
});

test("values JSON cannot carry exactly are not cached, and still load", () => {
  const { stackText } = project("config:\n  advwell:probe:\n    limit: .inf\n    zero: -0.0\n");
  const loaded = freshLoader().loadStackConfig("probe", dir);
  expect(loaded.config["advwell:probe"]).toBe(JSON.stringify({ limit: Infinity, zero: -0 }));
  expect(fs.existsSync(freshLoader().parseCacheFile(stackText))).toBe(false);
});

test("an unreadable cache file is ignored", () => {
  const { stackText } = project("config:\n  advwell:companies: 40\n");
  const file = freshLoader().parseCacheFile(stackText);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, "{ not json");
  expect(freshLoader().loadStackConfig("probe", dir).config["advwell:companies"]).toBe("40");
});

test("the loader's callers get copies: changing one does not change the next read", () => {
  project("config:\n  advwell:nodes:\n    - name: a\n");
  const loader = freshLoader();
  const first = loader.readProjectFile(dir) as { config?: Record<string, unknown> };
  first.config!["advwell:tier"] = "changed";
  expect((loader.readProjectFile(dir) as { config?: Record<string, unknown> }).config!["advwell:tier"]).toEqual({ default: "growth" });
});
