/**
 * Runs the real program (index.ts) under Pulumi's mock runtime with a stack's real config, and
 * captures every resource: type, name, inputs, parent and the options a reviewer cares about.
 * Each run gets a fresh module registry, so the SDK reads this run's config (PULUMI-MOCKS.md #2).
 */
import { stackConfig } from "./stacks";

/** The SDK's marker for a secret value inside a resource's inputs or outputs. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export interface CapturedResource {
  readonly type: string;
  readonly name: string;
  /** Inputs with secret wrappers removed (see `secretInputs` for which were secret). */
  readonly inputs: Record<string, any>;
  /** Top-level input names that arrived wrapped as secrets. */
  readonly secretInputs: string[];
  readonly rawInputs: Record<string, any>;
  readonly parent?: string;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly dependsOn: number;
}

export interface ProgramRun {
  readonly resources: CapturedResource[];
  readonly outputs: Record<string, { value: unknown; secret: boolean }>;
  /** Every generated secret value the mocks handed out. */
  readonly generatedSecrets: string[];
  readonly error?: Error;
}

export function unwrapSecrets(value: any): any {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    if (value[SECRET_SIG] === SECRET_VALUE) return unwrapSecrets(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

const secret = (value: unknown) => ({ [SECRET_SIG]: SECRET_VALUE, value });

export async function runProgram(stack: string, sets: readonly string[] = []): Promise<ProgramRun> {
  const config = stackConfig(stack, sets);
  const resources: CapturedResource[] = [];
  const options = new Map<string, { parent?: string; protect: boolean; retainOnDelete: boolean; dependsOn: number }>();
  const generatedSecrets: string[] = [];
  let program: Record<string, unknown> = {};
  let pulumi: typeof import("@pulumi/pulumi") | undefined;
  let error: Error | undefined;
  let stackRun: Promise<unknown> | undefined;

  await jest.isolateModulesAsync(async () => {
    pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    pulumi.runtime.setAllConfig(config);
    pulumi.runtime.setMocks(
      {
        newResource(args) {
          const state: Record<string, unknown> = { ...args.inputs };
          if (args.type === "random:index/randomPassword:RandomPassword") {
            const value = `mock-pw-${args.name}`;
            generatedSecrets.push(value, `mock-bcrypt-${args.name}`);
            state.result = secret(value);
            state.bcryptHash = secret(`mock-bcrypt-${args.name}`);
          }
          if (args.type === "aws:iam/accessKey:AccessKey") {
            generatedSecrets.push(`mock-secret-key-${args.name}`);
            state.secret = secret(`mock-secret-key-${args.name}`);
            state.id = `AKIAMOCK${args.name}`;
          }
          if (args.type.startsWith("aws:s3/bucket:Bucket")) {
            state.bucket = args.inputs.bucket ?? `${args.inputs.bucketPrefix ?? args.name}mock`;
            state.arn = `arn:aws:s3:::${state.bucket}`;
          }
          const secretInputs = Object.entries(args.inputs)
            .filter(([, v]) => v && typeof v === "object" && (v as any)[SECRET_SIG] === SECRET_VALUE)
            .map(([k]) => k);
          const opts = options.get(`${args.type}::${args.name}`);
          resources.push({
            type: args.type,
            name: args.name,
            rawInputs: args.inputs,
            inputs: unwrapSecrets(args.inputs),
            secretInputs,
            parent: opts?.parent,
            protect: opts?.protect ?? false,
            retainOnDelete: opts?.retainOnDelete ?? false,
            dependsOn: opts?.dependsOn ?? 0,
          });
          return { id: `${args.name}-id`, state };
        },
        call(args) {
          return args.inputs;
        },
      },
      "advwell",
      stack,
      false,
    );
    const p = pulumi;
    // Transformations need the root stack resource, which runInPulumiStack creates, as the CLI does.
    stackRun = (p.runtime as any).runInPulumiStack(async () => {
      p.runtime.registerStackTransformation((args) => {
        const parent = args.opts.parent as { __name?: string } | undefined;
        options.set(`${args.type}::${args.name}`, {
          parent: parent?.__name,
          protect: args.opts.protect === true,
          retainOnDelete: args.opts.retainOnDelete === true,
          dependsOn: Array.isArray(args.opts.dependsOn) ? args.opts.dependsOn.length : args.opts.dependsOn ? 1 : 0,
        });
        return undefined;
      });
      try {
        program = require("../../index");
      } catch (e) {
        error = e as Error;
      }
      return program;
    });
    await stackRun;
  });
  const outputs: ProgramRun["outputs"] = {};
  if (!error && pulumi) {
    const p = pulumi;
    for (const [name, value] of Object.entries(program)) {
      const out = p.output(value as any);
      const [resolved, isSecret] = await Promise.all([new Promise((resolve) => out.apply((v) => resolve(v))), p.isSecret(out)]);
      outputs[name] = { value: resolved, secret: isSecret };
    }
    // Wait for every outstanding registration to reach the mock monitor.
    await (p.runtime as any).disconnect();
  }
  return { resources, outputs, generatedSecrets, error };
}

export function byType(run: ProgramRun, type: string): CapturedResource[] {
  return run.resources.filter((r) => r.type === type);
}

export function service(run: ProgramRun, serviceName: string): CapturedResource {
  const found = run.resources.find((r) => r.type === "docker:index/service:Service" && r.inputs.name === serviceName);
  if (!found) throw new Error(`no docker service named ${serviceName}; have ${byType(run, "docker:index/service:Service").map((r) => r.inputs.name).join(", ")}`);
  return found;
}
