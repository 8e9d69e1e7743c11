/**
 * The plan command runs compiled JavaScript (scripts/build.js, bin/advwell-plan), and never a build
 * of other sources than the ones in the checkout. The tests work on one copy of the project in a
 * temporary folder of their own (node_modules linked), so they can edit sources and builds freely
 * while anything else runs; each puts back the sources it edits.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SNAPSHOT_DIR } from "../../scripts/plan-snapshot";

const ROOT = path.resolve(__dirname, "../..");
const COPIED = ["index.ts", "model", "components", "config", "scripts", "bin", "containers", "package.json", "tsconfig.json"];

interface Build {
  projectDir(): string;
  sourceState(root: string): { key: string; files: string[] };
  existingBuild(state: { root: string; key: string }): string | undefined;
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const build = (dir: string): Build => require(path.join(dir, "scripts", "build.js"));

function copyProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-build-test-"));
  for (const entry of [...COPIED, ...fs.readdirSync(ROOT).filter((f) => /^Pulumi\..*yaml$/.test(f))]) {
    fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  return dir;
}

function run(dir: string, args: string[], entry = path.join(dir, "bin", "advwell-plan")) {
  const r = spawnSync(process.execPath, [entry, ...args], { cwd: dir, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** What the snapshot file holds for these arguments, from a run of the command. */
function asSnapshot(args: string[], r: { code: number | null; out: string; err: string }): string {
  return `$ npm run plan -- ${args.join(" ")}\n# exit ${r.code}\n# stdout\n${r.out}# stderr\n${r.err}`;
}

const builds = (dir: string) => (fs.existsSync(path.join(dir, "dist")) ? fs.readdirSync(path.join(dir, "dist")).filter((f) => !f.startsWith(".")).sort() : []);

