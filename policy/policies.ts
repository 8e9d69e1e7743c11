/**
 * The AdvWell policies: each wires one pure rule (rules/*.ts) into @pulumi/policy's Policy shape.
 * Kept apart from index.ts, because constructing a PolicyPack starts its gRPC server.
 *
 * What the engine gives a pack, in @pulumi/policy 1.21 (read from its server.js/deserialize.js and
 * the engine's analyzer_plugin.go / step_generator.go):
 * - For every resource registration, the engine first calls Remediate, then Analyze, in the same
 *   pack process, with the resource's inputs marshalled with KeepSecrets (secret markers kept).
 * - Analyze (validateResource) and AnalyzeStack (validateStack) hand policies the properties with
 *   every secret marker removed: `args.props` cannot tell a secret from a plain value.
 * - Remediate hands `remediateResource` the properties with each secret wrapped in @pulumi/policy's
 *   `Secret` class behind a proxy that unwraps on property access; the wrappers are visible through
 *   Object.getOwnPropertyDescriptor (the proxy has no trap for it), which toWireForm uses.
 * - Remediations run only for policies whose enforcement level is "remediate"; such a policy's
 *   validateResource is then reported as mandatory. So the secretness policy observes in its
 *   remediation (changing nothing) and reports in its validation, at the mandatory level.
 * - Unknown values (a preview before the value exists) make a property access throw; the server
 *   turns that into an advisory "can't run policy during preview" and the rule runs again at `up`.
 */
import {
  Policies,
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  Secret,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { bucketGuardViolations } from "./rules/bucket";
import { ResourceLike, StackViolation, TYPES, wireSecret } from "./rules/common";
import { writerPolicyViolations } from "./rules/iam";
import { protectionViolations } from "./rules/protection";
import { configCredentialViolations, markedSecretStrings, secretLeakViolations, secretMarkViolations } from "./rules/secrets";
import { credentialViolations, exposureViolations, privilegeViolations, secretFileViolations } from "./rules/hardening";
import { networkViolations } from "./rules/networks";
import { swarmServiceViolations } from "./rules/service";

export const POLICY_NAMES = [
  "swarm-service-guards",
  "stateful-resources-protected",
  "bucket-guards",
  "backup-writer-cannot-delete",
  "swarm-secrets-marked-secret",
  "swarm-configs-hold-no-credentials",
  "swarm-configs-hold-no-stack-secrets",
  "swarm-service-exposure",
  "swarm-service-no-credentials",
  "swarm-service-privileges",
  "swarm-secret-files-private",
  "swarm-networks-segmented",
] as const;

export interface PolicyOptions {
  /** `advwell:environment` of the stack being deployed, when the engine passes stack config. */
  readonly stackEnvironment?: string;
}

/** The stack's `advwell:environment` from the config the engine passes a policy pack (PULUMI_CONFIG). */
export function stackEnvironmentFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  try {
    const value = JSON.parse(env.PULUMI_CONFIG ?? "{}")["advwell:environment"];
    return typeof value === "string" && value !== "" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Remediation-time properties in the wire form the rules read: each @pulumi/policy `Secret` becomes
 * a secret marker again. Reads through property descriptors, which the pack's proxies do not trap,
 * so neither the unwrapping nor the unknown-value check gets in the way.
 */
export function toWireForm(value: unknown): unknown {
  if (value instanceof Secret) return wireSecret(toWireForm(value.value));
  if (value === null || typeof value !== "object") return value;
  const read = (key: string) => {
    const d = Object.getOwnPropertyDescriptor(value, key);
    return d && "value" in d ? toWireForm(d.value) : undefined;
  };
  if (Array.isArray(value)) return Array.from({ length: value.length }, (_, i) => read(String(i)));
  const out: Record<string, unknown> = {};
  for (const key of Reflect.ownKeys(value)) if (typeof key === "string") out[key] = read(key);
  return out;
}

export function toResourceLike(r: PolicyResource): ResourceLike {
  return {
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: r.props,
    protect: r.opts.protect,
    propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies ?? {}).map(([k, deps]) => [k, deps.map((d) => d.urn)])),
  };
}

const NOT_OBSERVED =
  "could not tell which inputs are secret: the remediation pass of swarm-secrets-marked-secret did not run for this resource (keep that policy's enforcement level at remediate)";

const each = (messages: readonly string[], report: ReportViolation) => messages.forEach((m) => report(m));

/** A mandatory policy from a pure rule over one resource. */
function resourceRule(name: string, description: string, rule: (type: string, props: Record<string, any>) => string[]): ResourceValidationPolicy {
  return { name, description, enforcementLevel: "mandatory", validateResource: (args, report) => each(rule(args.type, args.props), report) };
}

