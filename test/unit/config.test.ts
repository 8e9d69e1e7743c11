import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { applySet, listStacks, loadStackConfig, readProjectFile } from "../../config/stackConfig";
import { CONFIG_KEY_NAMES, CONFIG_KEYS, configTableMarkdown, exampleError, TIER_NAMES, tierSummaries, tierTableMarkdown, validateSettings } from "../../model";

const root = path.resolve(__dirname, "../..");

describe("Pulumi.yaml", () => {
  const project = readProjectFile(root);
  test("declares exactly the keys the program reads, each with a type, a description and a default", () => {
    expect(Object.keys(project.config ?? {}).sort()).toEqual([...CONFIG_KEY_NAMES].sort());
    for (const [name, decl] of Object.entries(project.config ?? {})) {
      const d = decl as { type?: string; description?: string; default?: unknown };
      expect({ name, type: ["string", "integer", "boolean", "array"].includes(d.type ?? "") }).toEqual({ name, type: true });
      expect({ name, description: (d.description ?? "").length > 10 }).toEqual({ name, description: true });
      expect({ name, hasDefault: d.default !== undefined }).toEqual({ name, hasDefault: true });
    }
  });
  test("agrees with the key table in model/config/keys.ts: same type, default and description for every key", () => {
    for (const name of CONFIG_KEY_NAMES) {
      const d = project.config![name] as { type: string; description: string; default: unknown };
      const spec = CONFIG_KEYS[name];
      expect({ name, type: d.type, default: d.default, description: d.description }).toEqual({ name, type: spec.type, default: spec.default, description: spec.description });
    }
  });
  test("the defaults and a region validate (a new stack plans the starter tier); without aws:region backups cannot run", () => {
    const config: Record<string, string> = { "aws:region": "sa-east-1" };
    for (const [name, decl] of Object.entries(project.config ?? {})) {
      const d = (decl as { default: unknown }).default;
      config[`advwell:${name}`] = typeof d === "string" ? d : JSON.stringify(d);
    }
    const { settings, findings } = validateSettings(config, "new");
    expect(findings).toEqual([]);
    expect(settings!.tier).toBe("starter");
    expect(settings!.nodes).toEqual([{ name: "vps-1", cpus: 4, memoryMiB: 16384, role: "manager" }]);
    const { "aws:region": _region, ...withoutRegion } = config;
    expect(validateSettings(withoutRegion, "new").findings).toEqual([expect.objectContaining({ key: "aws:region" })]);
  });
  test("never defaults an image to latest", () => {
    for (const key of ["backendImage", "frontendImage", "postgresImage", "pgbouncerImage", "traefikImage"]) {
      const value = (project.config![key] as { default: string }).default;
      expect(value).toMatch(/:[^:]+$/);
      expect(value).not.toMatch(/:latest$/);
    }
  });
});

describe("stack files, parsed as the CLI parses them", () => {
  test("production, staging and dev exist", () => {
    expect(listStacks(root)).toEqual(expect.arrayContaining(["dev", "production", "staging"]));
  });
  test.each(listStacks(root))("%s: every project key is namespaced and every value validates", (stack) => {
    const doc = parse(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8"));
    for (const key of Object.keys(doc.config)) expect(key).toMatch(/^[a-z]+:[A-Za-z]+$/);
    const { config } = loadStackConfig(stack, root);
    expect(validateSettings(config, stack).findings).toEqual([]);
  });
  test("production is the seed's current state", () => {
    const { config } = loadStackConfig("production", root);
    expect(config).toMatchObject({ "advwell:tier": "growth", "advwell:apiDomain": "api.advwell.pro", "advwell:appDomain": "app.advwell.pro" });
    expect(JSON.parse(config["advwell:nodes"])).toEqual(["name=vps-1,cpus=4,memory=16GiB,role=manager"]);
  });
  test("staging runs the smallest tier; dev targets the local Docker socket", () => {
    expect(loadStackConfig("staging", root).config["advwell:tier"]).toBe(TIER_NAMES[0]);
    expect(loadStackConfig("dev", root).config["docker:host"]).toBe("unix:///var/run/docker.sock");
  });
  test("provider settings live in the stack files, not the project", () => {
    const project = readProjectFile(root);
    expect(Object.keys(project.config ?? {}).some((k) => k.includes(":"))).toBe(false);
    for (const stack of ["production", "staging", "dev"]) {
      const { config } = loadStackConfig(stack, root);
      expect(config["docker:host"]).toBeDefined();
      expect(config["aws:region"]).toBeDefined();
    }
  });
  test("defaults from Pulumi.yaml fill keys the stack file leaves out", () => {
    const { config } = loadStackConfig("production", root);
    expect(config["advwell:backendPort"]).toBe("3000");
    expect(config["advwell:overrides"]).toBe("[]");
  });
  test("an unknown stack is a clear error", () => {
    expect(() => loadStackConfig("nope", root)).toThrow(/no Pulumi\.nope\.yaml/);
  });
});

describe("--set mirrors pulumi config set", () => {
  test("a top-level value stays a string", () => {
    const c: Record<string, string> = {};
    applySet(c, "advwell:backendPort=8080", "advwell");
    expect(c["advwell:backendPort"]).toBe("8080");
  });
  test("an un-prefixed key gets the project namespace", () => {
    const c: Record<string, string> = {};
    applySet(c, "tier=scale", "advwell");
    expect(c["advwell:tier"]).toBe("scale");
  });
  test("a path sets inside a list, like pulumi config set --path", () => {
    const c: Record<string, string> = { "advwell:overrides": "[]" };
    applySet(c, "advwell:overrides[0]=backend.replicas=4", "advwell");
    applySet(c, "advwell:overrides[1]=postgres.settings.work_mem=8MB", "advwell");
    expect(JSON.parse(c["advwell:overrides"])).toEqual(["backend.replicas=4", "postgres.settings.work_mem=8MB"]);
  });
  test("a path into an object types integers and booleans as the CLI does", () => {
    const c: Record<string, string> = {};
    applySet(c, "app:obj.count=3", "advwell");
    applySet(c, "app:obj.on=true", "advwell");
    expect(JSON.parse(c["app:obj"])).toEqual({ count: 3, on: true });
  });
  test("a value without = is refused", () => {
    expect(() => applySet({}, "advwell:tier", "advwell")).toThrow(/key=value/);
  });
});

describe("README", () => {
  test("its config table is the code's, and every key's bad example is refused under that key", () => {
    const base = loadStackConfig("production").config;
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
    const block = /<!-- config-table -->\n([\s\S]*?)\n<!-- \/config-table -->/.exec(readme)![1];
    expect(block).toBe(configTableMarkdown(base));
    for (const key of CONFIG_KEY_NAMES) expect({ key, refused: exampleError(base, key) !== undefined }).toEqual({ key, refused: true });
  });
  test("its tier table is the code's", () => {
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
    const table = tierTableMarkdown(tierSummaries(loadStackConfig("production", root).config));
    expect(readme).toContain(table);
  });
  test("opens with the plan and test commands for a fresh machine", () => {
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
    const firstBlock = /```(?:bash|sh)?\n([\s\S]*?)```/.exec(readme)![1];
    expect(firstBlock).toContain("npm ci && npm run plan -- --stack production");
    expect(firstBlock).toContain("npm ci && npm run test:all");
  });
});
