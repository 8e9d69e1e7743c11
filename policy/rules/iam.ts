/**
 * The backup writer's IAM policy grants no action that deletes backups, directly or by letting the
 * holder arrange it: no s3:Delete*, no s3:* or *, no wildcard that includes a delete, no NotAction
 * that leaves one allowed. A leaked key can then add backups but never destroy them.
 *
 * An action counts as destructive if it deletes data or a bucket (every s3:Delete* action), or if
 * it lets the holder delete anyway: PutLifecycleConfiguration (expire every object tomorrow),
 * PutBucketVersioning (suspend versioning, so overwrites destroy), PutBucketPolicy (grant itself
 * the rest) and BypassGovernanceRetention.
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
  // A delete action this list does not know yet still counts.
  const unknownDeletes = actions.filter((p) => /^s3:delete/i.test(p) && !known.some((a) => wildcardMatch(p, a, true)));
  return [...known, ...unknownDeletes];
}

export function writerPolicyViolations(type: string, props: Record<string, any>): string[] {
  if (type !== TYPES.userPolicy) return [];
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
