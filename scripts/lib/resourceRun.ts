/**
 * Child-process entry: runs the real program under mocks for one stack and prints the captured
 * resources as JSON on stdout, every secret replaced by "[secret]". A fresh process per run keeps
 * each run's config apart (the SDK reads config once per process).
 *   node -r ts-node/register scripts/lib/resourceRun.ts <stack> <set-json-array>
 *
 * When the plan has errors, index.ts refuses to register anything, as it must. A reviewer still
 * wants to see what the change would do, so the run then builds the same root component from that
 * plan and returns its resources with `blockedBy`: the errors that keep it from deploying.
 */
import * as pulumi from "@pulumi/pulumi";
import { applySet, loadStackConfig } from "../../config/stackConfig";
import type { Finding } from "../../model/findings";
import { resolveStack } from "../../model/plan/resolve";
import { captureProgram, redactSecrets } from "./mockProgram";

export interface ResourceView {
  readonly urn: string;
  readonly parentUrn: string | null;
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
  /** The program failed (a config error with no plan, or a component refused). */
  readonly error?: string;
  /** The plan's errors: the resources are what the plan describes, but `pulumi up` would refuse it. */
  readonly blockedBy?: readonly Finding[];
}

export async function runStack(stack: string, sets: readonly string[]): Promise<ResourceRunResult> {
  const loaded = loadStackConfig(stack);
  for (const s of sets) applySet(loaded.config, s, loaded.project);
  const resolved = resolveStack(loaded.config, stack, loaded.secureKeys);
  const errors = resolved.findings.filter((f) => f.level === "error");
  const blocked = errors.length > 0 && resolved.settings !== undefined && resolved.plan !== undefined;
  const load = blocked
    ? () => {
        const { AdvWell } = require("../../components/advwell") as typeof import("../../components/advwell");
        new AdvWell("advwell", { settings: resolved.settings!, plan: resolved.plan! });
        return {};
      }
    : () => require("../../index");
  const run = await captureProgram(pulumi, loaded.config, loaded.project, stack, load);
  return {
    stack,
    resources: run.resources
      .filter((r) => r.type !== "pulumi:pulumi:Stack")
      .map((r) => ({ urn: r.urn, parentUrn: r.parentUrn ?? null, type: r.type, name: r.name, parent: r.parent ?? null, protect: r.protect, retainOnDelete: r.retainOnDelete, inputs: redactSecrets(r.rawInputs) }))
      .sort((a, b) => a.type.localeCompare(b.type) || a.urn.localeCompare(b.urn)),
    outputs: Object.fromEntries(Object.entries(run.outputs).map(([k, o]) => [k, o.secret ? "[secret]" : redactSecrets(o.value)])),
    ...(run.error ? { error: run.error.message } : {}),
    ...(blocked ? { blockedBy: errors } : {}),
  };
}

async function main(): Promise<void> {
  const [stack, setsJson] = process.argv.slice(2);
  // The program logs its plan warnings through the SDK; keep stdout for JSON.
  const log = console.log;
  console.log = (...args: unknown[]) => process.stderr.write(`${args.join(" ")}\n`);
  const result = await runStack(stack, JSON.parse(setsJson ?? "[]") as string[]);
  console.log = log;
  process.stdout.write(JSON.stringify(result));
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  });
}
