/**
 * Child-process entry: runs the real program under mocks for one stack and prints the captured
 * resources as JSON on stdout, every secret replaced by "[secret]". A fresh process per run keeps
 * each run's config apart (the SDK reads config once per process).
 *   node -r ts-node/register/transpile-only scripts/lib/resourceRun.ts <stack> <set-json-array>
 */
import * as pulumi from "@pulumi/pulumi";
import { applySet, loadStackConfig } from "../../config/stackConfig";
import { captureProgram, redactSecrets } from "./mockProgram";

export interface ResourceView {
  readonly type: string;
  readonly name: string;
  readonly parent: string | null;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly inputs: Record<string, unknown>;
}

export interface ResourceRunResult {
  readonly stack: string;
  readonly resources: ResourceView[];
  readonly outputs: Record<string, unknown>;
  readonly error?: string;
}

async function main(): Promise<void> {
  const [stack, setsJson] = process.argv.slice(2);
  const loaded = loadStackConfig(stack);
  for (const s of JSON.parse(setsJson ?? "[]") as string[]) applySet(loaded.config, s, loaded.project);
  // The program logs its plan warnings through the SDK; keep stdout for JSON.
  const log = console.log;
  console.log = (...args: unknown[]) => process.stderr.write(`${args.join(" ")}\n`);
  const run = await captureProgram(pulumi, loaded.config, loaded.project, stack, () => require("../../index"));
  console.log = log;
  const result: ResourceRunResult = {
    stack,
    resources: run.resources
      .filter((r) => r.type !== "pulumi:pulumi:Stack")
      .map((r) => ({ type: r.type, name: r.name, parent: r.parent ?? null, protect: r.protect, retainOnDelete: r.retainOnDelete, inputs: redactSecrets(r.rawInputs) }))
      .sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name)),
    outputs: Object.fromEntries(Object.entries(run.outputs).map(([k, o]) => [k, o.secret ? "[secret]" : redactSecrets(o.value)])),
    error: run.error?.message,
  };
  process.stdout.write(JSON.stringify(result));
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
