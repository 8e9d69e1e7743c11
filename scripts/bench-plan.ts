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

/** The --resources path: the Pulumi SDK and providers load, then index.ts runs under mocks. */
const resourcesProbe = `
const ms = (a, b) => Number(b - a) / 1e6;
const t0 = process.hrtime.bigint();
require("ts-node").register();
const t1 = process.hrtime.bigint();
const pulumi = require("@pulumi/pulumi");
const t2 = process.hrtime.bigint();
// Provider packages load their resource modules lazily; touch the classes the program uses.
const docker = require("@pulumi/docker"); void [docker.Service, docker.Volume, docker.Secret, docker.ServiceConfig, docker.Network];
const t3 = process.hrtime.bigint();
const s3 = require("@pulumi/aws/s3"); const iam = require("@pulumi/aws/iam"); void [s3.Bucket, s3.BucketPolicy, s3.BucketVersioning, s3.BucketPublicAccessBlock, s3.BucketLifecycleConfiguration, s3.BucketServerSideEncryptionConfiguration, s3.BucketOwnershipControls, iam.User, iam.UserPolicy, iam.AccessKey];
const t4 = process.hrtime.bigint();
void require("@pulumi/random").RandomPassword;
const t5 = process.hrtime.bigint();
const { captureProgram } = require("./scripts/lib/mockProgram");
const { loadStackConfig } = require("./config/stackConfig");
const loaded = loadStackConfig(process.argv[1]);
const t6 = process.hrtime.bigint();
const log = console.log; console.log = () => {};
captureProgram(pulumi, loaded.config, loaded.project, process.argv[1], () => require("./index")).then((run) => {
  const t7 = process.hrtime.bigint();
  console.log = log;
  console.log(JSON.stringify({ tsNode: ms(t0, t1), pulumi: ms(t1, t2), docker: ms(t2, t3), aws: ms(t3, t4), random: ms(t4, t5), ours: ms(t5, t6), program: ms(t6, t7), resources: run.resources.length }));
});
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

console.log("");
console.log("--resources (index.ts under Pulumi mocks): module load times, then the program's own run");
console.log("stack        wall ms   ts-node  @pulumi/pulumi  @pulumi/docker  @pulumi/aws(s3,iam)  @pulumi/random  program ms  resources");
for (const stack of listStacks(root)) {
  const rows: Record<string, number>[] = [];
  const walls: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const out = execFileSync(process.execPath, ["-e", resourcesProbe, stack], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    walls.push(Number(process.hrtime.bigint() - start) / 1e6);
    rows.push(JSON.parse(out.trim().split("\n").pop()!));
  }
  const m = (k: string) => median(rows.map((r) => r[k])).toFixed(0);
  console.log(
    `${stack.padEnd(12)} ${median(walls).toFixed(0).padStart(7)}   ${m("tsNode").padStart(7)}  ${m("pulumi").padStart(14)}  ${m("docker").padStart(14)}  ${m("aws").padStart(19)}  ${m("random").padStart(14)}  ${(Number(m("ours")) + Number(m("program"))).toFixed(0).padStart(10)}  ${m("resources").padStart(9)}`,
  );
}
