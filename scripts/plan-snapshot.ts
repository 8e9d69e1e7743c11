/**
 * Writes what `npm run plan` prints (text and --json, stdout, stderr and exit code) for every stack
 * and every tier into test/fixtures/plan-snapshots/. A test compares the command with these files,
 * so a refactor that changes any byte of the output fails unless the snapshot is regenerated on
 * purpose (and the commit says why):
 *   npx ts-node scripts/plan-snapshot.ts          # rewrite
 *   npx ts-node scripts/plan-snapshot.ts --check  # exit 1 and name the files that differ
 */
import * as fs from "fs";
import * as path from "path";
import { listStacks, projectDir } from "../config/stackConfig";
import { TIER_NAMES } from "../model";
import { main } from "./plan";

export const SNAPSHOT_DIR = path.join(projectDir(), "test", "fixtures", "plan-snapshots");

/** One command's output, as the snapshot file stores it. */
export async function capturePlanCommand(args: string[]): Promise<string> {
  let out = "";
  let err = "";
  const stdout = process.stdout.write;
  const stderr = process.stderr.write;
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(args);
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
  return `$ npm run plan -- ${args.join(" ")}\n# exit ${code}\n# stdout\n${out}# stderr\n${err}`;
}

/** Every (file, args) pair the snapshot holds. */
export function snapshotCases(): { file: string; args: string[] }[] {
  const cases: { file: string; args: string[] }[] = [];
  for (const stack of listStacks()) {
    for (const tier of TIER_NAMES) {
      const args = ["--stack", stack, "--set", `advwell:tier=${tier}`];
      cases.push({ file: `${stack}.${tier}.txt`, args });
      cases.push({ file: `${stack}.${tier}.json.txt`, args: [...args, "--json"] });
    }
  }
  return cases;
}

async function run(): Promise<number> {
  const check = process.argv.includes("--check");
  fs.mkdirSync(SNAPSHOT_DIR, { recursive: true });
  const differ: string[] = [];
  for (const c of snapshotCases()) {
    const text = await capturePlanCommand(c.args);
    const file = path.join(SNAPSHOT_DIR, c.file);
    if (check) {
      if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) differ.push(c.file);
    } else {
      fs.writeFileSync(file, text);
    }
  }
  if (check && differ.length > 0) {
    process.stderr.write(`plan output differs from the snapshot in: ${differ.join(", ")}\n`);
    return 1;
  }
  return 0;
}

if (require.main === module) run().then((code) => (process.exitCode = code));
