/**
 * The whole program under mocks with the backup modes of issue 23 and 26: an existing
 * S3-compatible bucket creates no AWS resource at all, its keys and the stack's encryption key
 * reach Swarm only as secrets, and point-in-time recovery gives the primary pgBackRest's image,
 * config and archive settings.
 */
import { isSecretWrapper } from "../../scripts/lib/mockProgram";
import { byType, ProgramRun, runProgram, service } from "../support/program";

const ACCESS_KEY = "004b1e6c0ffee0000000000001";
const SECRET_KEY = "K004secretsecretsecretsecretsecret";
const STACK_KEY = "stack-encryption-key-0123456789abcdef-0123";
const PITR_IMAGE = "registry.example.com/advwell/postgres-pitr:15.10-2.45@sha256:" + "a".repeat(64);
const COMPATIBLE = [
  "advwell:backupStorage=s3-compatible",
  "advwell:backupBucketName=advwell-backups-b2",
  "advwell:backupEndpointUrl=https://s3.us-west-004.backblazeb2.com",
  "advwell:backupRegion=us-west-004",
  `advwell:backupAccessKeyId=${ACCESS_KEY}`,
  `advwell:backupSecretAccessKey=${SECRET_KEY}`,
  `advwell:backupEncryptionKey=${STACK_KEY}`,
  "advwell:backupObjectLock=off",
];
const PITR = ["advwell:backupPitrEnabled=true", `advwell:backupPitrImage=${PITR_IMAGE}`];
/** Set with `pulumi config set --secret`: the program receives them as secrets (a plaintext credential is refused). */
const CREDENTIALS = ["advwell:backupAccessKeyId", "advwell:backupSecretAccessKey", "advwell:backupEncryptionKey"];
const secretsIn = (sets: readonly string[]) => CREDENTIALS.filter((k) => sets.some((s) => s.startsWith(`${k}=`)));
const run_ = (sets: string[]) => runProgram("production", sets, secretsIn(sets));

const SECRET = "docker:index/secret:Secret";
const decoded = (run: ProgramRun) => byType(run, SECRET).map((s) => ({ name: s.name, text: Buffer.from(s.inputs.data, "base64").toString("utf8"), secret: isSecretWrapper(s.rawInputs.data) }));

describe("an existing S3-compatible bucket (no AWS resources)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await run_([...COMPATIBLE, ...PITR]);
  }, 30000);

  test("registers without error and creates nothing in AWS", () => {
    expect(run.error).toBeUndefined();
    expect(run.resources.filter((r) => r.type.startsWith("aws:")).map((r) => r.type)).toEqual([]);
  });

  test("the backup job gets the bucket, endpoint and region from config, and its keys only as secret files", () => {
    const env = service(run, "backup").inputs.taskSpec.containerSpec.env;
    expect(env).toMatchObject({ BACKUP_BUCKET: "advwell-backups-b2", AWS_ENDPOINT_URL: "https://s3.us-west-004.backblazeb2.com", AWS_REGION: "us-west-004", BACKUP_PASSPHRASE_FILE: "/run/secrets/advwell-backup-passphrase", PITR_CONF: "/run/secrets/advwell-pgbackrest.conf" });
    expect(JSON.stringify(env)).not.toContain(ACCESS_KEY);
    const secrets = decoded(run);
    for (const value of [ACCESS_KEY, SECRET_KEY, STACK_KEY]) {
      const holding = secrets.filter((s) => s.text.includes(value));
      expect(holding.length).toBeGreaterThan(0);
      expect(holding.every((s) => s.secret)).toBe(true);
    }
    // Nowhere but in docker secrets' data.
    const elsewhere = run.resources.filter((r) => r.type !== SECRET && JSON.stringify(r.inputs).match(new RegExp(`${ACCESS_KEY}|${SECRET_KEY}|${STACK_KEY}`)));
    expect(elsewhere.map((r) => r.name)).toEqual([]);
  });

  test("pgBackRest's config points at the endpoint, path-style, encrypted with the stack's key", () => {
    const conf = decoded(run).find((s) => s.text.startsWith("[global]\nrepo1-type=s3"))!;
    expect(conf.secret).toBe(true);
    expect(conf.text).toContain("repo1-s3-endpoint=s3.us-west-004.backblazeb2.com\n");
    expect(conf.text).toContain("repo1-s3-uri-style=path\n");
    expect(conf.text).toContain("repo1-s3-bucket=advwell-backups-b2\n");
    expect(conf.text).toContain("repo1-path=/postgres-pitr/production\n");
    expect(conf.text).toContain(`repo1-cipher-pass=${STACK_KEY}\n`);
    expect(conf.text).toContain("repo1-cipher-type=aes-256-cbc\n");
  });

  test("the primary runs the pgBackRest image with archive_mode on, the config readable by postgres only, and the socket shared with the backup job", () => {
    const pg = service(run, "postgres").inputs.taskSpec.containerSpec;
    expect(pg.image).toBe(PITR_IMAGE);
    expect(pg.args).toEqual(expect.arrayContaining(["archive_mode=on", "archive_timeout=60s", "archive_command=pgbackrest --config=/run/secrets/advwell-pgbackrest.conf --stanza=advwell archive-push %p"]));
    expect(pg.secrets.find((s: any) => s.fileName === "advwell-pgbackrest.conf")).toMatchObject({ fileUid: "999", fileMode: 0o400 });
    const backup = service(run, "backup").inputs.taskSpec.containerSpec;
    expect(backup.image).toBe(PITR_IMAGE);
    // pitr.sh runs pgBackRest as the data directory's owner, so the job's copy is that user's too.
    expect(backup.secrets.find((s: any) => s.fileName === "/run/secrets/advwell-pgbackrest.conf")).toMatchObject({ fileUid: "999", fileMode: 0o400 });
    const socket = (m: any) => m.target === "/var/run/postgresql" && m.source === "advwell-postgres-socket";
    expect(pg.mounts.some(socket)).toBe(true);
    expect(backup.mounts.some(socket)).toBe(true);
    expect(backup.mounts.find((m: any) => m.source === "advwell-postgres-data")).toMatchObject({ readOnly: true });
  });

  test("without its keys the plan refuses the mode, naming the key, before any resource", async () => {
    const refused = await run_(COMPATIBLE.filter((s) => !s.startsWith("advwell:backupAccessKeyId")));
    expect(refused.error?.message).toMatch(/advwell:backupAccessKeyId: is not set/);
    expect(refused.resources.filter((r) => r.type.startsWith("docker:") || r.type.startsWith("aws:"))).toEqual([]);
  });
});

describe("the AWS mode with point-in-time recovery", () => {
  test("the writer may delete (add delete markers) under the pgBackRest prefix only, never a version, and the bucket is Object-Locked", async () => {
    const run = await run_(PITR);
    expect(run.error).toBeUndefined();
    const policy = JSON.parse(byType(run, "aws:iam/userPolicy:UserPolicy")[0].inputs.policy);
    const deletes = policy.Statement.filter((s: any) => [s.Action].flat().some((a: string) => /Delete|Bypass|Retention|Lifecycle|Versioning|ObjectLock/.test(a)));
    expect(deletes).toHaveLength(1);
    expect(deletes[0].Action).toBe("s3:DeleteObject");
    expect([deletes[0].Resource].flat()).toEqual([expect.stringMatching(/\/postgres-pitr\/production\/\*$/)]);
    expect(byType(run, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")[0].inputs.rule.defaultRetention).toEqual({ mode: "GOVERNANCE", days: 60 });
  });
});
