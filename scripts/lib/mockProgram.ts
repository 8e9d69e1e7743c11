/**
 * Runs the real program (index.ts) under Pulumi's mock runtime and captures every resource it
 * registers: type, name, parent, inputs and the options a reviewer cares about (protect,
 * retainOnDelete). Used by `npm run plan -- --resources/--diff` and by the program tests.
 *
 * The caller passes in the @pulumi/pulumi module instance and a loader for the program, so each
 * run can live in a fresh module registry (the SDK reads config once per instance).
 */
import type * as PulumiModule from "@pulumi/pulumi";

/** The SDK's marker for a secret value inside a resource's inputs or outputs. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export interface CapturedResource {
  /** The URN the engine would give it (stack, project, the parents' types, the name). */
  readonly urn: string;
  readonly parentUrn?: string;
  readonly type: string;
  readonly name: string;
  /** Inputs with secret wrappers removed. */
  readonly inputs: Record<string, any>;
  /** Inputs as the monitor received them, secret wrappers included. */
  readonly rawInputs: Record<string, any>;
  readonly parent?: string;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
}

export interface ProgramRun {
  readonly resources: CapturedResource[];
  readonly outputs: Record<string, { value: unknown; secret: boolean }>;
  /** Every generated secret value the mocks handed out, to scan for leaks. */
  readonly generatedSecrets: string[];
  readonly error?: Error;
}

export function isSecretWrapper(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE;
}

export function unwrapSecrets(value: any): any {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    if (isSecretWrapper(value)) return unwrapSecrets(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** Replaces every secret (and everything under it) with "[secret]", for printing. */
export function redactSecrets(value: any): any {
  if (isSecretWrapper(value)) return "[secret]";
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v)]));
  return value;
}

const secret = (value: unknown) => ({ [SECRET_SIG]: SECRET_VALUE, value });

export async function captureProgram(
  pulumi: typeof PulumiModule,
  config: Record<string, string>,
  project: string,
  stack: string,
  loadProgram: () => Record<string, unknown>,
  secretKeys: readonly string[] = [],
): Promise<ProgramRun> {
  // The SDK records `new Error().stack` for every promise it makes (debuggablePromise), for
  // PULUMI_DEBUG_PROMISE_LEAKS to print. Formatting those stacks (through source maps under jest and
  // ts-node) was most of a run's time, so while the program runs errors carry no stack frames,
  // unless that variable is set. Messages are unchanged; the limit is restored afterwards.
  const stackTraceLimit = Error.stackTraceLimit;
  if (!process.env.PULUMI_DEBUG_PROMISE_LEAKS) Error.stackTraceLimit = 0;
  try {
    return await capture(pulumi, config, project, stack, loadProgram, secretKeys);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

async function capture(
  pulumi: typeof PulumiModule,
  config: Record<string, string>,
  project: string,
  stack: string,
  loadProgram: () => Record<string, unknown>,
  secretKeys: readonly string[],
): Promise<ProgramRun> {
  const resources: CapturedResource[] = [];
  // Options per registration, queued by type and name: newResource calls arrive in construction order.
  const options = new Map<string, { urn: string; parentUrn?: string; parent?: string; protect: boolean; retainOnDelete: boolean }[]>();
  const urns = new WeakMap<object, { urn: string; qualifiedType: string }>();
  const generatedSecrets: string[] = [];
  let program: Record<string, unknown> = {};
  let error: Error | undefined;

  // Keys stored as `secure:` reach the program as the CLI hands them over: listed as secret, so
  // isConfigSecret and Config.requireSecret behave as under `pulumi up` (config.ts, setAllConfig).
  pulumi.runtime.setAllConfig(config, [...secretKeys]);
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state: Record<string, unknown> = { ...args.inputs };
        // Generated credentials come back as secrets, as the engine marks them (PULUMI-MOCKS.md #4).
        if (args.type === "random:index/randomPassword:RandomPassword") {
          generatedSecrets.push(`mock-pw-${args.name}`, `mock-bcrypt-${args.name}`);
          state.result = secret(`mock-pw-${args.name}`);
          state.bcryptHash = secret(`mock-bcrypt-${args.name}`);
        }
        if (args.type === "aws:iam/accessKey:AccessKey") {
          generatedSecrets.push(`mock-secret-key-${args.name}`);
          state.secret = secret(`mock-secret-key-${args.name}`);
        }
        if (args.type === "aws:s3/bucket:Bucket") {
          state.bucket = args.inputs.bucket ?? `${args.inputs.bucketPrefix ?? args.name}mock`;
          state.arn = `arn:aws:s3:::${state.bucket}`;
        }
        if (args.type.startsWith("aws:iam/user:User")) state.arn = `arn:aws:iam::123456789012:user/${args.inputs.name ?? args.name}`;
        if (args.type === "aws:kms/key:Key") state.arn = `arn:aws:kms:sa-east-1:123456789012:key/${args.name}`;
        const opts = options.get(`${args.type}::${args.name}`)?.shift();
        resources.push({
          urn: opts?.urn ?? `urn:pulumi:${stack}::${project}::${args.type}::${args.name}`,
          parentUrn: opts?.parentUrn,
          type: args.type,
          name: args.name,
          rawInputs: args.inputs,
          inputs: unwrapSecrets(args.inputs),
          parent: opts?.parent,
          protect: opts?.protect ?? false,
          retainOnDelete: opts?.retainOnDelete ?? false,
        });
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        if (args.token === "aws:index/getCallerIdentity:getCallerIdentity") return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/ci", userId: "AIDAMOCK" };
        if (args.token === "aws:index/getRegion:getRegion") return { name: "sa-east-1", region: "sa-east-1" };
        return args.inputs;
      },
    },
    project,
    stack,
    false, // preview=false: with true, unknown values never run apply (PULUMI-MOCKS.md #6)
  );
  // Transformations need the root stack resource, which runInPulumiStack creates, as the CLI does.
  await (pulumi.runtime as any).runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      const parent = args.opts.parent as ({ __name?: string } & object) | undefined;
      // The engine's URN: the parents' types joined by "$" (the stack itself is not named), then the name.
      const of = parent ? urns.get(parent) : undefined;
      const qualifiedType = of ? `${of.qualifiedType}$${args.type}` : args.type;
      const urn = `urn:pulumi:${stack}::${project}::${qualifiedType}::${args.name}`;
      urns.set(args.resource, { urn, qualifiedType });
      const key = `${args.type}::${args.name}`;
      options.set(key, [...(options.get(key) ?? []), { urn, parentUrn: of?.urn, parent: parent?.__name, protect: args.opts.protect === true, retainOnDelete: args.opts.retainOnDelete === true }]);
      return undefined;
    });
    try {
      program = loadProgram();
    } catch (e) {
      error = e as Error;
    }
    return program;
  });
  const outputs: ProgramRun["outputs"] = {};
  if (!error) {
    for (const [name, value] of Object.entries(program)) {
      const out = pulumi.output(value as any);
      const [resolved, isSecret] = await Promise.all([new Promise((resolve) => out.apply((v) => resolve(v))), pulumi.isSecret(out)]);
      outputs[name] = { value: resolved, secret: isSecret };
    }
    // Wait for every outstanding registration to reach the mock monitor.
    await (pulumi.runtime as any).disconnect();
  }
  return { resources, outputs, generatedSecrets, error };
}
