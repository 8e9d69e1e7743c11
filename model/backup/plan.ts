/**
 * Backup settings -> one resolved backup plan. Pure: no Pulumi, no I/O. The components in
 * `components/backup.ts` only map this plan onto resources.
 *
 * What a backup is: `pg_dump --format=custom` of the application database, taken by a Swarm
 * service running `containers/backup/backup.sh`, uploaded to
 * `s3://<bucket>/<prefix>/<stack>/<YYYYMMDDTHHMMSSZ>.dump` (`.dump.gpg` when encrypted).
 */
import { configKey, PROJECT } from "../config/keys";
import { postgresMajor } from "../config/references";
import type { Environment, Settings } from "../config/settings";
import { cronMaxGapSeconds, parseCron } from "../cron";
import { error, Finding, warning } from "../findings";
import { pitrKeyPrefix } from "./pitr";

const key = configKey;

/**
 * The backup image per PostgreSQL major. pg_dump refuses to dump a server of a newer major
 * ("aborting because of server version mismatch", eeshugerman/postgres-backup-s3#42), and a
 * dump from an older pg_dump can miss newer objects, so the image is chosen by the server's major.
 *
 * siemens/postgres-backup-s3:<major> is built `FROM postgres:<major>-alpine` (the official image,
 * so pg_dump/pg_restore are the PostgreSQL project's own binaries of that major) and adds the
 * aws CLI and gnupg; its CI rebuilds every tag weekly for majors 13-17. The better-known
 * eeshugerman/postgres-backup-s3 stops at 16 (its issue #65 asks for 17) and pins old Alpine
 * releases. We run our own script in it (a Swarm config), not the image's run.sh: see the
 * scheduling note in containers/backup/backup.sh.
 */
export const BACKUP_IMAGE_REPOSITORY = "siemens/postgres-backup-s3";
export const BACKUP_IMAGE_MAJORS = [13, 14, 15, 16, 17] as const;

/** The S3 minimum age before a transition to STANDARD_IA. */
export const STANDARD_IA_MIN_DAYS = 30;
/** STANDARD_IA bills at least 30 days of storage per object, even if it expires sooner. */
export const STANDARD_IA_MIN_BILLED_DAYS = 30;
/** Multipart uploads that never completed are invisible but billed; drop their parts after a day. */
export const ABORT_INCOMPLETE_UPLOAD_DAYS = 1;
/** Slack added to the longest gap between scheduled runs before the healthcheck reports a stale backup. */
export const HEALTH_SLACK_SECONDS = 2 * 3600;
/** `bucketPrefix` is at most 37 characters: the provider appends a 26-character unique suffix. */
export const BUCKET_PREFIX_MAX = 37;

export interface LifecyclePlan {
  /** Keys the backup rule applies to: `<prefix>/<stack>/`. */
  readonly keyPrefix: string;
  /** A current backup expires (becomes noncurrent, the bucket is versioned) after this many days. */
  readonly expirationDays: number;
  /** Moved to STANDARD_IA after this many days. */
  readonly transitionDays: number;
  /** A noncurrent version (expired or overwritten) is deleted this many days later. */
  readonly noncurrentDays: number;
  readonly abortIncompleteUploadDays: number;
}

/** One lifecycle rule in the shape of the AWS provider's `BucketLifecycleConfigurationRule`. */
export interface LifecycleRule {
  readonly id: string;
  readonly status: "Enabled";
  readonly filter: { readonly prefix: string };
  readonly expiration?: { readonly days: number };
  readonly transitions?: readonly { readonly days: number; readonly storageClass: "STANDARD_IA" }[];
  readonly noncurrentVersionExpiration?: { readonly noncurrentDays: number };
  readonly abortIncompleteMultipartUpload?: { readonly daysAfterInitiation: number };
}

export type Encryption = { readonly algorithm: "AES256" } | { readonly algorithm: "aws:kms"; readonly kmsKeyArn: string };

export interface BucketNaming {
  /** Set when `advwell:backupBucketName` names the bucket. */
  readonly name?: string;
  /** Otherwise the provider generates `<namePrefix><unique suffix>`. */
  readonly namePrefix?: string;
}

