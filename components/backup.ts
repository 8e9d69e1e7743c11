/**
 * Backups to S3: the bucket (private, versioned, encrypted, lifecycle-managed), the IAM writer
 * whose key can add and read backups but never delete them, and the Swarm service that runs
 * containers/backup/backup.sh on the plan's schedule. Every decision is in model/backup/.
 */
// Deep imports: loading all of @pulumi/aws costs more than the whole rest of the program.
import * as iam from "@pulumi/aws/iam";
import * as s3 from "@pulumi/aws/s3";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_SECRET_FILES, backupEnvironment, pitrEnvironment, SWARM_SECRETS_DIR } from "../model/backup/contract";
import { PITR_CONF_PATH, PITR_SOCKET_DIR, PitrPlan } from "../model/backup/pitr";
import { DATA_MOUNT_PATH } from "../model/replication";
import type { BackupPlan } from "../model/backup/plan";
import { bucketPolicyDocument, writerPolicyDocument } from "../model/backup/policies";
import type { ServicePlan } from "../model/plan/types";
import { CONTAINER_FILES, containerFileMount } from "./containerFiles";
import { DatabaseRef, healthcheck, NetworkRef, secretFile, secretMount, swarmServiceArgs, volumeMount } from "./swarm";

export interface BackupBucketArgs {
  /** The backup plan: naming, lifecycle, encryption, protection, tags. */
  readonly backup: BackupPlan;
}

export class BackupBucket extends pulumi.ComponentResource {
  readonly bucket: s3.Bucket;
  /** The bucket's name (generated from advwell-backups-<stack>- unless configured). */
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;

  constructor(name: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:backup:BackupBucket", name, {}, opts);
    const plan = args.backup;
    // Production: `protect` makes `pulumi destroy` refuse to delete the bucket, and
    // `retainOnDelete` keeps the bucket and its guards (encryption, public access block, policy,
    // lifecycle) in AWS even if they leave the program or someone unprotects and destroys the
    // stack. Backups are what you need after exactly that kind of accident.
    const keep = { retainOnDelete: plan.retainOnDelete };

    this.bucket = new s3.Bucket(
      `${name}-bucket`,
      {
        ...(plan.bucket.name ? { bucket: plan.bucket.name } : { bucketPrefix: plan.bucket.namePrefix }),
        // Never empty a bucket of backups to delete it.
        forceDestroy: false,
        tags: { ...plan.tags },
      },
      { parent: this, protect: plan.protect, ...keep },
    );
    const bucket = this.bucket.id;
    const child = { parent: this, ...keep };

    // ACLs off: the bucket owner owns every object, access is decided by policies alone.
    const ownership = new s3.BucketOwnershipControls(`${name}-ownership`, { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } }, child);
    const publicAccess = new s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      child,
    );
    const versioning = new s3.BucketVersioning(`${name}-versioning`, { bucket, versioningConfiguration: { status: "Enabled" } }, child);
    new s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket,
        rules: [
          {
            applyServerSideEncryptionByDefault:
              plan.encryption.algorithm === "aws:kms" ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: plan.encryption.kmsKeyArn } : { sseAlgorithm: "AES256" },
            // S3 Bucket Keys cut KMS requests (and their cost) per object; harmless with AES256.
            bucketKeyEnabled: true,
          },
        ],
      },
      child,
    );
    // Object Lock (issue 22 item 7): every version the writer puts is locked for plan.objectLock.days,
    // at least as long as any expiry, so a leaked writer key can add versions and delete markers but
    // destroy nothing before it was due to go. The configuration resource enables the lock on the
    // (versioned) bucket itself: `objectLockEnabled` on the Bucket would be a replacement of an
    // existing, protected bucket (the provider marks it ForceNew), while S3 accepts
    // PutObjectLockConfiguration on an existing versioned bucket.
    if (plan.objectLock) {
      new s3.BucketObjectLockConfiguration(
        `${name}-object-lock`,
        { bucket, objectLockEnabled: "Enabled", rule: { defaultRetention: { mode: plan.objectLock.mode, days: plan.objectLock.days } } },
        { ...child, dependsOn: [versioning] },
      );
    }
    // Lifecycle rules on a versioned bucket need versioning to exist first.
    new s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket,
        rules: plan.lifecycleRules.map((r) => ({
          id: r.id,
          status: r.status,
          filter: { prefix: r.filter.prefix },
          ...(r.expiration ? { expiration: { days: r.expiration.days } } : {}),
          ...(r.transitions ? { transitions: r.transitions.map((t) => ({ days: t.days, storageClass: t.storageClass })) } : {}),
          ...(r.noncurrentVersionExpiration ? { noncurrentVersionExpiration: { noncurrentDays: r.noncurrentVersionExpiration.noncurrentDays } } : {}),
          ...(r.abortIncompleteMultipartUpload ? { abortIncompleteMultipartUpload: { daysAfterInitiation: r.abortIncompleteMultipartUpload.daysAfterInitiation } } : {}),
        })),
      },
      { ...child, dependsOn: [versioning] },
    );
    // S3 rejects policy writes while the public access block is being applied; order them.
    new s3.BucketPolicy(
      `${name}-policy`,
      { bucket, policy: this.bucket.arn.apply((arn) => JSON.stringify(bucketPolicyDocument(arn))) },
      { ...child, dependsOn: [publicAccess, ownership] },
    );

    this.bucketName = this.bucket.bucket;
    this.bucketArn = this.bucket.arn;
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
  }
}

