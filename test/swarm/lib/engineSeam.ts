/**
 * One seam for deploying a stack: `up`, `preview`, `refresh` and `destroy` of a stack with its
 * config, so a suite asks for a deployment and never knows which engine runs it.
 *
 * Two implementations:
 * - `pulumiCliEngine`: the real CLI (tools/pulumi, built from pulumi/pulumi pkg/v3 v3.248.0) through
 *   the Automation API (@pulumi/pulumi/automation's LocalWorkspace), with a file backend in a temp
 *   folder, a passphrase for secrets, plugins only from the built tools (PATH first,
 *   PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION) and `docker:host` set to the rehearsal daemon.
 * - `modelEngine`: the project's own model of the engine (engine.ts, lifecycle.ts,
 *   providerMapping.ts) through rehearsal.ts's deploy/redeploy/destroy. It has no preview and no
 *   refresh: asked for one, it says so instead of pretending.
 *
 * Which suites use which: docs/rehearsal.md ("Which engine runs which suite").
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type Docker from "dockerode";
import type * as Automation from "@pulumi/pulumi/automation";
import { resolveStack } from "../../../model";
import { deploy, Deployment, destroy, redeploy, StackConfig } from "./rehearsal";

const ROOT = path.resolve(__dirname, "..", "..", "..");

/** What one engine operation did, in the CLI's terms (resource counts by operation). */
export interface EngineRun {
  readonly operation: "up" | "preview" | "refresh" | "destroy";
  /** Resource counts by operation: `same`, `create`, `update`, `replace`, `delete`, ... */
  readonly changes: Readonly<Record<string, number>>;
  /** The engine's own output (the CLI's stdout), for reports and failure messages. */
  readonly output: string;
}

export interface StackEngine {
  readonly kind: "pulumi-cli" | "model";
  readonly stack: string;
  /** Replaces the stack's config (`project:key` -> value), as `pulumi config set` for each key would. */
  setConfig(config: Readonly<Record<string, string>>): Promise<void>;
  up(): Promise<EngineRun>;
  /** With `expectNoChanges`, fails when the preview shows any change (`pulumi preview --expect-no-changes`). */
  preview(options?: { readonly expectNoChanges?: boolean }): Promise<EngineRun>;
  refresh(): Promise<EngineRun>;
  destroy(): Promise<EngineRun>;
  /** The stack's checkpoint as `pulumi stack export` prints it: secrets stay ciphertext. */
  exportState(): Promise<{ readonly resources: readonly { urn: string; type: string; id?: string; outputs?: Record<string, unknown> }[] }>;
  /** The stack's outputs, secrets decrypted (`pulumi stack output --json --show-secrets`). */
  outputs(): Promise<Record<string, unknown>>;
  /** Removes the engine's own state folder (not the stack's resources: destroy does that). */
  dispose(): Promise<void>;
}

/** Counts an operation made, leaving out `same`: what `--expect-no-changes` looks at. */
export function changedCounts(run: EngineRun): Record<string, number> {
  return Object.fromEntries(Object.entries(run.changes).filter(([op, n]) => op !== "same" && n > 0));
}

/**
 * Builds (or finds in the cache) the CLI, the Node language host and the providers with
 * scripts/build-tools.sh and returns the folder to put first on PATH. Throws, naming the tool,
 * when one cannot be built: a missing `go` is an error, never a skip.
 */
