/**
 * Runs the real program (index.ts) under mocks for a stack and returns the captured resources,
 * every secret replaced by "[secret]", for `npm run plan -- --resources/--diff/--diff-from`.
 *
 * Several runs share one process, one after another: each gets a fresh SDK store
 * (`withLocalStorage`, as the Automation API runs inline programs) with its own config
 * (`setAllConfig`, PULUMI-MOCKS.md #2), and evaluates index.ts and the components afresh. The SDK
 * and the providers load once, which is most of the cost of a run. In Node's module registry the
 * program's modules are forgotten between runs; under jest, whose registry cannot forget a module,
 * each run gets an isolated registry instead (and with it its own SDK instance). Either way the two
 * large packages the SDK loads only for closure serialisation load only if used (lazy-sdk-deps.js).
 *
 * When the plan has errors, index.ts refuses to register anything, as it must. A reviewer still
 * wants to see what the change would do, so the run then builds the same root component from that
 * plan and returns its resources with `blockedBy`: the errors that keep it from deploying.
 */
import type * as PulumiModule from "@pulumi/pulumi";
import * as path from "path";
import { applySet, loadStackConfig, projectDir } from "../../config/stackConfig";
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

export interface RunRequest {
  readonly stack: string;
  readonly sets: readonly string[];
  /** The folder of Pulumi.yaml and the stack files (the plan command's --cwd); the project's by default. */
  readonly dir?: string;
}

async function runStack(pulumi: typeof PulumiModule, { stack, sets, dir = projectDir() }: RunRequest): Promise<ResourceRunResult> {
  const loaded = loadStackConfig(stack, dir);
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
  const run = await captureProgram(pulumi, loaded.config, loaded.project, stack, load, loaded.secureKeys);
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

/** The program's own modules: index.ts and the components, which must be evaluated again for each run. */
function forgetProgramModules(): void {
  const root = path.resolve(__dirname, "..", "..");
  const program = [path.join(root, "index."), path.join(root, "components") + path.sep];
  for (const file of Object.keys(require.cache)) if (program.some((p) => file.startsWith(p))) delete require.cache[file];
}

/** Runs `work` with the SDK in a module registry where the program has not been evaluated yet. */
async function inFreshRegistry<T>(work: (pulumi: typeof PulumiModule) => Promise<T>): Promise<T> {
  type Sdk = typeof PulumiModule;
  type State = { withLocalStorage<R>(callback: () => Promise<R>): Promise<R> };
  if (typeof jest !== "undefined") {
    let result: { value: T } | undefined;
    await jest.isolateModulesAsync(async () => {
      const state = require("@pulumi/pulumi/runtime/state") as State;
      result = { value: await state.withLocalStorage(() => work(require("@pulumi/pulumi") as Sdk)) };
    });
    return result!.value;
  }
  forgetProgramModules();
  // TypeScript's compiler and @npmcli/arborist load only if the SDK uses them (lazy-sdk-deps.js).
  (require(path.join(projectDir(), "scripts", "lib", "lazy-sdk-deps.js")) as { install(root: string): void }).install(projectDir());
  const state = require("@pulumi/pulumi/runtime/state") as State;
  return state.withLocalStorage(() => work(require("@pulumi/pulumi") as Sdk));
}

/**
 * Runs each request in turn and returns their results as plain JSON values (what a capture file
 * holds). The SDK's log lines (pulumi.log.warn prints with console.warn under mocks) are dropped:
 * the command prints the plan's findings itself.
 */
export async function runStacks(requests: readonly RunRequest[]): Promise<ResourceRunResult[]> {
  const results: ResourceRunResult[] = [];
  const quiet = ["log", "info", "warn", "error", "debug"] as const;
  const saved = quiet.map((name) => console[name]);
  for (const name of quiet) console[name] = () => undefined;
  try {
    for (const request of requests) {
      const result = await inFreshRegistry((pulumi) => runStack(pulumi, request));
      results.push(JSON.parse(JSON.stringify(result)) as ResourceRunResult);
    }
  } finally {
    quiet.forEach((name, i) => (console[name] = saved[i]));
  }
  return results;
}
