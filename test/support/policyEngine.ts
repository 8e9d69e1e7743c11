/**
 * Drives a policy list through @pulumi/policy's own gRPC handlers (server.js), in process, the way
 * the Pulumi engine drives a pack: for each resource Remediate, then Analyze, with the inputs as a
 * protobuf Struct that keeps secret markers (the engine marshals with KeepSecrets); at the end
 * AnalyzeStack with every resource's outputs. No server is started.
 *
 * The handlers are internal exports of @pulumi/policy 1.21 (makeRemediateRpcFun and friends); a
 * test that uses this breaks loudly if a future version renames them.
 */
import type { Policies } from "@pulumi/policy";
import type { CapturedResource } from "../../scripts/lib/mockProgram";

/* eslint-disable @typescript-eslint/no-var-requires */
const server = require("@pulumi/policy/server");
const analyzerpb = require("@pulumi/pulumi/proto/analyzer_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");

export interface EngineResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** Inputs in wire form (secret markers as the SDK sends them). */
  readonly inputs: Record<string, unknown>;
  /** Outputs in wire form, for AnalyzeStack; defaults to the inputs. */
  readonly outputs?: Record<string, unknown>;
  readonly protect: boolean;
  readonly propertyDependencies?: Record<string, string[]>;
}

export interface Diagnostic {
  readonly policy: string;
  readonly message: string;
  readonly level: "advisory" | "mandatory" | "remediate" | "disabled";
  readonly urn?: string;
}

const LEVELS: Record<number, Diagnostic["level"]> = {
  [analyzerpb.EnforcementLevel.ADVISORY]: "advisory",
  [analyzerpb.EnforcementLevel.MANDATORY]: "mandatory",
  [analyzerpb.EnforcementLevel.REMEDIATE]: "remediate",
  [analyzerpb.EnforcementLevel.DISABLED]: "disabled",
};

/** JSON round trip: the Struct codec takes JSON values only (no undefined). */
const struct = (value: Record<string, unknown>) => Struct.fromJavaScript(JSON.parse(JSON.stringify(value)));

function options(r: EngineResource) {
  const o = new analyzerpb.AnalyzerResourceOptions();
  o.setProtect(r.protect);
  return o;
}

function call<T>(fn: (call: { request: unknown }, cb: (err: unknown, res: T) => void) => void, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => fn({ request }, (err, res) => (err ? reject(err) : resolve(res))));
}

function diagnostics(response: any): Diagnostic[] {
  return response.getDiagnosticsList().map((d: any) => ({
    policy: d.getPolicyname(),
    message: d.getMessage(),
    level: LEVELS[d.getEnforcementlevel()],
    ...(d.getUrn() ? { urn: d.getUrn() } : {}),
  }));
}

export function policyEngine(policies: Policies, packName = "advwell", version = "0.1.0") {
  const remediate = server.makeRemediateRpcFun(packName, version, "mandatory", policies);
  const analyze = server.makeAnalyzeRpcFun(packName, version, "mandatory", policies);
  const analyzeStack = server.makeAnalyzeStackRpcFun(packName, version, "mandatory", policies);

  // Remediate and Analyze take the same request message.
  const request = (r: EngineResource) => {
    const req = new analyzerpb.AnalyzeRequest();
    req.setType(r.type);
    req.setName(r.name);
    req.setUrn(r.urn);
    req.setProperties(struct(r.inputs));
    req.setOptions(options(r));
    return req;
  };

  return {
    /** Remediate then Analyze one resource registration; returns Analyze's diagnostics and how many remediations changed it. */
    async register(r: EngineResource, o: { skipRemediation?: boolean } = {}): Promise<{ diagnostics: Diagnostic[]; remediations: number }> {
      let remediations = 0;
      if (!o.skipRemediation) {
        const res: any = await call(remediate, request(r));
        remediations = res.getRemediationsList().length;
      }
      return { diagnostics: diagnostics(await call(analyze, request(r))), remediations };
    },
    /** AnalyzeStack over every resource's outputs. */
    async stack(resources: readonly EngineResource[]): Promise<Diagnostic[]> {
      const req = new analyzerpb.AnalyzeStackRequest();
      req.setResourcesList(
        resources.map((r) => {
          const a = new analyzerpb.AnalyzerResource();
          a.setType(r.type);
          a.setName(r.name);
          a.setUrn(r.urn);
          a.setProperties(struct(r.outputs ?? r.inputs));
          a.setOptions(options(r));
          for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) {
            const deps = new analyzerpb.AnalyzerPropertyDependencies();
            deps.setUrnsList(urns);
            a.getPropertydependenciesMap().set(k, deps);
          }
          return a;
        }),
      );
      return diagnostics(await call(analyzeStack, req));
    },
  };
}

export function urnOf(stack: string, type: string, name: string): string {
  return `urn:pulumi:${stack}::advwell::${type}::${name}`;
}

/**
 * A captured resource (scripts/lib/mockProgram.ts) as the engine would hand it to a pack: inputs in
 * wire form, and outputs as the mocks make them (id `<name>-id`; a bucket's name and ARN).
 */
export function engineResource(stack: string, r: CapturedResource): EngineResource {
  const outputs: Record<string, unknown> = { ...r.rawInputs, id: `${r.name}-id` };
  if (r.type === "aws:s3/bucket:Bucket") {
    outputs.bucket = r.inputs.bucket ?? `${r.inputs.bucketPrefix ?? r.name}mock`;
    outputs.arn = `arn:aws:s3:::${outputs.bucket}`;
  }
  return { type: r.type, name: r.name, urn: urnOf(stack, r.type, r.name), inputs: r.rawInputs, outputs, protect: r.protect };
}