export function toolsBin(names: readonly string[] = ["pulumi", "language-nodejs", "provider-random", "provider-docker"]): string {
  const out = execFileSync(path.join(ROOT, "scripts", "build-tools.sh"), [...names], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const lines = out.trim().split("\n");
  return lines[lines.length - 1];
}

export interface CliEngineOptions {
  /** The project folder: its Pulumi.yaml names the runtime; its program runs from there. */
  readonly projectDir: string;
  readonly stack: string;
  /** `project:key` -> value, as `pulumi config set` would store it. */
  readonly config: Readonly<Record<string, string>>;
  /** Keys stored as secrets (`pulumi config set --secret`). */
  readonly secretKeys?: readonly string[];
  /** The Docker Engine the docker provider talks to (`docker:host`), e.g. `unix:///…/docker.sock`. */
  readonly dockerHost?: string;
  readonly log?: (line: string) => void;
}

/**
 * The real engine. The workspace lives in a temp folder of its own: a copy of the project's
 * Pulumi.yaml whose `main` points back at the project, so `pulumi config set` writes the stack's
 * settings there and never over the repository's Pulumi.<stack>.yaml files.
 */
export async function pulumiCliEngine(options: CliEngineOptions): Promise<StackEngine> {
  const bin = toolsBin();
  const auto = require("@pulumi/pulumi/automation") as typeof Automation;
  const { parse, stringify } = require("yaml") as typeof import("yaml");
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-engine-"));
  const backend = path.join(home, "state");
  const workDir = path.join(home, "project");
  fs.mkdirSync(backend);
  fs.mkdirSync(workDir);
  const project = parse(fs.readFileSync(path.join(options.projectDir, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
  const main = path.resolve(options.projectDir, typeof project.main === "string" ? project.main : ".");
  fs.writeFileSync(path.join(workDir, "Pulumi.yaml"), stringify({ ...project, main: path.relative(workDir, main) || "." }));
  const envVars: Record<string, string> = {
    PATH: `${bin}:${process.env.PATH ?? ""}`,
    PULUMI_HOME: path.join(home, "pulumi-home"),
    PULUMI_BACKEND_URL: `file://${backend}`,
    // Only for the file backend's secrets provider in this throwaway state folder.
    PULUMI_CONFIG_PASSPHRASE: "advwell-rehearsal",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
  };
  const pulumiCommand = await auto.PulumiCommand.get({ root: path.dirname(bin) });
  const stack = await auto.LocalWorkspace.createOrSelectStack({ stackName: options.stack, workDir }, { envVars, pulumiCommand });
  const secret = new Set(options.secretKeys ?? []);
  // The config arrives as `pulumi config set` strings (config/stackConfig.ts stringifies lists and
  // objects), but the CLI validates each key against its type in Pulumi.yaml ("must be of type
  // 'array<string>'"): plain keys go into the stack file with their declared type; secrets then go
  // through `pulumi config set --secret`, which encrypts them with the stack's salt.
  const declared = (project.config ?? {}) as Record<string, { type?: string } | undefined>;
  const typed = (key: string, value: string): unknown => {
    const prefix = `${String(project.name)}:`;
    const type = key.startsWith(prefix) ? declared[key.slice(prefix.length)]?.type : undefined;
    if (type === "array" || type === "object") return JSON.parse(value);
    if (type === "integer") return Number(value);
    if (type === "boolean") return value === "true";
    return value;
  };
  const stackFile = path.join(workDir, `Pulumi.${options.stack}.yaml`);
  const setConfig = async (values: Readonly<Record<string, string>>) => {
    const settings = (fs.existsSync(stackFile) ? parse(fs.readFileSync(stackFile, "utf8")) : {}) ?? {};
    const plain: Record<string, unknown> = {};
    const secrets: Record<string, { value: string; secret: boolean }> = {};
    for (const [k, v] of Object.entries(values)) {
      if (secret.has(k)) secrets[k] = { value: v, secret: true };
      else plain[k] = typed(k, v);
    }
    if (options.dockerHost) plain["docker:host"] = options.dockerHost;
    fs.writeFileSync(stackFile, stringify({ ...settings, config: plain }));
    if (Object.keys(secrets).length > 0) await stack.setAllConfig(secrets);
  };
  await setConfig(options.config);
  const log = options.log ?? (() => undefined);
  const onOutput = (line: string) => log(line.replace(/\n$/, ""));
  const counts = (summary: Record<string, number | undefined> | undefined) => Object.fromEntries(Object.entries(summary ?? {}).map(([k, v]) => [k, v ?? 0]));

  return {
    kind: "pulumi-cli",
    stack: options.stack,
    setConfig,
    async up() {
      const r = await stack.up({ onOutput });
      return { operation: "up", changes: counts(r.summary.resourceChanges), output: r.stdout };
    },
    async preview(o = {}) {
      const r = await stack.preview({ onOutput, expectNoChanges: o.expectNoChanges });
      return { operation: "preview", changes: counts(r.changeSummary), output: r.stdout };
    },
    async refresh() {
      const r = await stack.refresh({ onOutput });
      return { operation: "refresh", changes: counts(r.summary.resourceChanges), output: r.stdout };
    },
    async destroy() {
      const r = await stack.destroy({ onOutput });
      return { operation: "destroy", changes: counts(r.summary.resourceChanges), output: r.stdout };
    },
    async outputs() {
      return Object.fromEntries(Object.entries(await stack.outputs()).map(([k, v]) => [k, v.value]));
    },
    async exportState() {
      // Not stack.exportStack(): the Automation API exports with --show-secrets.
      const out = execFileSync(pulumiCommand.command, ["stack", "export", "--stack", options.stack], { cwd: workDir, env: { ...process.env, ...envVars }, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
      return { resources: (JSON.parse(out).deployment?.resources ?? []) as any[] };
    },
    async dispose() {
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * The model (engine.ts) behind the same seam: up is rehearsal.ts's deploy, then redeploy against
 * the same state; destroy removes what the state holds. `runInFreshModules` is
 * jest.isolateModulesAsync.
 */
export function modelEngine(
  docker: Docker,
  initial: StackConfig,
  runInFreshModules: (fn: () => Promise<void>) => Promise<void>,
  options: Parameters<typeof deploy>[3] = {},
): StackEngine & { readonly deployment: () => Deployment | undefined } {
  let current: Deployment | undefined;
  let stackConfig = initial;
  const stepCounts = (d: Deployment): Record<string, number> => {
    const c: Record<string, number> = {};
    for (const s of d.result.steps) c[s.op] = (c[s.op] ?? 0) + 1;
    return c;
  };
  const notModelled = (what: string) => new Error(`the engine model (test/swarm/lib/engine.ts) has no ${what}: run this suite on the real CLI (pulumiCliEngine)`);
  return {
    kind: "model",
    stack: stackConfig.stack,
    deployment: () => current,
    async setConfig(config) {
      stackConfig = { ...stackConfig, config: { ...config }, resolved: resolveStack({ ...config }, stackConfig.stack) };
    },
    async up() {
      current = current ? await redeploy(docker, current, stackConfig, runInFreshModules, options) : await deploy(docker, stackConfig, runInFreshModules, options);
      const failures = current.result.failures.map((f) => `${f.type} ${f.resourceName}: ${f.message}`);
      if (current.result.programError || failures.length > 0) throw new Error(`up failed: ${[current.result.programError?.message, ...failures].filter(Boolean).join("; ")}`);
      return { operation: "up", changes: stepCounts(current), output: current.result.steps.map((s) => `${s.op} ${s.type} ${s.name}`).join("\n") };
    },
    async preview() {
      throw notModelled("preview");
    },
    async refresh() {
      throw notModelled("refresh");
    },
    async destroy() {
      const problems = await destroy(docker, current);
      if (problems.length > 0) throw new Error(`destroy left: ${problems.join("; ")}`);
      current = undefined;
      return { operation: "destroy", changes: {}, output: "" };
    },
    async outputs() {
      return { ...(current?.result.outputs ?? {}) };
    },
    async exportState() {
      return { resources: (current?.objects ?? []).map((o) => ({ urn: `${o.type}::${o.resourceName}`, type: o.type, id: o.id })) };
    },
    async dispose() {
      current = undefined;
    },
  };
}