export interface BackupPlan {
  readonly enabled: boolean;
  readonly stack: string;
  readonly environment: Environment;
  /** Five-field cron expression, UTC, as the service's scheduler reads it. */
  readonly schedule: string;
  /** The longest gap between two scheduled runs (over a leap-year cycle). */
  readonly scheduleMaxGapSeconds: number;
  /** The healthcheck reports unhealthy when the last success is older than this (daily: 26 h). */
  readonly maxAgeSeconds: number;
  readonly postgresMajor: number;
  readonly image: string;
  /** S3-compatible endpoint the backup container talks to; undefined means AWS. */
  readonly endpointUrl?: string;
  readonly bucket: BucketNaming;
  readonly prefix: string;
  /** `<prefix>/<stack>/`: everything this stack writes lives under it. */
  readonly keyPrefix: string;
  /** Documentation of the object key layout. */
  readonly objectKeyPattern: string;
  readonly lifecycle: LifecyclePlan;
  readonly lifecycleRules: readonly LifecycleRule[];
  readonly encryption: Encryption;
  /** Production buckets are `protect`ed: `pulumi destroy` refuses to delete them. */
  readonly protect: boolean;
  /** Production bucket resources are retained in AWS if they ever leave the program or the stack. */
  readonly retainOnDelete: boolean;
  readonly tags: Readonly<Record<string, string>>;
  /** aws: the stack creates bucket, guards and writer; s3-compatible: none of them (an existing bucket). */
  readonly storage: "aws" | "s3-compatible";
  /** s3-compatible: the region requests are signed for. */
  readonly region?: string;
  /** S3 Object Lock default retention (aws mode), or undefined when off or not ours to set. */
  readonly objectLock?: ObjectLockPlan;
  readonly findings: readonly Finding[];
}

/**
 * Object Lock: every object version the writer puts is locked for `days` from its creation, so no
 * key short of the lock's own rules can delete or overwrite-then-expire it sooner. `days` is at
 * least every expiry the lifecycle or pgBackRest applies, so the lock never ends before the data
 * was meant to go.
 */
export interface ObjectLockPlan {
  readonly mode: "GOVERNANCE" | "COMPLIANCE";
  readonly days: number;
}

// ---------------------------------------------------------------------------------------------
// Names.

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/** S3's bucket naming rules (general purpose buckets). Returns the broken rule, if any. */
export function bucketNameProblem(name: string): string | undefined {
  if (!BUCKET_NAME.test(name)) return "3-63 characters of lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit";
  if (name.includes("..")) return "no two adjacent dots";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "not formatted as an IP address";
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return "not starting with xn--, sthree- or amzn-s3-demo-";
  if (/(-s3alias|--ol-s3|--x-s3|--table-s3)$/.test(name)) return "not ending with -s3alias, --ol-s3, --x-s3 or --table-s3";
  return undefined;
}

/** `advwell-backups-<stack>-`, lower-cased, invalid characters replaced, cut to 37 characters. */
export function bucketNamePrefix(stack: string): string {
  const safeStack = stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-|-$/g, "");
  const base = `${PROJECT}-backups-`;
  const room = BUCKET_PREFIX_MAX - base.length - 1;
  const stackPart = safeStack.slice(0, room).replace(/-$/, "");
  return stackPart ? `${base}${stackPart}-` : base;
}

/** The backup job's image: advwell:backupImage, or the published image for PostgreSQL's major. */
export function resolveBackupImage(settings: Pick<Settings, "images">): string {
  const major = postgresMajor(settings.images.postgresImage) ?? 0;
  return settings.images.backupImage ?? backupImage(major) ?? `${BACKUP_IMAGE_REPOSITORY}:${major}`;
}

export function backupImage(major: number): string | undefined {
  return (BACKUP_IMAGE_MAJORS as readonly number[]).includes(major) ? `${BACKUP_IMAGE_REPOSITORY}:${major}` : undefined;
}

/** `2026-11-28T02:00:00Z` -> `20261128T020000Z`: sorts as it orders, no characters a shell or URL cares about. */
export function backupTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}

export function backupObjectKey(prefix: string, stack: string, date: Date): string {
  return `${prefix}/${stack}/${backupTimestamp(date)}.dump`;
}

// ---------------------------------------------------------------------------------------------
// The plan.