let dir: string;
beforeAll(() => {
  dir = copyProject();
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `body` with `file` (relative to the copy) edited by `edit`, and puts the file back after. */
function withEdit<T>(file: string, edit: (text: string) => string, body: () => T): T {
  const full = path.join(dir, file);
  const original = fs.readFileSync(full, "utf8");
  fs.writeFileSync(full, edit(original));
  try {
    return body();
  } finally {
    fs.writeFileSync(full, original);
  }
}

describe("bin/advwell-plan runs the build of the sources as they are now", () => {
  test("a fresh copy builds on first use and prints exactly the snapshot's bytes, text and JSON", () => {
    expect(builds(dir)).toEqual([]);
    for (const args of [["--stack", "production", "--set", "advwell:tier=growth"], ["--stack", "dev", "--set", "advwell:tier=enterprise", "--json"]]) {
      const file = `${args[1]}.${args[3].split("=")[1]}${args.includes("--json") ? ".json" : ""}.txt`;
      expect(asSnapshot(args, run(dir, args))).toBe(fs.readFileSync(path.join(SNAPSHOT_DIR, file), "utf8"));
    }
    const [key] = builds(dir);
    expect(key).toBe(build(dir).sourceState(dir).key);
    expect(fs.existsSync(path.join(dir, "dist", key, "scripts", "plan.js"))).toBe(true);
    expect(fs.existsSync(path.join(dir, "dist", key, "index.js"))).toBe(true);
  });

  test("an edited source is rebuilt before the next run: the edit shows, and the old build is not used", () => {
    const before = run(dir, ["--stack", "production"]);
    expect(before.out).toContain("AdvWell plan: stack production");
    const [oldKey] = builds(dir);
    const stamp = fs.readFileSync(path.join(dir, "dist", oldKey, ".complete"), "utf8");

    withEdit("model/views/report.ts", (t) => t.replace("AdvWell plan: stack", "AdvWell EDITED plan: stack"), () => {
      const after = run(dir, ["--stack", "production"]);
      expect(after.code).toBe(0);
      expect(after.out).toContain("AdvWell EDITED plan: stack production");
      expect(builds(dir)).toHaveLength(2);
      // Running the old build directly hands over to the current one.
      const direct = run(dir, ["--stack", "production"], path.join(dir, "dist", oldKey, "scripts", "plan.js"));
      expect(direct.out).toContain("AdvWell EDITED plan: stack production");
    });

    // The edit undone: the first build is current again and is reused, not rebuilt.
    expect(run(dir, ["--stack", "production"]).out).toBe(before.out);
    expect(fs.readFileSync(path.join(dir, "dist", oldKey, ".complete"), "utf8")).toBe(stamp);
    expect(builds(dir)).toHaveLength(2);
  });

  test("the program run under mocks (--resources) is the compiled index.ts of the current sources", () => {
    expect(builds(dir).length).toBeGreaterThan(0); // an older build is there to be (wrongly) used
    const probe = '\nexport const buildProbe = "compiled-from-the-edited-index";\n';
    const r = withEdit("index.ts", (t) => t + probe, () => run(dir, ["--stack", "production", "--resources", "--json"]));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).outputs.buildProbe).toBe("compiled-from-the-edited-index");
  });

  test("the build key follows content, not modification times: a new file changes it, touching files does not", () => {
    const key = () => build(dir).sourceState(dir).key;
    const first = key();
    const future = new Date(Date.now() + 3_600_000);
    for (const f of ["index.ts", "model/index.ts", "scripts/plan.ts"]) fs.utimesSync(path.join(dir, f), future, future);
    expect(key()).toBe(first);
    fs.writeFileSync(path.join(dir, "model", "unused.ts"), "export const unused = 1;\n");
    const withFile = key();
    fs.rmSync(path.join(dir, "model", "unused.ts"));
    expect(withFile).not.toBe(first);
    expect(key()).toBe(first);
    // A one-byte change anywhere compiled or copied (JSON that sources import) changes it too.
    expect(withEdit("config/stackConfig.ts", (t) => `${t} `, key)).not.toBe(first);
    expect(withEdit("model/postgres/pg15-settings.json", (t) => `${t} `, key)).not.toBe(first);
    expect(key()).toBe(first);
  });

  test("a build folder without its completion marker (an interrupted build) is not used", () => {
    const { key } = build(dir).sourceState(dir);
    expect(build(dir).existingBuild({ root: dir, key })).toBe(path.join(dir, "dist", key));
    fs.rmSync(path.join(dir, "dist", key, ".complete"));
    expect(build(dir).existingBuild({ root: dir, key })).toBeUndefined();
    // The command does not run the incomplete folder: it compiles again and marks it complete.
    fs.writeFileSync(path.join(dir, "dist", key, "scripts", "plan.js"), "throw new Error('half-written build');\n");
    const r = run(dir, ["--stack", "production"]);
    expect(r.err).toBe("");
    expect(r.out).toContain("AdvWell plan: stack production");
    expect(fs.existsSync(path.join(dir, "dist", key, ".complete"))).toBe(true);
  });

  test("when no build can be made, the command says so once and runs the TypeScript sources; without ts-node too, one line and exit 2", () => {
    fs.rmSync(path.join(dir, "dist"), { recursive: true, force: true });
    fs.writeFileSync(path.join(dir, "dist"), "not a folder");
    const args = ["--stack", "production", "--set", "advwell:tier=growth"];
    const r = run(dir, args);

    // Without ts-node either (an install without dev dependencies): one line, exit 2, no trace.
    const modules = path.join(dir, "node_modules");
    fs.rmSync(modules);
    fs.mkdirSync(modules);
    for (const name of fs.readdirSync(path.join(ROOT, "node_modules"))) {
      if (name !== "ts-node" && name !== ".bin") fs.symlinkSync(path.join(ROOT, "node_modules", name), path.join(modules, name));
    }
    const without = run(dir, args);
    fs.rmSync(modules, { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), modules, "dir");
    expect({ code: without.code, out: without.out }).toEqual({ code: 2, out: "" });
    expect(without.err).toMatch(/^plan: cannot build .*dist \(\w+\), and ts-node, the fallback, is not installed either: run npm ci\n$/);
    fs.rmSync(path.join(dir, "dist"));
    expect(r.err).toMatch(/^note: cannot build .*dist \(\w+\); running the TypeScript sources with ts-node\n$/);
    expect(asSnapshot(args, { ...r, err: "" })).toBe(fs.readFileSync(path.join(SNAPSHOT_DIR, "production.growth.txt"), "utf8"));
  });
});
