/**
 * The pure backup plan: schedule, image, key layout, bucket naming, lifecycle rules, and the
 * bucket and writer policy documents as AWS would read them (parsed JSON, not our objects).
 */
import {
  BackupPlan,
  backupEnvironment,
  backupImage,
  backupObjectKey,
  bucketNamePrefix,
  bucketPolicyDocument,
  cronMaxGapSeconds,
  parseCron,
  planBackup,
  PolicyStatement,
  writerPolicyDocument,
} from "../../model";
import type { Settings } from "../../model";
import { resolve } from "../support/stacks";

const BUCKET_ARN = "arn:aws:s3:::advwell-backups-production-abc";
const KMS = "arn:aws:kms:sa-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** A stack key of its own: without one, production warns that the generated key lives only in the stack (tested below). */
const STACK_KEY = "advwell:backupEncryptionKey=unit-test-stack-key-0123456789abcdef";

function settingsFor(stack: string, sets: readonly string[] = []): Settings {
  const { settings, findings } = resolve(stack, [STACK_KEY, ...sets], ["advwell:backupEncryptionKey"]);
  if (!settings) throw new Error(JSON.stringify(findings));
  return settings;
}

/** What AWS receives: the document serialised to JSON and read back. */
function parsed(doc: object): { Version: string; Statement: PolicyStatement[] } {
  return JSON.parse(JSON.stringify(doc));
}

const list = (value: string | readonly string[]) => (typeof value === "string" ? [value] : [...value]);

function findingKeys(plan: BackupPlan, level: "error" | "warning"): string[] {
  return plan.findings.filter((f) => f.level === level).map((f) => f.key);
}