export function lifecycleRules(lifecycle: LifecyclePlan, pitrKeyPrefix?: string): LifecycleRule[] {
  return [
    {
      id: "backups-retention",
      status: "Enabled",
      filter: { prefix: lifecycle.keyPrefix },
      transitions: [{ days: lifecycle.transitionDays, storageClass: "STANDARD_IA" }],
      expiration: { days: lifecycle.expirationDays },
      noncurrentVersionExpiration: { noncurrentDays: lifecycle.noncurrentDays },
    },
    {
      // Whole bucket: a killed upload anywhere leaves billed, invisible parts.
      id: "abort-incomplete-uploads",
      status: "Enabled",
      filter: { prefix: "" },
      abortIncompleteMultipartUpload: { daysAfterInitiation: lifecycle.abortIncompleteUploadDays },
    },
    // pgBackRest's repository (last, so turning PITR on leaves the other rules' places alone): its own
    // expire decides what is current; only what it (or an overwrite) made noncurrent goes,
    // noncurrentDays later, and never before its Object Lock ends.
    ...(pitrKeyPrefix ? [{ id: "pitr-noncurrent", status: "Enabled" as const, filter: { prefix: pitrKeyPrefix }, noncurrentVersionExpiration: { noncurrentDays: lifecycle.noncurrentDays } }] : []),
  ];
}

