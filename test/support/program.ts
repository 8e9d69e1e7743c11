/**
 * Runs the real program (index.ts) under Pulumi's mock runtime with a stack's real config. Each
 * run gets a fresh module registry, so the SDK reads this run's config (PULUMI-MOCKS.md #2).
 */
import { captureProgram, CapturedResource, ProgramRun } from "../../scripts/lib/mockProgram";
import { stackConfig } from "./stacks";

export { SECRET_SIG, unwrapSecrets } from "../../scripts/lib/mockProgram";
export type { CapturedResource, ProgramRun };

/** `secrets`: keys set as `pulumi config set --secret` would be (the program receives them as secrets). */
export async function runProgram(stack: string, sets: readonly string[] = [], secrets: readonly string[] = []): Promise<ProgramRun> {
  const config = stackConfig(stack, sets);
  let run: ProgramRun | undefined;
  await jest.isolateModulesAsync(async () => {
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    run = await captureProgram(pulumi, config, "advwell", stack, () => require("../../index"), secrets);
  });
  return run!;
}

export function byType(run: ProgramRun, type: string): CapturedResource[] {
  return run.resources.filter((r) => r.type === type);
}

export function service(run: ProgramRun, serviceName: string): CapturedResource {
  const found = run.resources.find((r) => r.type === "docker:index/service:Service" && r.inputs.name === serviceName);
  if (!found) throw new Error(`no docker service named ${serviceName}; have ${byType(run, "docker:index/service:Service").map((r) => r.inputs.name).join(", ")}`);
  return found;
}
