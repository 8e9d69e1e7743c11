/**
 * The backup writer's IAM policy grants no action that deletes backups, directly or by letting the
 * holder arrange it: no s3:Delete*, no s3:* or *, no wildcard that includes a delete, no NotAction
 * that leaves one allowed. A leaked key can then add backups but never destroy them.
 *
 * An action counts as destructive if it deletes data or a bucket (every s3:Delete* action), or if
 * it lets the holder delete anyway: PutLifecycleConfiguration (expire every object tomorrow),
 * PutBucketVersioning (suspend versioning, so overwrites destroy), PutBucketPolicy (grant itself
 * the rest), BypassGovernanceRetention and the retention and legal-hold writes (lift a lock), and
 * any other bucket-configuration write (ACLs, public access block, encryption, replication...).
 */
import { asArray, parsePolicyDocument, statements, TYPES, wildcardMatch } from "./common";

export const DESTRUCTIVE_S3_ACTIONS = [
  "s3:DeleteObject",
  "s3:DeleteObjectVersion",
  "s3:DeleteObjectTagging",
  "s3:DeleteObjectVersionTagging",
  "s3:DeleteBucket",
  "s3:DeleteBucketPolicy",
  "s3:DeleteBucketWebsite",
  "s3:DeleteBucketOwnershipControls",
  "s3:DeleteAccessPoint",
  "s3:DeleteAccessPointPolicy",
  "s3:DeleteJobTagging",
  "s3:DeleteStorageLensConfiguration",
  "s3:DeleteMultiRegionAccessPoint",
  "s3:PutLifecycleConfiguration",
  "s3:PutBucketVersioning",
  "s3:PutBucketPolicy",
  "s3:BypassGovernanceRetention",
  // Retention and holds: shorten or lift the lock that keeps a version from being deleted.
  "s3:PutObjectRetention",
  "s3:PutObjectLegalHold",
  "s3:PutBucketObjectLockConfiguration",
  // Bucket configuration: open the bucket (ACLs, public access block, ownership), drop its
  // encryption, copy it elsewhere, or change how it is logged and notified.
  "s3:PutBucketAcl",
  "s3:PutObjectAcl",
  "s3:PutObjectVersionAcl",
  "s3:PutBucketPublicAccessBlock",
  "s3:PutAccountPublicAccessBlock",
  "s3:PutBucketOwnershipControls",
  "s3:PutEncryptionConfiguration",
  "s3:PutReplicationConfiguration",
  "s3:PutBucketLogging",
  "s3:PutBucketNotification",
  "s3:PutBucketWebsite",
  "s3:PutBucketCORS",
  "s3:PutBucketTagging",
  "s3:PutBucketRequestPayment",
  "s3:PutIntelligentTieringConfiguration",
  "s3:PutInventoryConfiguration",
] as const;

/** The destructive actions one statement allows. */
export function allowedDestructiveActions(statement: Record<string, any>): string[] {
  if (statement.Effect !== "Allow") return [];
  const patterns = (key: string) => asArray<unknown>(statement[key]).filter((a): a is string => typeof a === "string");
  if (statement.NotAction !== undefined) {
    const excluded = patterns("NotAction");
    return DESTRUCTIVE_S3_ACTIONS.filter((a) => !excluded.some((p) => wildcardMatch(p, a, true)));
  }
  const actions = patterns("Action");
  const known = DESTRUCTIVE_S3_ACTIONS.filter((a) => actions.some((p) => wildcardMatch(p, a, true)));
  // A delete or bucket-configuration action this list does not know yet still counts.
  const unknownDeletes = actions.filter((p) => /^s3:(delete|putbucket)/i.test(p) && !known.some((a) => wildcardMatch(p, a, true)));
  return [...known, ...unknownDeletes];
}

/** IAM resources that carry a policy document the stack's principals act under. */
export const IAM_POLICY_TYPES: readonly string[] = [TYPES.userPolicy, "aws:iam/rolePolicy:RolePolicy", "aws:iam/groupPolicy:GroupPolicy", "aws:iam/policy:Policy"];

export function writerPolicyViolations(type: string, props: Record<string, any>): string[] {
  if (!IAM_POLICY_TYPES.includes(type)) return [];
  const doc = parsePolicyDocument(props.policy);
  if (doc === undefined) return ["the policy is not a readable JSON policy document"];
  const out: string[] = [];
  for (const [i, s] of statements(doc).entries()) {
    const allowed = allowedDestructiveActions(s);
    if (allowed.length === 0) continue;
    const grant = s.NotAction !== undefined ? `NotAction ${JSON.stringify(s.NotAction)}` : `Action ${JSON.stringify(s.Action)}`;
    out.push(`statement ${s.Sid ?? i} allows ${grant}, which includes ${allowed.slice(0, 3).join(", ")}${allowed.length > 3 ? ` and ${allowed.length - 3} more` : ""}: the backup writer must not be able to delete backups`);
  }
  return out;
}
