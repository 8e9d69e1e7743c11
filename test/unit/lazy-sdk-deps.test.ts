/**
 * The stand-ins for the two packages the Pulumi SDK loads only for closure serialisation
 * (scripts/lib/lazy-sdk-deps.js): nothing loads them until they are used, and once used they are
 * the real packages.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");

test("in the plan command's registry the SDK loads without them, and serializeFunction and computeCodePaths still work", () => {
  // computeCodePaths reads the package tree of the working folder with arborist: a tiny one here.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-codepaths-"));
  fs.writeFileSync(path.join(work, "package.json"), JSON.stringify({ name: "probe", version: "1.0.0", dependencies: { yaml: "*" } }));
  fs.mkdirSync(path.join(work, "node_modules"));
  fs.symlinkSync(path.join(ROOT, "node_modules", "yaml"), path.join(work, "node_modules", "yaml"), "dir");
  const probe = `
    require(${JSON.stringify(path.join(ROOT, "scripts/lib/lazy-sdk-deps.js"))}).install(${JSON.stringify(ROOT)});
    const loaded = () => Object.entries(require.cache).filter(([f, m]) => /node_modules\\/(typescript|@npmcli\\/arborist)\\//.test(f) && !m.standIn).length;
    const pulumi = require(${JSON.stringify(path.join(ROOT, "node_modules/@pulumi/pulumi"))});
    const atImport = loaded();
    (async () => {
      const fn = await pulumi.runtime.serializeFunction(() => 6 * 7);
      const paths = await pulumi.runtime.computeCodePaths({ extraIncludePackages: ["yaml"] });
      console.log(JSON.stringify({ atImport, afterUse: loaded(), text: fn.text.includes("6 * 7"), yaml: [...paths.keys()].some((p) => /node_modules\\/yaml$/.test(p)) }));
    })();`;
  try {
    const r = spawnSync(process.execPath, ["-e", probe], { cwd: work, encoding: "utf8" });
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.atImport).toBe(0);
    expect(result.afterUse).toBeGreaterThan(1);
    expect(result).toMatchObject({ text: true, yaml: true });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test("under jest (moduleNameMapper) both names give the stand-ins, unloaded, as the program runs' SDK sees them", () => {
  // The stand-ins forward like the ones tested above (the same lazyExports); here only the mapping is
  // checked, without loading anything: the stand-in is function-shaped (TypeScript's exports are an
  // object) and answers __esModule before loading (arborist's exports do not have it).
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const ts = require("typescript");
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const arborist = require("@npmcli/arborist");
  expect(typeof ts).toBe("function");
  expect(arborist.__esModule).toBe(true);
});
