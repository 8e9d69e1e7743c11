/**
 * Shared vocabulary of the policy rules. Every rule is a pure function of a resource's type, its
 * properties and the options the engine reports (only `protect` matters here); none imports
 * Pulumi, so the rules run the same under the CLI, under mocks and in unit tests.
 */

/** A resource as a stack-wide rule sees it (PolicyResource of @pulumi/policy, trimmed). */
export interface ResourceLike {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly props: Record<string, any>;
  readonly protect: boolean;
  /** URNs each property depends on (PolicyResource.propertyDependencies), when the engine gives them. */
  readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
}

/** A violation a stack-wide rule attributes to one resource. */
export interface StackViolation {
  readonly urn: string;
  readonly message: string;
}

export const TYPES = {
  service: "docker:index/service:Service",
  volume: "docker:index/volume:Volume",
  secret: "docker:index/secret:Secret",
  config: "docker:index/serviceConfig:ServiceConfig",
  bucket: "aws:s3/bucket:Bucket",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  bucketAcl: "aws:s3/bucketAcl:BucketAcl",
  network: "docker:index/network:Network",
  userPolicy: "aws:iam/userPolicy:UserPolicy",
} as const;

/**
 * How the Pulumi wire protocol marks a secret value (`rpc.specialSigKey` / `specialSecretSig` in
 * @pulumi/pulumi): `{ [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value }`. The engine sends inputs to a
 * policy pack in this form; the rules that care about secretness take properties in this form.
 */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export function isWireSecret(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG_VALUE;
}

export function wireSecret(value: unknown): Record<string, unknown> {
  return { [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value };
}

/** The value with every secret wrapper removed. */
export function unwrapWireSecrets(value: any): any {
  if (isWireSecret(value)) return unwrapWireSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapWireSecrets);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapWireSecrets(v)]));
  return value;
}

/** Docker's label list (`[{label, value}]`) as a map. */
export function labelMap(labels: unknown): Record<string, string> {
  if (!Array.isArray(labels)) return {};
  const out: Record<string, string> = {};
  for (const l of labels) if (l && typeof l.label === "string") out[l.label] = String(l.value);
  return out;
}

export function asArray<T>(value: T | readonly T[] | undefined | null): T[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? [...value] : [value as T];
}

/** Parses an IAM/S3 policy document given as JSON text (or already an object); undefined if unreadable. */
export function parsePolicyDocument(policy: unknown): { Statement?: unknown } | undefined {
  if (typeof policy === "string") {
    try {
      return JSON.parse(policy);
    } catch {
      return undefined;
    }
  }
  return policy && typeof policy === "object" ? (policy as { Statement?: unknown }) : undefined;
}

/** Statements of a policy document as an array (a single statement object is allowed by IAM). */
export function statements(doc: { Statement?: unknown }): Record<string, any>[] {
  return asArray(doc.Statement as Record<string, any> | Record<string, any>[]).filter((s) => s && typeof s === "object");
}

/** IAM's wildcard match (`*` any run of characters, `?` one character). Actions compare case-insensitively. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${re}$`, ignoreCase ? "i" : "").test(value);
}
