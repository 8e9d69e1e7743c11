/**
 * Every S3 bucket blocks public access (all four flags), is encrypted by default, is versioned and
 * refuses plain-HTTP requests. In AWS provider v7 these are separate resources that name the bucket
 * in their `bucket` property, so this is a stack rule: a guard belongs to a bucket when its `bucket`
 * equals the bucket's id or name, or when the engine says its `bucket` property depends on the
 * bucket (propertyDependencies, which also works while the id is still unknown in a preview).
 */
import { asArray, parsePolicyDocument, ResourceLike, StackViolation, statements, TYPES, wildcardMatch } from "./common";

const PUBLIC_ACCESS_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;
const SSE_ALGORITHMS = new Set(["AES256", "aws:kms", "aws:kms:dsse"]);

function guards(resources: readonly ResourceLike[], bucket: ResourceLike, type: string): ResourceLike[] {
  const ids = [bucket.props.id, bucket.props.bucket].filter((v) => typeof v === "string" && v !== "");
  return resources.filter(
    (r) => r.type === type && (r.propertyDependencies?.bucket?.includes(bucket.urn) === true || (typeof r.props.bucket === "string" && ids.includes(r.props.bucket))),
  );
}

function bucketArn(bucket: ResourceLike): string | undefined {
  if (typeof bucket.props.arn === "string") return bucket.props.arn;
  const name = bucket.props.bucket ?? bucket.props.id;
  return typeof name === "string" ? `arn:aws:s3:::${name}` : undefined;
}

const anyone = (principal: unknown): boolean =>
  principal === "*" || (typeof principal === "object" && principal !== null && asArray((principal as Record<string, unknown>).AWS as string | string[]).includes("*"));

/** True when the statement denies every S3 action to everyone over plain HTTP, on the bucket and its objects. */
export function deniesInsecureTransport(statement: Record<string, any>, arn: string | undefined): boolean {
  if (statement.Effect !== "Deny" || !anyone(statement.Principal)) return false;
  if (!asArray<string>(statement.Action).some((a) => typeof a === "string" && (wildcardMatch(a, "s3:*", true) || a === "*"))) return false;
  const bool = Object.entries(statement.Condition ?? {}).find(([op]) => op.toLowerCase() === "bool")?.[1] as Record<string, unknown> | undefined;
  const secure = Object.entries(bool ?? {}).find(([k]) => k.toLowerCase() === "aws:securetransport")?.[1];
  if (!asArray(secure as unknown).some((v) => v === false || String(v).toLowerCase() === "false")) return false;
  if (arn === undefined) return true;
  const resources = asArray<string>(statement.Resource).filter((r) => typeof r === "string");
  return [arn, `${arn}/any-object-key`].every((target) => resources.some((r) => wildcardMatch(r, target)));
}

/** Canned ACLs that grant to everyone or to every AWS account. */
const PUBLIC_CANNED_ACLS = new Set(["public-read", "public-read-write", "authenticated-read"]);
/** The grantee groups that mean everyone (AllUsers) or every AWS account (AuthenticatedUsers). */
const PUBLIC_GRANTEES = /acs\.amazonaws\.com\/groups\/global\/(AllUsers|AuthenticatedUsers)/i;

/** Allow statements of a bucket policy whose principal is everyone ("*" or {"AWS": "*"}). */
export function publicAllowStatements(doc: { Statement?: unknown }): Record<string, any>[] {
  return statements(doc).filter((s) => s.Effect === "Allow" && (anyone(s.Principal) || s.NotPrincipal !== undefined));
}

/** Why a BucketAcl (AWS v7 aws.s3.BucketAcl) opens a bucket: a public canned ACL, or a grant to everyone. */
export function publicAclReasons(props: Record<string, any>): string[] {
  const out: string[] = [];
  if (typeof props.acl === "string" && PUBLIC_CANNED_ACLS.has(props.acl)) out.push(`canned ACL ${props.acl}`);
  const grants: Record<string, any>[] = asArray(props.accessControlPolicy?.grants);
  for (const g of grants) {
    const grantee = g?.grantee ?? {};
    if (PUBLIC_GRANTEES.test(String(grantee.uri ?? ""))) out.push(`a ${g.permission ?? ""} grant to ${grantee.uri}`.replace("a  grant", "a grant"));
  }
  return out;
}

export function bucketGuardViolations(resources: readonly ResourceLike[]): StackViolation[] {
  const out: StackViolation[] = [];
  for (const bucket of resources.filter((r) => r.type === TYPES.bucket)) {
    const report = (message: string) => out.push({ urn: bucket.urn, message: `bucket ${bucket.name}: ${message}` });

    const blocks = guards(resources, bucket, TYPES.publicAccessBlock);
    const fullBlock = blocks.some((b) => PUBLIC_ACCESS_FLAGS.every((f) => b.props[f] === true));
    if (!fullBlock) {
      const missing = blocks.length === 0 ? [...PUBLIC_ACCESS_FLAGS] : PUBLIC_ACCESS_FLAGS.filter((f) => !blocks.some((b) => b.props[f] === true));
      report(`public access is not fully blocked (${blocks.length === 0 ? "no BucketPublicAccessBlock" : `not true: ${missing.join(", ")}`})`);
    }

    const encrypted = guards(resources, bucket, TYPES.encryption).some((e) =>
      asArray<Record<string, any>>(e.props.rules).some((rule) => SSE_ALGORITHMS.has(rule?.applyServerSideEncryptionByDefault?.sseAlgorithm)),
    );
    if (!encrypted) report("no default encryption (BucketServerSideEncryptionConfiguration with AES256 or aws:kms)");

    const versioned = guards(resources, bucket, TYPES.versioning).some((v) => v.props.versioningConfiguration?.status === "Enabled");
    if (!versioned) report('versioning is not Enabled (BucketVersioning versioningConfiguration.status "Enabled")');

    const arn = bucketArn(bucket);
    const tlsOnly = guards(resources, bucket, TYPES.bucketPolicy).some((p) => {
      const doc = parsePolicyDocument(p.props.policy);
      return doc !== undefined && statements(doc).some((s) => deniesInsecureTransport(s, arn));
    });
    if (!tlsOnly) report("the bucket policy does not deny non-TLS access (a Deny of s3:* to * on the bucket and its objects when aws:SecureTransport is false)");

    for (const p of guards(resources, bucket, TYPES.bucketPolicy)) {
      const doc = parsePolicyDocument(p.props.policy);
      for (const s of doc ? publicAllowStatements(doc) : []) {
        report(`the bucket policy's statement ${s.Sid ?? JSON.stringify(s.Action)} allows ${JSON.stringify(s.Action ?? s.NotAction)} to everyone (Principal "*" or a NotPrincipal); grant named principals only`);
      }
    }
    for (const acl of guards(resources, bucket, TYPES.bucketAcl)) {
      for (const reason of publicAclReasons(acl.props)) report(`its ACL grants access to everyone: ${reason}`);
    }
  }
  return out;
}
