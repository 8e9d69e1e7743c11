/**
 * Backup settings -> one resolved backup plan, plus the S3 and IAM policy documents. Pure: no
 * Pulumi, no I/O. The components in `components/backup.ts` only map this plan onto resources.
 *
 * What a backup is: `pg_dump --format=custom` of the application database, taken by a Swarm
 * service running `scripts/backup/backup.sh`, uploaded to
 * `s3://<bucket>/<prefix>/<stack>/<YYYYMMDDTHHMMSSZ>.dump` (`.dump.gpg` when encrypted).
 */
import { error, Finding, warning } from "./findings";
import { Environment, postgresMajor, PROJECT, Settings } from "./settings";

const key = (name: string) => `${PROJECT}:${name}`;

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
 * scheduling note in scripts/backup/backup.sh.
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
  readonly findings: readonly Finding[];
}

// ---------------------------------------------------------------------------------------------
// Cron: the five-field subset the service's scheduler (`backup.sh schedule`) implements.

interface CronFieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
}

const CRON_FIELDS: readonly CronFieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  // 7 is Sunday as well, as in Vixie cron.
  { name: "day of week", min: 0, max: 7 },
];

export interface CronSchedule {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  /** Vixie cron: when both day fields are restricted, a day matches if either matches. */
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

/** Parses one field (`*`, `*\/15`, `5`, `1-5`, `0-30/10`, comma lists). Returns a reason on error. */
function parseCronField(text: string, spec: CronFieldSpec): Set<number> | string {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!match) return `${spec.name} "${part}" is not *, N, N-M or a step (*/N, N-M/S); names like MON and macros like @daily are not supported`;
    const step = match[4] !== undefined ? Number(match[4]) : 1;
    const lo = match[1] === "*" ? spec.min : Number(match[2]);
    const hi = match[1] === "*" ? spec.max : match[3] !== undefined ? Number(match[3]) : match[4] !== undefined ? spec.max : lo;
    if (step < 1) return `${spec.name} step in "${part}" must be at least 1`;
    if (lo < spec.min || hi > spec.max || lo > hi) return `${spec.name} "${part}" is outside ${spec.min}-${spec.max}`;
    for (let v = lo; v <= hi; v += step) values.add(spec.name === "day of week" && v === 7 ? 0 : v);
  }
  return values;
}

export function parseCron(expression: string): CronSchedule | string {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) return `"${expression}" has ${fields.length} fields; a cron expression has five: minute hour day-of-month month day-of-week`;
  const parsed: Set<number>[] = [];
  for (let i = 0; i < 5; i++) {
    const result = parseCronField(fields[i], CRON_FIELDS[i]);
    if (typeof result === "string") return result;
    parsed.push(result);
  }
  return {
    minutes: parsed[0],
    hours: parsed[1],
    daysOfMonth: parsed[2],
    months: parsed[3],
    daysOfWeek: parsed[4],
    domRestricted: fields[2] !== "*",
    dowRestricted: fields[4] !== "*",
  };
}

function dayMatches(schedule: CronSchedule, date: Date): boolean {
  if (!schedule.months.has(date.getUTCMonth() + 1)) return false;
  const dom = schedule.daysOfMonth.has(date.getUTCDate());
  const dow = schedule.daysOfWeek.has(date.getUTCDay());
  if (schedule.domRestricted && schedule.dowRestricted) return dom || dow;
  return dom && dow;
}

/**
 * The longest gap, in seconds, between consecutive runs, scanned day by day over five years from
 * a leap year: every weekday/date combination occurs, and "29 Feb" fires twice (2024, 2028).
 * Undefined when the expression never fires (e.g. 31 Feb).
 */
export function cronMaxGapSeconds(schedule: CronSchedule): number | undefined {
  const minutesOfDay: number[] = [];
  for (const h of [...schedule.hours].sort((a, b) => a - b)) for (const m of [...schedule.minutes].sort((a, b) => a - b)) minutesOfDay.push(h * 60 + m);
  const start = Date.UTC(2024, 0, 1);
  const days = 5 * 365 + 2;
  let first: number | undefined;
  let previous: number | undefined;
  let maxGap = 0;
  for (let d = 0; d < days; d++) {
    const dayStart = start + d * 86400000;
    if (!dayMatches(schedule, new Date(dayStart))) continue;
    for (const minute of minutesOfDay) {
      const t = dayStart / 1000 + minute * 60;
      if (previous !== undefined) maxGap = Math.max(maxGap, t - previous);
      first ??= t;
      previous = t;
    }
  }
  if (first === undefined || previous === undefined) return undefined;
  // Fired once in five years: the gap is at least that long.
  return first === previous ? days * 86400 : maxGap;
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

export function lifecycleRules(lifecycle: LifecyclePlan): LifecycleRule[] {
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
  const major = postgresMajor(settings.images.postgres) ?? 0;
  const image = b.image ?? backupImage(major);
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
    lifecycleRules: lifecycleRules(lifecycle),
    encryption,
    protect: production,
    retainOnDelete: production,
    tags: { project: PROJECT, stack: settings.stack, environment: settings.environment, "managed-by": "pulumi" },
    findings: b.enabled ? findings : [],
  };
}