export interface BackupWriterArgs {
  /** The backup plan: key prefix and KMS key the writer may use. */
  readonly backup: BackupPlan;
  /** pgBackRest's repository prefix, when point-in-time recovery runs (model/backup/pitr.ts). */
  readonly pitrKeyPrefix?: string;
  /** The bucket the writer may put to and read from. */
  readonly bucketArn: pulumi.Input<string>;
}

/** An IAM user for the backup service: a Swarm service cannot assume an instance role it does not have. */
export class BackupWriter extends pulumi.ComponentResource {
  readonly user: iam.User;
  /** The access key's id (not a secret on its own). */
  readonly accessKeyId: pulumi.Output<string>;
  /** Secret. */
  readonly secretAccessKey: pulumi.Output<string>;

  constructor(name: string, args: BackupWriterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:backup:BackupWriter", name, {}, opts);
    const plan = args.backup;
    const kmsKeyArn = plan.encryption.algorithm === "aws:kms" ? plan.encryption.kmsKeyArn : undefined;
    this.user = new iam.User(`${name}-user`, { path: "/advwell/", tags: { ...plan.tags } }, { parent: this });
    new iam.UserPolicy(
      `${name}-policy`,
      {
        user: this.user.name,
        policy: pulumi.output(args.bucketArn).apply((arn) => JSON.stringify(writerPolicyDocument(arn, plan.prefix, plan.stack, kmsKeyArn, args.pitrKeyPrefix))),
      },
      { parent: this },
    );
    const key = new iam.AccessKey(`${name}-key`, { user: this.user.name }, { parent: this });
    this.accessKeyId = key.id;
    // The engine marks AccessKey.secret secret; wrapping says so in the program too (and under mocks).
    this.secretAccessKey = pulumi.secret(key.secret);
    this.registerOutputs({ userName: this.user.name, accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey });
  }
}

export interface BackupServiceArgs {
  /** The `backup` service's plan: resources, placement (beside the primary), health timings, image. */
  readonly plan: ServicePlan;
  /** Schedule, key layout, endpoint. */
  readonly backup: BackupPlan;
  /** The internal data network PostgreSQL is on (the service also gets its own egress network for S3). */
  readonly network: NetworkRef;
  /** PostgreSQL as pg_dump reaches it, and the role it connects as (the superuser: it reads every object). */
  readonly database: DatabaseRef & { readonly user: string };
  /** That role's password (a secret). */
  readonly password: pulumi.Input<string>;
  readonly bucketName: pulumi.Input<string>;
  readonly region: pulumi.Input<string>;
  readonly accessKeyId: pulumi.Input<string>;
  /** A secret. */
  readonly secretAccessKey: pulumi.Input<string>;
  /** The stack's encryption key (a secret): dumps are gpg-encrypted (AES256) as pg_dump streams them. */
  readonly passphrase?: pulumi.Input<string>;
  /**
   * Point-in-time recovery: pgBackRest's config (a Swarm secret the component also mounts in the
   * primary), the primary's data volume (read-only here) and its shared socket volume.
   */
  readonly pitr?: { readonly plan: PitrPlan; readonly conf: docker.Secret; readonly dataVolume: pulumi.Input<string>; readonly socketVolume: pulumi.Input<string>; readonly pgdata: string };
  /** node-exporter's textfile volume (by name) and its mount path, when monitoring runs. */
  readonly metrics?: { readonly volume: pulumi.Input<string>; readonly dir: string };
}

