/**
 * The backup components under Pulumi's mock runtime: what reaches AWS and Docker (encryption,
 * versioning, the public access block, lifecycle, policies), which options protect the bucket,
 * and that every credential stays a secret. Options are captured with a stack transformation,
 * since the mock monitor's newResource never sees `protect` or `retainOnDelete`.
 */
import * as fs from "fs";
import * as path from "path";
import { BackupPlan, planBackup, ServicePlan } from "../../model";
import { SECRET_SIG, unwrapSecrets } from "../support/program";
import { resolve } from "../support/stacks";
import { configText } from "../support/component";

const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
const KMS = "arn:aws:kms:sa-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const DB_PASSWORD = "db-password-from-test";
const PASSPHRASE = "passphrase-from-test";

interface Captured {
  type: string;
  name: string;
  inputs: Record<string, any>;
  secretInputs: string[];
  parent?: string;
  protect: boolean;
  retainOnDelete: boolean;
}

interface Run {
  resources: Captured[];
  secretAccessKey: { value: string; secret: boolean };
  accessKeyId: { value: string; secret: boolean };
  bucketName: string;
  bucketArn: string;
}

function plans(stack: string, sets: string[] = []): { backup: BackupPlan; service: ServicePlan } {
  const { settings, plan } = resolve(stack, sets);
  if (!settings || !plan?.services.backup) throw new Error(`no backup plan for ${stack}`);
  return { backup: planBackup(settings), service: plan.services.backup };
}

async function runComponents(stack: string, sets: string[] = [], encrypted = false): Promise<Run> {
  const { backup, service } = plans(stack, sets);
  const resources: Captured[] = [];
  const options = new Map<string, { parent?: string; protect: boolean; retainOnDelete: boolean }>();
  let stackRun: Promise<unknown> | undefined;
  let outputs: Omit<Run, "resources"> | undefined;
  jest.isolateModules(() => {
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    // Mocks first, then the components (PULUMI-MOCKS.md #2).
    pulumi.runtime.setMocks(
      {
        newResource(args) {
          const state: Record<string, unknown> = { ...args.inputs };
          if (args.type === "aws:s3/bucket:Bucket") {
            state.bucket = args.inputs.bucket ?? `${args.inputs.bucketPrefix}20261128mock`;
            state.arn = `arn:aws:s3:::${state.bucket}`;
          }
          if (args.type === "aws:iam/user:User") state.name = `${args.name}-mock`;
          // Returned plain: the mock monitor does not mark AccessKey.secret secret as the engine
          // does (PULUMI-MOCKS.md #4), so only the component's own pulumi.secret can make it one.
          if (args.type === "aws:iam/accessKey:AccessKey") state.secret = `mock-secret-key-${args.name}`;
          const opts = options.get(`${args.type}::${args.name}`);
          resources.push({
            type: args.type,
            name: args.name,
            inputs: unwrapSecrets(args.inputs),
            secretInputs: Object.entries(args.inputs)
              .filter(([, v]) => v && typeof v === "object" && (v as any)[SECRET_SIG] === SECRET_VALUE)
              .map(([k]) => k),
            parent: opts?.parent,
            protect: opts?.protect ?? false,
            retainOnDelete: opts?.retainOnDelete ?? false,
          });
          return { id: args.type === "aws:iam/accessKey:AccessKey" ? "AKIAMOCKBACKUP" : `${args.name}-id`, state };
        },
        call: (args) => args.inputs,
      },
      "advwell",
      stack,
      false,
    );
    // Transformations need the root stack resource, which runInPulumiStack creates, as the CLI does.
    stackRun = (pulumi.runtime as any).runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        options.set(`${args.type}::${args.name}`, {
          parent: (args.opts.parent as { __name?: string } | undefined)?.__name,
          protect: args.opts.protect === true,
          retainOnDelete: args.opts.retainOnDelete === true,
        });
        return undefined;
      });
      const { BackupBucket, BackupService, BackupWriter } = require("../../components/backup") as typeof import("../../components/backup");
      const bucket = new BackupBucket("backup", { backup });
      const writer = new BackupWriter("backup-writer", { backup, bucketArn: bucket.bucketArn });
      new BackupService("backup", {
        plan: service,
        backup,
        network: { id: "advwell-data-id", name: "advwell-data" },
        database: { host: "postgres", port: 5432, name: "advtom", user: "postgres" },
        password: pulumi.secret(DB_PASSWORD),
        bucketName: bucket.bucketName,
        region: "sa-east-1",
        accessKeyId: writer.accessKeyId,
        secretAccessKey: writer.secretAccessKey,
        ...(encrypted ? { passphrase: pulumi.secret(PASSPHRASE) } : {}),
      });
      const read = async (o: import("@pulumi/pulumi").Output<string>) => ({
        value: await new Promise<string>((r) => o.apply((v) => r(v))),
        secret: await pulumi.isSecret(o),
      });
      outputs = {
        secretAccessKey: await read(writer.secretAccessKey),
        accessKeyId: await read(writer.accessKeyId),
        bucketName: (await read(bucket.bucketName)).value,
        bucketArn: (await read(bucket.bucketArn)).value,
      };
      return {};
    });
  });
  await stackRun;
  // Let the last registrations reach the mock monitor.
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  return { resources, ...outputs! };
}