// ---------------------------------------------------------------------------------------------
// Policy documents.

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
export function writerPolicyDocument(bucketArn: string, prefix: string, stack: string, kmsKeyArn?: string): PolicyDocument {
  const objects = `${bucketArn}/${prefix}/${stack}/*`;
  const statements: PolicyStatement[] = [
    { Sid: "WriteBackups", Effect: "Allow", Action: ["s3:PutObject", "s3:AbortMultipartUpload"], Resource: objects },
    { Sid: "ReadBackups", Effect: "Allow", Action: "s3:GetObject", Resource: objects },
    {
      Sid: "ListOwnBackups",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: bucketArn,
      Condition: { StringLike: { "s3:prefix": [`${prefix}/${stack}/*`] } },
    },
  ];
  if (kmsKeyArn) {
    statements.push({ Sid: "UseBackupKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"], Resource: kmsKeyArn });
  }
  return { Version: "2012-10-17", Statement: statements };
}

// ---------------------------------------------------------------------------------------------
// The service's contract with scripts/backup/backup.sh: one definition, used by the component
// and by the integration test that runs the script "as the service runs it".

/** Where the scripts live in the backup container (Swarm configs). */
export const BACKUP_SCRIPT_DIR = "/opt/advwell-backup";
/** Where Swarm mounts secrets. */
export const SWARM_SECRETS_DIR = "/run/secrets";
export const BACKUP_STATE_DIR = "/var/lib/advwell-backup";

/** Secret file names (under the secrets directory) the scripts read through *_FILE variables. */
export const BACKUP_SECRET_FILES = {
  databasePassword: "advwell-backup-db-password",
  accessKeyId: "advwell-backup-aws-access-key-id",
  secretAccessKey: "advwell-backup-aws-secret-access-key",
  passphrase: "advwell-backup-passphrase",
} as const;

export interface BackupTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly bucketName: string;
  readonly region: string;
  /** Set when dumps are gpg-encrypted before upload. */
  readonly encrypted?: boolean;
  /** node-exporter's textfile directory: each success writes the last-success timestamp there. */
  readonly metricsDir?: string;
}

/** The container's environment: connection settings and secret *paths*, never secret values. */
export function backupEnvironment(plan: BackupPlan, target: BackupTarget, secretsDir = SWARM_SECRETS_DIR, stateDir = BACKUP_STATE_DIR): Record<string, string> {
  const file = (name: string) => `${secretsDir}/${name}`;
  return {
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGDATABASE: target.database,
    PGUSER: target.user,
    PGPASSWORD_FILE: file(BACKUP_SECRET_FILES.databasePassword),
    BACKUP_BUCKET: target.bucketName,
    BACKUP_PREFIX: plan.prefix,
    BACKUP_STACK: plan.stack,
    BACKUP_SCHEDULE: plan.schedule,
    BACKUP_MAX_AGE_SECONDS: String(plan.maxAgeSeconds),
    BACKUP_STATE_DIR: stateDir,
    AWS_REGION: target.region,
    AWS_ACCESS_KEY_ID_FILE: file(BACKUP_SECRET_FILES.accessKeyId),
    AWS_SECRET_ACCESS_KEY_FILE: file(BACKUP_SECRET_FILES.secretAccessKey),
    ...(target.encrypted ? { BACKUP_PASSPHRASE_FILE: file(BACKUP_SECRET_FILES.passphrase) } : {}),
    ...(target.metricsDir ? { BACKUP_METRICS_DIR: target.metricsDir } : {}),
    ...(plan.endpointUrl ? { AWS_ENDPOINT_URL: plan.endpointUrl } : {}),
  };
}

/** True when a parsed schedule fires in the UTC minute of `date` (the scheduler's rule). */
export function cronMatchesAt(schedule: CronSchedule, date: Date): boolean {
  return schedule.minutes.has(date.getUTCMinutes()) && schedule.hours.has(date.getUTCHours()) && dayMatches(schedule, date);
}