describe("the production backup plan", () => {
  const plan = planBackup(settingsFor("production"));

  test("runs daily at 02:00 UTC, as the seed intended, and calls a backup stale after 26 h", () => {
    expect(plan.enabled).toBe(true);
    expect(plan.schedule).toBe("0 2 * * *");
    expect(plan.scheduleMaxGapSeconds).toBe(24 * 3600);
    expect(plan.maxAgeSeconds).toBe(26 * 3600);
  });

  test("uses the backup image of the server's PostgreSQL major (postgres:15.10 -> :15)", () => {
    expect(plan.postgresMajor).toBe(15);
    expect(plan.image).toBe("siemens/postgres-backup-s3:15");
  });

  test("writes <prefix>/<stack>/<UTC timestamp>.dump and generates the bucket name from advwell-backups-<stack>-", () => {
    expect(plan.keyPrefix).toBe("postgres/production/");
    expect(backupObjectKey(plan.prefix, plan.stack, new Date(Date.UTC(2026, 10, 28, 2, 0, 7)))).toBe("postgres/production/20261128T020007Z.dump");
    expect(plan.bucket).toEqual({ namePrefix: "advwell-backups-production-" });
  });

  test("protects and retains the bucket in production only", () => {
    expect(plan.protect).toBe(true);
    expect(plan.retainOnDelete).toBe(true);
    const staging = planBackup(settingsFor("staging"));
    expect(staging.protect).toBe(false);
    expect(staging.retainOnDelete).toBe(false);
  });

  test("lifecycle: transition to STANDARD_IA at 30 days, expire at 60, noncurrent versions after 7, abort stale uploads after 1", () => {
    expect(plan.lifecycleRules).toEqual([
      {
        id: "backups-retention",
        status: "Enabled",
        filter: { prefix: "postgres/production/" },
        transitions: [{ days: 30, storageClass: "STANDARD_IA" }],
        expiration: { days: 60 },
        noncurrentVersionExpiration: { noncurrentDays: 7 },
      },
      { id: "abort-incomplete-uploads", status: "Enabled", filter: { prefix: "" }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
    ]);
  });

  test("the defaults (30 days in STANDARD_IA before expiry) raise no finding", () => {
    expect(plan.findings).toEqual([]);
  });

  test("warns when objects would spend less than IA's 30 billed days there (5 days: transition 30, expiry 35)", () => {
    const short = planBackup(settingsFor("production", ["advwell:backupRetentionDays=35"]));
    expect(findingKeys(short, "error")).toEqual([]);
    expect(findingKeys(short, "warning")).toEqual(["advwell:backupTransitionDays"]);
    expect(short.findings[0].message).toMatch(/5 days in STANDARD_IA .* bills at least 30 days/);
  });

  test("encrypts with SSE-S3 (AES256) unless a KMS key is configured", () => {
    expect(plan.encryption).toEqual({ algorithm: "AES256" });
    const kms = planBackup(settingsFor("production", [`advwell:backupKmsKeyArn=${KMS}`]));
    expect(kms.encryption).toEqual({ algorithm: "aws:kms", kmsKeyArn: KMS });
  });

  test("tags every resource with project, stack, environment and managed-by", () => {
    expect(plan.tags).toEqual({ project: "advwell", stack: "production", environment: "production", "managed-by": "pulumi" });
  });

  test("gives the container secret file paths, never secret values", () => {
    const env = backupEnvironment(plan, { host: "postgres", port: 5432, database: "advtom", user: "postgres", bucketName: "b", region: "sa-east-1" });
    expect(env).toMatchObject({
      PGHOST: "postgres",
      PGPASSWORD_FILE: "/run/secrets/advwell-backup-db-password",
      AWS_ACCESS_KEY_ID_FILE: "/run/secrets/advwell-backup-aws-access-key-id",
      AWS_SECRET_ACCESS_KEY_FILE: "/run/secrets/advwell-backup-aws-secret-access-key",
      BACKUP_SCHEDULE: "0 2 * * *",
      BACKUP_MAX_AGE_SECONDS: "93600",
      BACKUP_PREFIX: "postgres",
      BACKUP_STACK: "production",
    });
    expect(Object.keys(env).filter((k) => /PASSWORD$|SECRET_ACCESS_KEY$|ACCESS_KEY_ID$|PASSPHRASE$/.test(k))).toEqual([]);
  });
});

describe("bucket policy", () => {
  const doc = parsed(bucketPolicyDocument(BUCKET_ARN));

  test("denies every request without TLS, from any principal, on the bucket and its objects", () => {
    expect(doc.Version).toBe("2012-10-17");
    const deny = doc.Statement.filter((s) => s.Effect === "Deny");
    expect(deny).toHaveLength(1);
    expect(deny[0]).toMatchObject({ Principal: "*", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    expect(list(deny[0].Resource).sort()).toEqual([BUCKET_ARN, `${BUCKET_ARN}/*`]);
  });

  test("allows nothing by itself", () => {
    expect(doc.Statement.filter((s) => s.Effect === "Allow")).toEqual([]);
  });
});

describe("writer policy", () => {
  const doc = parsed(writerPolicyDocument(BUCKET_ARN, "postgres", "production"));
  const allowed = (d: typeof doc) => d.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => list(s.Action).map((a) => `${a} ${list(s.Resource).join(",")}`));

  test("allows exactly put/abort/get on its own stack's keys and a prefix-limited list", () => {
    expect(allowed(doc).sort()).toEqual(
      [
        `s3:AbortMultipartUpload ${BUCKET_ARN}/postgres/production/*`,
        `s3:GetObject ${BUCKET_ARN}/postgres/production/*`,
        `s3:ListBucket ${BUCKET_ARN}`,
        `s3:PutObject ${BUCKET_ARN}/postgres/production/*`,
      ].sort(),
    );
    const listing = doc.Statement.find((s) => list(s.Action).includes("s3:ListBucket"))!;
    expect(listing.Condition).toEqual({ StringLike: { "s3:prefix": ["postgres/production/*"] } });
    expect(doc.Statement.every((s) => s.Effect === "Allow")).toBe(true);
  });

  test("has no delete action anywhere, with or without KMS, and no wildcard action", () => {
    for (const d of [doc, parsed(writerPolicyDocument(BUCKET_ARN, "postgres", "production", KMS))]) {
      const actions = d.Statement.flatMap((s) => list(s.Action));
      expect(actions.length).toBeGreaterThan(0);
      for (const action of actions) {
        expect(action).not.toMatch(/delete/i);
        expect(action).not.toMatch(/\*/);
      }
    }
  });

  test("adds KMS actions on that key only when the bucket uses SSE-KMS", () => {
    expect(doc.Statement.flatMap((s) => list(s.Action)).filter((a) => a.startsWith("kms:"))).toEqual([]);
    const kms = parsed(writerPolicyDocument(BUCKET_ARN, "postgres", "production", KMS));
    const statement = kms.Statement.find((s) => list(s.Action).some((a) => a.startsWith("kms:")))!;
    expect(list(statement.Action).sort()).toEqual(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]);
    expect(statement.Resource).toBe(KMS);
  });
});

describe("findings for bad backup config", () => {
  const plan = (sets: string[]) => planBackup(settingsFor("production", sets));

  test.each([
    [["advwell:backupTransitionDays=20", "advwell:backupRetentionDays=90"], "advwell:backupTransitionDays", /S3 does not move objects to STANDARD_IA before they are 30 days old/],
    [["advwell:backupTransitionDays=30", "advwell:backupRetentionDays=30"], "advwell:backupRetentionDays", /expiration must come after the STANDARD_IA transition/],
    [["advwell:backupTransitionDays=60", "advwell:backupRetentionDays=35"], "advwell:backupRetentionDays", /expiration must come after/],
    [["advwell:backupSchedule=0 2 * * MON"], "advwell:backupSchedule", /names like MON/],
    [["advwell:backupSchedule=61 2 * * *"], "advwell:backupSchedule", /minute "61" is outside 0-59/],
    [["advwell:backupSchedule=0 0 31 2 *"], "advwell:backupSchedule", /never fires/],
    [["advwell:backupBucketName=Advwell_Backups"], "advwell:backupBucketName", /S3 bucket names must be 3-63 characters/],
    [["advwell:backupBucketName=xn--advwell"], "advwell:backupBucketName", /not starting with xn--/],
    [["advwell:backupKmsKeyArn=arn:aws:kms:sa-east-1:123456789012:alias/backups"], "advwell:backupKmsKeyArn", /a KMS key ARN like/],
    [["advwell:postgresImage=postgres:12.20"], "advwell:postgresImage", /PostgreSQL 12 has no siemens\/postgres-backup-s3 image/],
  ])("%j is an error on %s", (sets, key, message) => {
    const errors = plan(sets).findings.filter((f) => f.level === "error");
    expect(errors.map((f) => f.key)).toEqual([key]);
    expect(errors[0].message).toMatch(message);
  });

  test("a valid longer retention with a cost-effective transition has no findings", () => {
    expect(plan(["advwell:backupTransitionDays=30", "advwell:backupRetentionDays=90"]).findings).toEqual([]);
  });

  test("a weekly schedule warns about the data at risk and stretches the health limit to 7 days + 2 h", () => {
    const weekly = plan(["advwell:backupSchedule=0 3 * * 0", "advwell:backupRetentionDays=90"]);
    expect(weekly.findings.map((f) => `${f.level} ${f.key}`)).toEqual(["warning advwell:backupSchedule"]);
    expect(weekly.maxAgeSeconds).toBe(7 * 86400 + 2 * 3600);
  });

  test("a disabled backup raises nothing", () => {
    expect(plan(["advwell:backupEnabled=false", "advwell:backupTransitionDays=5"]).findings).toEqual([]);
  });
});

describe("cron and names", () => {
  test.each([
    ["0 2 * * *", 86400],
    ["*/15 * * * *", 900],
    ["0 */6 * * *", 6 * 3600],
    ["30 1 * * 1-5", 3 * 86400],
    // Day of month OR day of week when both are restricted (Vixie cron): 1st of the month or Mondays.
    ["0 0 1 * 1", 7 * 86400],
  ])("%s runs at most %i s apart", (expression, gap) => {
    const schedule = parseCron(expression);
    if (typeof schedule === "string") throw new Error(schedule);
    expect(cronMaxGapSeconds(schedule)).toBe(gap);
  });

  test("bucket prefixes fit the provider's 37 characters and S3's alphabet", () => {
    expect(bucketNamePrefix("production")).toBe("advwell-backups-production-");
    const long = bucketNamePrefix("Feature_Branch.With.A.Very-Long-Name");
    expect(long.length).toBeLessThanOrEqual(37);
    expect(long).toMatch(/^advwell-backups-[a-z0-9-]+-$/);
    expect(long).not.toMatch(/--/);
  });

  test("backup images exist for PostgreSQL 13 to 17 only", () => {
    expect([12, 13, 17, 18].map(backupImage)).toEqual([undefined, "siemens/postgres-backup-s3:13", "siemens/postgres-backup-s3:17", undefined]);
  });
});