const one = (run: Run, type: string): Captured => {
  const found = run.resources.filter((r) => r.type === type);
  if (found.length !== 1) throw new Error(`expected one ${type}, got ${found.length}: ${run.resources.map((r) => r.type).join(", ")}`);
  return found[0];
};
const all = (run: Run, type: string) => run.resources.filter((r) => r.type === type);
const S3 = (kind: string) => `aws:s3/${kind[0].toLowerCase()}${kind.slice(1)}:${kind}`;
const BUCKET_CHILDREN = ["BucketOwnershipControls", "BucketPublicAccessBlock", "BucketVersioning", "BucketObjectLockConfiguration", "BucketServerSideEncryptionConfiguration", "BucketLifecycleConfiguration", "BucketPolicy"];

describe("production", () => {
  let run: Run;
  beforeAll(async () => {
    run = await runComponents("production");
  });

  test("the bucket gets a generated name from advwell-backups-production-, tags, and is never force-destroyed", () => {
    const bucket = one(run, S3("Bucket"));
    expect(bucket.inputs.bucketPrefix).toBe("advwell-backups-production-");
    expect(bucket.inputs.bucket).toBeUndefined();
    expect(bucket.inputs.forceDestroy).toBe(false);
    expect(bucket.inputs.tags).toEqual({ project: "advwell", stack: "production", environment: "production", "managed-by": "pulumi" });
    expect(run.bucketName).toBe("advwell-backups-production-20261128mock");
  });

  test("the bucket is protected, and it and its guards are retained if they ever leave the stack", () => {
    const bucket = one(run, S3("Bucket"));
    expect(bucket.protect).toBe(true);
    for (const kind of ["Bucket", ...BUCKET_CHILDREN]) {
      const r = one(run, S3(kind));
      expect({ kind, retainOnDelete: r.retainOnDelete, parent: r.parent }).toEqual({ kind, retainOnDelete: true, parent: "backup" });
    }
  });

  test("versioning is enabled and objects are encrypted with AES256 by default", () => {
    expect(one(run, S3("BucketVersioning")).inputs.versioningConfiguration).toEqual({ status: "Enabled" });
    expect(one(run, S3("BucketServerSideEncryptionConfiguration")).inputs.rules).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }]);
  });

  test("public access is blocked four ways and ACLs are disabled", () => {
    expect(one(run, S3("BucketPublicAccessBlock")).inputs).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    expect(one(run, S3("BucketOwnershipControls")).inputs.rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
  });

  test("the lifecycle configuration is exactly the plan's rules (their values are unit-tested in backup-model)", () => {
    const rules = one(run, S3("BucketLifecycleConfiguration")).inputs.rules;
    expect(rules).toEqual(plans("production").backup.lifecycleRules);
    expect(rules[0].expiration).toEqual({ days: 60 });
  });

  test("the bucket policy denies plain-HTTP requests on the real bucket ARN", () => {
    const policy = JSON.parse(one(run, S3("BucketPolicy")).inputs.policy);
    expect(policy.Statement).toEqual([
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [run.bucketArn, `${run.bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ]);
  });

  test("the writer's policy is scoped to this stack's keys and never deletes", () => {
    const policy = JSON.parse(one(run, "aws:iam/userPolicy:UserPolicy").inputs.policy);
    const resources = policy.Statement.flatMap((s: any) => [s.Resource].flat());
    expect(new Set(resources)).toEqual(new Set([`${run.bucketArn}/postgres/production/*`, run.bucketArn]));
    const actions: string[] = policy.Statement.flatMap((s: any) => [s.Action].flat());
    expect(actions.sort()).toEqual(["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListBucket", "s3:PutObject"]);
    expect(one(run, "aws:iam/userPolicy:UserPolicy").inputs.user).toBe("backup-writer-user-mock");
  });

  test("the access key secret is a secret output; the key id is not", () => {
    expect(run.secretAccessKey).toEqual({ value: "mock-secret-key-backup-writer-key", secret: true });
    expect(run.accessKeyId).toEqual({ value: "AKIAMOCKBACKUP", secret: false });
  });

  test("the database password and both AWS credentials reach Swarm only as secret docker.Secret data", () => {
    const secrets = all(run, "docker:index/secret:Secret");
    const decoded = Object.fromEntries(secrets.map((s) => [s.name, Buffer.from(s.inputs.data, "base64").toString("utf8")]));
    expect(decoded).toEqual({
      "backup-advwell-backup-db-password": DB_PASSWORD,
      "backup-advwell-backup-aws-access-key-id": "AKIAMOCKBACKUP",
      "backup-advwell-backup-aws-secret-access-key": "mock-secret-key-backup-writer-key",
    });
    for (const s of secrets) expect({ name: s.name, secretInputs: s.secretInputs }).toEqual({ name: s.name, secretInputs: ["data"] });
  });

  test("no credential appears anywhere outside a docker.Secret", () => {
    const credentials = [DB_PASSWORD, "mock-secret-key-backup-writer-key", Buffer.from(DB_PASSWORD).toString("base64")];
    for (const r of run.resources.filter((x) => x.type !== "docker:index/secret:Secret")) {
      const text = JSON.stringify(r.inputs);
      for (const c of credentials) expect({ resource: r.name, leaks: text.includes(c) }).toEqual({ resource: r.name, leaks: false });
    }
  });

  test("the service runs our scheduler in the image of the server's major, with secrets as files and env from the plan", () => {
    const svc = one(run, "docker:index/service:Service");
    const container = svc.inputs.taskSpec.containerSpec;
    expect(svc.inputs.name).toBe("backup");
    expect(container.image).toBe("siemens/postgres-backup-s3:15");
    expect(container.commands).toEqual(["bash", "/opt/advwell-backup/backup.sh", "schedule"]);
    expect(container.env).toMatchObject({
      PGHOST: "postgres",
      PGPORT: "5432",
      PGDATABASE: "advtom",
      PGUSER: "postgres",
      PGPASSWORD_FILE: "/run/secrets/advwell-backup-db-password",
      BACKUP_BUCKET: "advwell-backups-production-20261128mock",
      BACKUP_PREFIX: "postgres",
      BACKUP_STACK: "production",
      BACKUP_SCHEDULE: "0 2 * * *",
      BACKUP_MAX_AGE_SECONDS: "93600",
      AWS_REGION: "sa-east-1",
      AWS_ACCESS_KEY_ID_FILE: "/run/secrets/advwell-backup-aws-access-key-id",
      AWS_SECRET_ACCESS_KEY_FILE: "/run/secrets/advwell-backup-aws-secret-access-key",
    });
    expect(container.env.BACKUP_PASSPHRASE_FILE).toBeUndefined();
    expect(container.secrets.map((s: any) => [s.fileName, s.fileMode]).sort()).toEqual([
      ["/run/secrets/advwell-backup-aws-access-key-id", 0o400],
      ["/run/secrets/advwell-backup-aws-secret-access-key", 0o400],
      ["/run/secrets/advwell-backup-db-password", 0o400],
    ]);
  });

  test("the healthcheck runs backup.sh health on the plan's timings", () => {
    const container = one(run, "docker:index/service:Service").inputs.taskSpec.containerSpec;
    expect(container.healthcheck).toEqual({ tests: ["CMD", "bash", "/opt/advwell-backup/backup.sh", "health"], interval: "60s", timeout: "10s", retries: 3, startPeriod: "30s" });
  });

  test("the four scripts ship verbatim as Swarm configs with content-hashed names", () => {
    const configs = all(run, "docker:index/serviceConfig:ServiceConfig");
    const scriptsDir = path.join(__dirname, "..", "..", "containers", "backup");
    for (const file of ["backup.sh", "restore.sh", "restore-drill.sh", "pitr.sh"]) {
      const text = fs.readFileSync(path.join(scriptsDir, file), "utf8");
      const config = configs.find((c) => configText(c.inputs) === text);
      expect({ file, found: config !== undefined }).toEqual({ file, found: true });
      expect(config!.inputs.name).toMatch(new RegExp(`^backup-${file.replace(/\.sh$/, "")}-[0-9a-f]{10}$`));
    }
    const mounted = one(run, "docker:index/service:Service").inputs.taskSpec.containerSpec.configs.map((c: any) => c.fileName).sort();
    expect(mounted).toEqual(["/opt/advwell-backup/backup.sh", "/opt/advwell-backup/pitr.sh", "/opt/advwell-backup/restore-drill.sh", "/opt/advwell-backup/restore.sh"]);
  });

  test("the service joins the database network and its own egress network (the data network is internal)", () => {
    const egress = one(run, "docker:index/network:Network");
    expect(egress.inputs).toMatchObject({ name: "advwell-backup-egress", driver: "overlay", internal: false });
    const networks = one(run, "docker:index/service:Service").inputs.taskSpec.networksAdvanceds;
    expect(networks).toEqual([{ id: "advwell-data-id" }, { id: "backup-egress-id" }]);
  });

  test("the service takes resources, update order and placement from its ServicePlan", () => {
    const svc = one(run, "docker:index/service:Service").inputs;
    expect(svc.mode).toEqual({ replicated: { replicas: 1 } });
    expect(svc.updateConfig.order).toBe("stop-first");
    expect(svc.taskSpec.resources.limits).toEqual({ nanoCpus: 500000000, memoryBytes: 512 * 1024 * 1024 });
  });
});

describe("Object Lock (issue 22 item 7)", () => {
  test("every version is locked in GOVERNANCE mode for the retention (60 days), enabled on the versioned bucket by its own resource", async () => {
    const run = await runComponents("production");
    const lock = one(run, S3("BucketObjectLockConfiguration"));
    expect(lock.inputs).toEqual({ bucket: "backup-bucket-id", objectLockEnabled: "Enabled", rule: { defaultRetention: { mode: "GOVERNANCE", days: 60 } } });
    // Not on the Bucket: objectLockEnabled there replaces an existing (protected) bucket.
    expect(one(run, S3("Bucket")).inputs.objectLockEnabled).toBeUndefined();
    expect(lock.retainOnDelete).toBe(true);
  });

  test("compliance mode, a longer PITR window lengthens the lock, and off creates none", async () => {
    const compliance = await runComponents("production", ["advwell:backupObjectLock=compliance", "advwell:backupPitrEnabled=true", "advwell:backupPitrImage=advwell/postgres-pitr:15.10-2.45", "advwell:backupPitrRetentionDays=90"]);
    expect(one(compliance, S3("BucketObjectLockConfiguration")).inputs.rule).toEqual({ defaultRetention: { mode: "COMPLIANCE", days: 90 } });
    const off = await runComponents("production", ["advwell:backupObjectLock=off"]);
    expect(all(off, S3("BucketObjectLockConfiguration"))).toEqual([]);
  });
});

describe("variants", () => {
  test("staging: the bucket is neither protected nor retained", async () => {
    const run = await runComponents("staging");
    const bucket = one(run, S3("Bucket"));
    expect(bucket.inputs.bucketPrefix).toBe("advwell-backups-staging-");
    expect(bucket.protect).toBe(false);
    expect(bucket.retainOnDelete).toBe(false);
  });

  test("a configured bucket name and KMS key: SSE-KMS with that key, and the writer may use only that key", async () => {
    const run = await runComponents("production", ["advwell:backupBucketName=advwell-backups-prod", `advwell:backupKmsKeyArn=${KMS}`]);
    expect(one(run, S3("Bucket")).inputs.bucket).toBe("advwell-backups-prod");
    expect(one(run, S3("BucketServerSideEncryptionConfiguration")).inputs.rules).toEqual([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: KMS }, bucketKeyEnabled: true },
    ]);
    const policy = JSON.parse(one(run, "aws:iam/userPolicy:UserPolicy").inputs.policy);
    const kms = policy.Statement.filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith("kms:")));
    expect(kms).toEqual([{ Sid: "UseBackupKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"], Resource: KMS }]);
  });

  test("with a passphrase: a fourth secret file and BACKUP_PASSPHRASE_FILE", async () => {
    const run = await runComponents("production", [], true);
    const passphrase = all(run, "docker:index/secret:Secret").find((s) => s.name === "backup-advwell-backup-passphrase")!;
    expect(passphrase.secretInputs).toEqual(["data"]);
    expect(Buffer.from(passphrase.inputs.data, "base64").toString("utf8")).toBe(PASSPHRASE);
    expect(one(run, "docker:index/service:Service").inputs.taskSpec.containerSpec.env.BACKUP_PASSPHRASE_FILE).toBe("/run/secrets/advwell-backup-passphrase");
  });
});
