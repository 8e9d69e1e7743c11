/**
 * The S3 bucket policy and the backup writer's IAM policy, as documents. Pure.
 */
export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: "*" | Readonly<Record<string, string | readonly string[]>>;
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

/** Refuses every request made over plain HTTP, from anyone, to the bucket and its objects. */
export function bucketPolicyDocument(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}

/**
 * What the backup service's credentials may do: write and read its own stack's backups, and
 * nothing else. No delete action anywhere: a leaked key cannot destroy backups (an overwrite
 * leaves the previous version for `noncurrentDays`; expiry is the lifecycle rule's job).
 *
 * - PutObject + AbortMultipartUpload: `aws s3 cp` uploads large dumps in parts and aborts a
 *   failed multipart upload itself.
 * - GetObject: HeadObject is authorised as GetObject, and the script verifies every upload with
 *   head-object; restore.sh and the restore drill run with the same credentials in the same
 *   container. It widens nothing real: the holder also has the database password.
 * - ListBucket, only under `<prefix>/<stack>/`: find the latest backup, and get a 404 rather
 *   than a 403 from head-object on a missing key.
 * - With SSE-KMS: GenerateDataKey/Encrypt to write, Decrypt because multipart uploads and reads
 *   of SSE-KMS objects need it, on that key only.
 */
export function writerPolicyDocument(bucketArn: string, prefix: string, stack: string, kmsKeyArn?: string, pitrKeyPrefix?: string): PolicyDocument {
  const objects = `${bucketArn}/${prefix}/${stack}/*`;
  const pitrObjects = pitrKeyPrefix ? [`${bucketArn}/${pitrKeyPrefix}*`] : [];
  const both = pitrObjects.length > 0 ? [objects, ...pitrObjects] : objects;
  const statements: PolicyStatement[] = [
    { Sid: "WriteBackups", Effect: "Allow", Action: ["s3:PutObject", "s3:AbortMultipartUpload"], Resource: both },
    { Sid: "ReadBackups", Effect: "Allow", Action: "s3:GetObject", Resource: both },
    {
      Sid: "ListOwnBackups",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: bucketArn,
      Condition: { StringLike: { "s3:prefix": [`${prefix}/${stack}/*`, ...(pitrKeyPrefix ? [`${pitrKeyPrefix}*`] : [])] } },
    },
  ];
  if (pitrKeyPrefix) {
    // pgBackRest's expire (after each full backup) removes what retention no longer needs. On this
    // versioned bucket a DeleteObject without a version id only adds a delete marker: the data
    // stays as a noncurrent version, under Object Lock until its retention ends, and the key has
    // no s3:DeleteObjectVersion, s3:BypassGovernanceRetention or s3:PutObjectRetention to change that.
    statements.push({ Sid: "ExpirePitrFiles", Effect: "Allow", Action: "s3:DeleteObject", Resource: pitrObjects });
  }
  if (kmsKeyArn) {
    statements.push({ Sid: "UseBackupKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"], Resource: kmsKeyArn });
  }
  return { Version: "2012-10-17", Statement: statements };
}
