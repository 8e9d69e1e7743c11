/**
 * Builds one component alone under Pulumi's mock runtime, as awsx tests its components, and
 * captures what it registers: type, name, inputs (secret wrappers removed, and raw), parent and
 * the options a reviewer cares about. Each call gets a fresh SDK (PULUMI-MOCKS.md #2).
 */
import type * as PulumiModule from "@pulumi/pulumi";
import { isSecretWrapper, unwrapSecrets } from "../../scripts/lib/mockProgram";

export interface CapturedChild {
  readonly type: string;
  readonly name: string;
  readonly id: string;
  readonly inputs: Record<string, any>;
  readonly rawInputs: Record<string, any>;
  readonly parent?: string;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  /** The `import` option: the id of an existing resource to adopt. */
  readonly importId?: string;
  readonly ignoreChanges?: readonly string[];
}

export interface ComponentRun<T> {
  readonly component: T;
  readonly resources: CapturedChild[];
  /** The one resource of a type (and name), or a clear error. */
  one(type: string, name?: string): CapturedChild;
}

/** Generated passwords in tests: easy to find in any input that leaks them. */
export const TEST_SECRET = (name: string) => `test-secret-${name}`;

export async function buildComponent<T>(build: (pulumi: typeof PulumiModule) => T): Promise<ComponentRun<T>> {
  const resources: CapturedChild[] = [];
  const options = new Map<string, { parent?: string; protect: boolean; retainOnDelete: boolean; importId?: string; ignoreChanges?: string[] }>();
  let component: T | undefined;
  let done: Promise<unknown> | undefined;
  let failure: Error | undefined;
  jest.isolateModules(() => {
    const pulumi = require("@pulumi/pulumi") as typeof PulumiModule;
    pulumi.runtime.setMocks(
      {
        newResource(args) {
          const o = options.get(`${args.type}::${args.name}`);
          const id = `${args.name}-id`;
          resources.push({
            type: args.type, name: args.name, id, rawInputs: args.inputs, inputs: unwrapSecrets(args.inputs), parent: o?.parent, protect: o?.protect ?? false, retainOnDelete: o?.retainOnDelete ?? false,
            ...(o?.importId ? { importId: o.importId } : {}), ...(o?.ignoreChanges ? { ignoreChanges: o.ignoreChanges } : {}),
          });
          // Auto-named resources (secrets) get a name the way Pulumi would give one.
          return { id, state: { ...args.inputs, name: args.inputs.name ?? `${args.name}-autonamed` } };
        },
        call(args) {
          return args.inputs;
        },
      },
      "advwell",
      "test",
      false,
    );
    done = (pulumi.runtime as any).runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        options.set(`${args.type}::${args.name}`, {
          parent: (args.opts.parent as { __name?: string } | undefined)?.__name,
          protect: args.opts.protect === true,
          retainOnDelete: args.opts.retainOnDelete === true,
          importId: (args.opts as { import?: string }).import,
          ignoreChanges: args.opts.ignoreChanges,
        });
        return undefined;
      });
      try {
        component = build(pulumi);
      } catch (e) {
        failure = e as Error;
      }
      return {};
    });
  });
  await done;
  if (failure) throw failure;
  // Let the last registrations reach the mock monitor.
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  const one = (type: string, name?: string) => {
    const hits = resources.filter((r) => r.type === type && (name === undefined || r.name === name));
    if (hits.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}; got ${hits.map((h) => h.name).join(", ") || "none"}`);
    return hits[0];
  };
  return { component: component!, resources, one };
}

/** Paths of strings that contain a needle outside any secret wrapper. */
export function plaintextHits(value: unknown, needles: readonly string[], at = "$"): string[] {
  if (isSecretWrapper(value)) return [];
  if (typeof value === "string") return needles.some((n) => value.includes(n)) ? [at] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => plaintextHits(v, needles, `${at}[${i}]`));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => plaintextHits(v, needles, `${at}.${k}`));
  return [];
}

/**
 * The text a captured docker.ServiceConfig holds. The program sends it as base64 `data` only
 * (model/units.ts textToBase64: the built provider refuses `dataRaw`), so this fails when a
 * config comes back with `dataRaw` or without `data`.
 */
export function configText(inputs: Record<string, any>): string {
  if (inputs.dataRaw !== undefined) throw new Error(`config ${inputs.name} sends dataRaw, which the built docker provider refuses`);
  if (typeof inputs.data !== "string") throw new Error(`config ${inputs.name} has no base64 data`);
  return Buffer.from(inputs.data, "base64").toString("utf8");
}