export function planBackup(settings: Settings): BackupPlan {
  const b = settings.backup;
  const findings: Finding[] = [];

  // Schedule and the healthcheck threshold that follows from it.
  const cron = parseCron(b.schedule);
  let maxGap = 86400;
  if (typeof cron === "string") {
    findings.push(error(key("backupSchedule"), `${cron}; e.g. "0 2 * * *" (daily at 02:00 UTC)`));
  } else {
    const gap = cronMaxGapSeconds(cron);
    if (gap === undefined) findings.push(error(key("backupSchedule"), `"${b.schedule}" never fires (no date matches it)`));
    else {
      maxGap = gap;
      if (gap > 86400) findings.push(warning(key("backupSchedule"), `"${b.schedule}" leaves up to ${Math.round(gap / 3600)} h between backups: that much data can be lost; the seed intended daily backups`));
    }
  }

  // Image from the server's major.
  const major = postgresMajor(settings.images.postgresImage) ?? 0;
  const image = settings.images.backupImage ?? backupImage(major);
  if (b.enabled && image === undefined) {
    findings.push(error(key("postgresImage"), `PostgreSQL ${major} has no ${BACKUP_IMAGE_REPOSITORY} image (published: ${BACKUP_IMAGE_MAJORS.join(", ")}); pg_dump must match the server's major, so use a supported major or set advwell:backupEnabled=false`));
  }

  // Bucket naming.
  let bucket: BucketNaming;
  if (b.bucketName !== undefined) {
    const problem = bucketNameProblem(b.bucketName);
    if (problem) findings.push(error(key("backupBucketName"), `got ${JSON.stringify(b.bucketName)}; S3 bucket names must be ${problem}`));
    else if (b.bucketName.includes(".")) findings.push(warning(key("backupBucketName"), `"${b.bucketName}" contains dots: virtual-hosted HTTPS requests to it fail certificate checks; prefer hyphens`));
    bucket = { name: b.bucketName };
  } else {
    bucket = { namePrefix: bucketNamePrefix(settings.stack) };
  }

  // Lifecycle: S3 rejects a STANDARD_IA transition before 30 days, and an expiration that does
  // not come after the transition in the same rule.
  if (b.transitionDays < STANDARD_IA_MIN_DAYS) {
    findings.push(error(key("backupTransitionDays"), `got ${b.transitionDays}; S3 does not move objects to STANDARD_IA before they are ${STANDARD_IA_MIN_DAYS} days old, so use ${STANDARD_IA_MIN_DAYS} or more`));
  }
  if (b.retentionDays <= b.transitionDays) {
    findings.push(error(key("backupRetentionDays"), `got ${b.retentionDays} with advwell:backupTransitionDays ${b.transitionDays}; the expiration must come after the STANDARD_IA transition, so use at least ${b.transitionDays + 1} (or raise retention / lower the transition)`));
  } else if (b.transitionDays >= STANDARD_IA_MIN_DAYS && b.retentionDays - b.transitionDays < STANDARD_IA_MIN_BILLED_DAYS) {
    findings.push(warning(key("backupTransitionDays"), `backups spend ${b.retentionDays - b.transitionDays} days in STANDARD_IA before expiring at ${b.retentionDays} days, but STANDARD_IA bills at least ${STANDARD_IA_MIN_BILLED_DAYS} days per object: the transition costs more than it saves; set advwell:backupTransitionDays to ${b.retentionDays - STANDARD_IA_MIN_BILLED_DAYS} or less (>= 30), or raise advwell:backupRetentionDays to ${b.transitionDays + STANDARD_IA_MIN_BILLED_DAYS}`));
  }

  // Encryption.
  let encryption: Encryption = { algorithm: "AES256" };
  if (b.kmsKeyArn !== undefined) {
    if (!KMS_KEY_ARN.test(b.kmsKeyArn)) {
      findings.push(error(key("backupKmsKeyArn"), `got ${JSON.stringify(b.kmsKeyArn)}; a KMS key ARN like arn:aws:kms:sa-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab (an alias ARN cannot be granted in the writer's IAM policy)`));
    } else {
      encryption = { algorithm: "aws:kms", kmsKeyArn: b.kmsKeyArn };
    }
  }

  // The mode without AWS resources: an existing bucket, its endpoint and its keys, all from config.
  if (b.storage === "s3-compatible") {
    if (b.bucketName === undefined) findings.push(error(key("backupBucketName"), `got ""; allowed with advwell:backupStorage s3-compatible: the name of the existing bucket (the stack creates none in this mode)`));
    if (b.endpointUrl === undefined) findings.push(error(key("backupEndpointUrl"), `got ""; allowed with advwell:backupStorage s3-compatible: the provider's S3 endpoint, e.g. https://s3.us-west-004.backblazeb2.com`));
    if (!b.accessKeySet) findings.push(error(key("backupAccessKeyId"), `is not set (or advwell:backupSecretAccessKey is not); allowed with advwell:backupStorage s3-compatible: the bucket's keys, set with pulumi config set --secret ${key("backupAccessKeyId")} and ${key("backupSecretAccessKey")}`));
    if (b.kmsKeyArn !== undefined) findings.push(warning(key("backupKmsKeyArn"), `is ignored with advwell:backupStorage s3-compatible: the stack configures no bucket encryption there (the client-side encryption of advwell:backupEncryptionKey still applies)`));
    if (b.objectLock !== "off") findings.push(warning(key("backupObjectLock"), `${b.objectLock} is not applied with advwell:backupStorage s3-compatible: the stack does not manage that bucket. Enable versioning and Object Lock (${b.objectLock} mode, default retention >= ${Math.max(b.retentionDays, b.pitr.enabled ? b.pitr.retentionDays : 0)} days) on it yourself, or a leaked key can overwrite or delete backups`));
  }
  if (!b.encryptionKeySet && settings.environment === "production") {
    findings.push(warning(key("backupEncryptionKey"), `is not set: the stack generates the key that encrypts every backup and keeps it only in the stack's state; copy it out (pulumi stack output backupEncryptionKey --show-secrets) or set your own with pulumi config set --secret ${key("backupEncryptionKey")}, or losing the stack loses every backup`));
  }
  const lockDays = Math.max(b.retentionDays, b.pitr.enabled ? b.pitr.retentionDays : 0);
  const objectLock: ObjectLockPlan | undefined = b.storage === "aws" && b.objectLock !== "off" ? { mode: b.objectLock === "compliance" ? "COMPLIANCE" : "GOVERNANCE", days: lockDays } : undefined;

  const keyPrefix = `${b.prefix}/${settings.stack}/`;
  const lifecycle: LifecyclePlan = {
    keyPrefix,
    expirationDays: b.retentionDays,
    transitionDays: b.transitionDays,
    noncurrentDays: b.noncurrentDays,
    abortIncompleteUploadDays: ABORT_INCOMPLETE_UPLOAD_DAYS,
  };
  const production = settings.environment === "production";
  return {
    enabled: b.enabled,
    stack: settings.stack,
    environment: settings.environment,
    schedule: b.schedule,
    scheduleMaxGapSeconds: maxGap,
    maxAgeSeconds: maxGap + HEALTH_SLACK_SECONDS,
    postgresMajor: major,
    image: image ?? `${BACKUP_IMAGE_REPOSITORY}:${major}`,
    ...(b.endpointUrl ? { endpointUrl: b.endpointUrl } : {}),
    bucket,
    prefix: b.prefix,
    keyPrefix,
    objectKeyPattern: `${keyPrefix}<YYYYMMDDTHHMMSSZ>.dump`,
    lifecycle,
    lifecycleRules: lifecycleRules(lifecycle, b.pitr.enabled ? pitrKeyPrefix(b.prefix, settings.stack) : undefined),
    encryption,
    protect: production,
    retainOnDelete: production,
    tags: { project: PROJECT, stack: settings.stack, environment: settings.environment, "managed-by": "pulumi" },
    storage: b.storage,
    ...(b.storage === "s3-compatible" ? { region: b.region ?? "us-east-1" } : {}),
    ...(objectLock ? { objectLock } : {}),
    findings: b.enabled ? findings : [],
  };
}