/** A mandatory policy from a pure rule over the whole stack. */
function stackRule(name: string, description: string, rule: (resources: readonly ResourceLike[]) => StackViolation[]): StackValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    validateStack: (args: StackValidationArgs, report) => {
      for (const v of rule(args.resources.map(toResourceLike))) report(v.message, v.urn);
    },
  };
}

/** A fresh policy list; each call has its own record of what the remediation pass observed. */
export function makePolicies(options: PolicyOptions = {}): Policies {
  /** URN -> secretness violations seen in the remediation pass. */
  const observed = new Map<string, string[]>();
  /** URN -> secret strings in the resource's inputs. */
  const marked = new Map<string, string[]>();

  const service: ResourceValidationPolicy = {
    name: "swarm-service-guards",
    description: "Every Swarm service has CPU and memory limits and reservations, a health check, an update config that rolls back, a rollback config and a pinned image.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => each(swarmServiceViolations(args.type, args.props), report),
  };
  const protection: ResourceValidationPolicy = {
    name: "stateful-resources-protected",
    description: "PostgreSQL data volumes are protected in every environment; backup buckets are protected in production.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => each(protectionViolations(args.type, args.props, args.opts, { stackEnvironment: options.stackEnvironment }), report),
  };
  const bucket = stackRule(
    "bucket-guards",
    "Every S3 bucket blocks public access (all four flags), is encrypted, is versioned, denies non-TLS requests, and grants nothing to everyone in its policy or ACL.",
    bucketGuardViolations,
  );
  const writer: ResourceValidationPolicy = {
    name: "backup-writer-cannot-delete",
    description: "IAM policies (the backup writer's) allow no action that deletes backups or lets the holder delete them: no s3:*, no delete, no retention, lifecycle or other bucket-configuration write.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => each(writerPolicyViolations(args.type, args.props), report),
  };
  const secretness: ResourceValidationPolicy = {
    name: "swarm-secrets-marked-secret",
    description: "A Swarm secret's data is marked secret by the program; no Swarm config holds a value the program marked secret.",
    // "remediate" so the engine's Remediate call (the only one that shows secret markers) reaches
    // this policy; it changes nothing, and its validateResource reports at the mandatory level.
    enforcementLevel: "remediate",
    remediateResource: (args: ResourceValidationArgs) => {
      const wire = toWireForm(args.props) as Record<string, unknown>;
      marked.set(args.urn, markedSecretStrings(wire));
      observed.set(args.urn, secretMarkViolations(args.type, wire));
      return undefined;
    },
    validateResource: (args, report) => {
      if (args.type !== TYPES.secret && args.type !== TYPES.config) return;
      const found = observed.get(args.urn);
      if (found === undefined) report(NOT_OBSERVED);
      else each(found, report);
    },
  };
  const credentials: ResourceValidationPolicy = {
    name: "swarm-configs-hold-no-credentials",
    description: "No Swarm config's text holds a credential: a URL with a password, a password/secret/token assignment, a PEM private key or AWS keys.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => each(configCredentialViolations(args.type, args.props), report),
  };
  const leaks: StackValidationPolicy = {
    name: "swarm-configs-hold-no-stack-secrets",
    description: "No Swarm config's text contains a value that a resource of the stack marks secret.",
    enforcementLevel: "mandatory",
    validateStack: (args: StackValidationArgs, report) => {
      if (marked.size === 0) {
        report(NOT_OBSERVED);
        return;
      }
      for (const v of secretLeakViolations(args.resources.map(toResourceLike), marked)) report(v.message, v.urn);
    },
  };
  const exposure = resourceRule("swarm-service-exposure", "Only the edge proxy publishes ports; PostgreSQL's and PgBouncer's ports are never published.", exposureViolations);
  const serviceCredentials = resourceRule("swarm-service-no-credentials", "No password, token or key as a literal in a service's env or args: they come as Swarm secret files.", credentialViolations);
  const privileges = resourceRule(
    "swarm-service-privileges",
    "Added capabilities only from a short list; the Docker socket only into the services that serve or filter the Docker API; the host's / only into node-exporter; every bind mount read-only.",
    privilegeViolations,
  );
  const secretFiles = resourceRule("swarm-secret-files-private", "Every Swarm secret file is readable by its owner (at most its group), never 0444.", secretFileViolations);
  const networks = stackRule("swarm-networks-segmented", "The networks a database joins are internal and encrypted; the edge network holds only Traefik and what it routes to there.", networkViolations);
  return [service, protection, bucket, writer, secretness, credentials, leaks, exposure, serviceCredentials, privileges, secretFiles, networks];
}