/** The scripts the container runs, shipped as Swarm configs (no custom image to build or push). */
const BACKUP_SCRIPTS = [
  ["backup", "backup"],
  ["restore", "restore"],
  ["restore-drill", "restoreDrill"],
  ["pitr", "pitr"],
] as const;

export class BackupService extends pulumi.ComponentResource {
  readonly service: docker.Service;
  /** A non-internal overlay: the data network has no route out, and S3 is out there. */
  readonly egressNetwork: docker.Network;
  readonly secrets: docker.Secret[];

  constructor(name: string, args: BackupServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("advwell:backup:BackupService", name, {}, opts);
    const child = { parent: this };

    this.egressNetwork = new docker.Network(`${name}-egress`, { name: "advwell-backup-egress", driver: "overlay", internal: false, attachable: false }, child);
    const configs = BACKUP_SCRIPTS.map(([id, file]) => containerFileMount(`${name}-${id}`, file, this));

    const secretValues: [string, pulumi.Input<string>][] = [
      [BACKUP_SECRET_FILES.databasePassword, args.password],
      [BACKUP_SECRET_FILES.accessKeyId, args.accessKeyId],
      [BACKUP_SECRET_FILES.secretAccessKey, args.secretAccessKey],
      ...(args.passphrase !== undefined ? [[BACKUP_SECRET_FILES.passphrase, args.passphrase] as [string, pulumi.Input<string>]] : []),
    ];
    this.secrets = secretValues.map(([file, value]) => secretFile(`${name}-${file}`, value, this));

    const scriptPath = CONTAINER_FILES.backup.mountPath;
    const env = pulumi.all([args.bucketName, args.region]).apply(([bucketName, region]) =>
      backupEnvironment(args.backup, {
        host: args.database.host,
        port: args.database.port,
        database: args.database.name,
        user: args.database.user,
        bucketName,
        region,
        encrypted: args.passphrase !== undefined,
        metricsDir: args.metrics?.dir,
      }),
    );
    const pitr = args.pitr;
    const pitrEnv = pitr ? pitrEnvironment(pitr.plan, pitr.pgdata) : {};
    this.service = new docker.Service(
      `${name}-service`,
      swarmServiceArgs(args.plan, {
        component: "backup",
        containerSpec: {
          // Our scheduler, not the image's run.sh/go-cron (see the header of backup.sh).
          commands: ["bash", scriptPath, "schedule"],
          env: pulumi.output(env).apply((e) => ({ ...e, ...pitrEnv })),
          configs,
          secrets: [
            ...this.secrets.map((s, i) => secretMount(s, `${SWARM_SECRETS_DIR}/${secretValues[i][0]}`)),
            // Read by pgBackRest, which pitr.sh runs as the data directory's owner (uid 999): the
            // backup row's secretReader.
            ...(pitr ? [secretMount(pitr.conf, PITR_CONF_PATH)] : []),
          ],
          healthcheck: healthcheck(["CMD", "bash", scriptPath, "health"], args.plan.health),
          mounts: [
            ...(args.metrics ? [volumeMount(args.metrics.volume, args.metrics.dir)] : []),
            // pgBackRest reads the data files itself (read-only is enough) and reaches PostgreSQL only
            // through its unix socket; the service is placed on the primary's node (placement "primary").
            ...(pitr ? [volumeMount(pitr.dataVolume, DATA_MOUNT_PATH, true), volumeMount(pitr.socketVolume, PITR_SOCKET_DIR)] : []),
          ],
        },
        networks: [args.network, { id: this.egressNetwork.id, name: "advwell-backup-egress" }],
      }),
      child,
    );
    this.registerOutputs({ serviceName: this.service.name, egressNetwork: this.egressNetwork.name });
  }
}
