/**
 * The plan commands as bin/advwell-plan runs them (the compiled build's `main`), all in one process
 * (plan-batch.js): the Pulumi SDK loads once for every program run, where jest would evaluate it
 * again for each.
 */
import { spawn } from "child_process";
import * as path from "path";
import { projectDir } from "../../config/stackConfig";

export interface PlanResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

export function plans(commands: readonly (readonly string[])[]): Promise<PlanResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, "plan-batch.js"), JSON.stringify(commands)], { cwd: projectDir(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as PlanResult[]) : reject(new Error(`plan-batch exited ${code}: ${err}`))));
  });
}
