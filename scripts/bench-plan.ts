/**
 * Times the plan command for every stack, in fresh processes: wall time of the whole command
 * (`node` + ts-node + plan), and inside it the share spent loading modules versus resolving and
 * printing the plan. `npm run bench:plan [-- --runs 5]`.
 */
import { execFileSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { listStacks } from "../config/stackConfig";

const runs = Number(process.argv[process.argv.indexOf("--runs") + 1] || 5) || 5;
const root = path.resolve(__dirname, "..");
const probe = `
const t0 = process.hrtime.bigint();
require("ts-node").register();
const plan = require("./scripts/plan");
const t1 = process.hrtime.bigint();
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = () => true;
plan.main(["--stack", process.argv[1], "--json"]);
const t2 = process.hrtime.bigint();
process.stdout.write = write;
console.log(JSON.stringify({ loadMs: Number(t1 - t0) / 1e6, runMs: Number(t2 - t1) / 1e6 }));
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`plan command benchmark, ${new Date().toISOString()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), node ${process.version}, median of ${runs} runs`);
console.log("stack        wall ms   module load ms   plan ms   load share");
for (const stack of listStacks(root)) {
  const walls: number[] = [];
  const loads: number[] = [];
  const plans: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const out = execFileSync(process.execPath, ["-e", probe, stack], { cwd: root, encoding: "utf8" });
    walls.push(Number(process.hrtime.bigint() - start) / 1e6);
    const t = JSON.parse(out.trim().split("\n").pop()!);
    loads.push(t.loadMs);
    plans.push(t.runMs);
  }
  const w = median(walls);
  const l = median(loads);
  console.log(`${stack.padEnd(12)} ${w.toFixed(0).padStart(7)}   ${l.toFixed(0).padStart(14)}   ${median(plans).toFixed(0).padStart(7)}   ${((l / w) * 100).toFixed(0).padStart(9)}%`);
}
