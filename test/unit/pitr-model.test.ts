/**
 * The point-in-time recovery plan, the S3-compatible mode and Object Lock, pure: what the primary
 * gets, what pgBackRest is told, what the plan counts and what it refuses.
 */
import { fullsForDays, planBackup, planPitr, renderPgbackrestConf, writerPolicyDocument } from "../../model";
import { planFor as planWith, resolve as resolveWith } from "../support/stacks";

/** Credentials reach the plan as `pulumi config set --secret` hands them over (a plaintext one is refused). */
const CREDENTIALS = ["advwell:backupEncryptionKey", "advwell:backupAccessKeyId", "advwell:backupSecretAccessKey"];
const secretsIn = (sets: readonly string[]) => CREDENTIALS.filter((k) => sets.some((s) => s.startsWith(`${k}=`)));
const resolve = (stack: string, sets: string[] = []) => resolveWith(stack, sets, secretsIn(sets));
const planFor = (stack: string, sets: string[] = []) => planWith(stack, sets, secretsIn(sets));

const KEY = "advwell:backupEncryptionKey=unit-test-stack-key-0123456789abcdef";
const PITR = ["advwell:backupPitrEnabled=true", "advwell:backupPitrImage=advwell/postgres-pitr:15.10-2.45", KEY];
const COMPATIBLE = ["advwell:backupStorage=s3-compatible", "advwell:backupBucketName=advwell-b2", "advwell:backupEndpointUrl=https://s3.us-west-004.backblazeb2.com", "advwell:backupAccessKeyId=004key", "advwell:backupSecretAccessKey=secret", "advwell:backupObjectLock=off", KEY];

const findings = (sets: string[]) => resolve("production", sets).findings.map((f) => `${f.level} ${f.key}: ${f.message}`);

describe("the PITR plan", () => {
  const plan = planFor("production", PITR);

  test("off by default: the primary's settings carry no archiving and the plan has no pitr stage", () => {
    const off = planFor("production", [KEY]);
    expect(off.pitr).toBeUndefined();
    expect(off.postgres.settings.archive_mode).toBeUndefined();
  });

  test("on: archive_mode, the archive_command through the config secret, archive_timeout from config, and the restart said in the departures", () => {
    expect(plan.postgres.settings).toMatchObject({ wal_level: "replica", archive_mode: "on", archive_timeout: "60s", archive_command: "pgbackrest --config=/run/secrets/advwell-pgbackrest.conf --stanza=advwell archive-push %p" });
    const restart = plan.postgres.departures.find((d) => d.setting === "archive_mode");
    expect(restart?.why).toMatch(/restarts PostgreSQL once/);
    expect(planFor("production", [...PITR, "advwell:backupArchiveTimeoutSeconds=15"]).postgres.settings.archive_timeout).toBe("15s");
  });

  test("the primary and the backup job run the pgBackRest image", () => {
    expect(plan.services.postgres!.image).toBe("advwell/postgres-pitr:15.10-2.45");
    expect(plan.services.backup!.image).toBe("advwell/postgres-pitr:15.10-2.45");
  });

  test("the archiver's memory is in the primary's worst case, and the base backup's session in the connection budget", () => {
    const off = planFor("production", [KEY]);
    expect(plan.postgres.worstCase.pgbackrestArchiver).toBe(plan.pitr!.archiverMemoryMiB);
    expect(plan.postgres.worstCaseMemoryMiB - off.postgres.worstCaseMemoryMiB).toBeGreaterThanOrEqual(plan.pitr!.archiverMemoryMiB - 1);
    const client = plan.connections.clients.find((c) => c.name === "pgbackrest");
    expect(client?.total).toBe(1);
    expect(plan.connections.budget).toBe(off.connections.budget + 1);
  });

  test("retention: the count of fulls that keeps both promises (days at the longest gap, and the minimum count)", () => {
    expect(fullsForDays(14, 86400)).toBe(15);
    expect(fullsForDays(14, 7 * 86400)).toBe(3);
    expect(plan.pitr!.retentionFull).toBe(15);
    const weekly = planFor("production", [...PITR, "advwell:backupFullSchedule=0 3 * * 0", "advwell:backupPitrRetentionFull=5"]);
    expect(weekly.pitr!.retentionFull).toBe(5);
    expect(weekly.pitr!.fullMaxGapSeconds).toBe(7 * 86400);
  });

  test("refuses PITR without its image, over plain http, and with a full schedule that never fires", () => {
    expect(findings(["advwell:backupPitrEnabled=true", KEY])).toContainEqual(expect.stringMatching(/^error advwell:backupPitrImage: got ""; allowed: a pinned image of containers\/pitr\/Dockerfile/));
    expect(findings([...PITR, "advwell:backupEndpointUrl=http://minio:9000"])).toContainEqual(expect.stringMatching(/^error advwell:backupEndpointUrl: .*https:\/\/ URL \(pgBackRest talks to S3 over TLS only\)/));
    expect(findings([...PITR, "advwell:backupFullSchedule=0 0 31 2 *"])).toContainEqual(expect.stringMatching(/^error advwell:backupFullSchedule: .*never fires/));
  });

  test("the config: S3 at the endpoint path-style (host-style on AWS), encrypted, async, the retention count, the stanza's data directory", () => {
    const conf = renderPgbackrestConf(plan.pitr!, { bucket: "b", endpointUrl: "https://minio.example.com:9000", region: "eu-1", accessKeyId: "id", secretAccessKey: "sk", cipherPass: "pass", pgPath: "/var/lib/postgresql/data/pgdata", pgPort: 5432 });
    expect(conf.split("\n")).toEqual(expect.arrayContaining(["repo1-s3-endpoint=minio.example.com", "repo1-storage-port=9000", "repo1-s3-uri-style=path", "repo1-cipher-type=aes-256-cbc", "repo1-cipher-pass=pass", "archive-async=y", "repo1-retention-full=15", "pg1-path=/var/lib/postgresql/data/pgdata", "[advwell]", "repo1-path=/postgres-pitr/production"]));
    const aws = renderPgbackrestConf(plan.pitr!, { bucket: "b", region: "sa-east-1", accessKeyId: "id", secretAccessKey: "sk", cipherPass: "pass", pgPath: "/d", pgPort: 5432 });
    expect(aws).toContain("repo1-s3-endpoint=s3.sa-east-1.amazonaws.com\nrepo1-s3-uri-style=host\n");
    expect(() => renderPgbackrestConf(plan.pitr!, { bucket: "b", region: "r", accessKeyId: "id", secretAccessKey: "s\n[x]", cipherPass: "p", pgPath: "/d", pgPort: 1 })).toThrow(/secretAccessKey contains a line break/);
  });

  test("the repository sits beside the dumps, outside their lifecycle expiry, with only noncurrent versions expiring", () => {
    const settings = resolve("production", PITR).settings!;
    const backup = planBackup(settings);
    expect(planPitr(settings)!.keyPrefix).toBe("postgres-pitr/production/");
    const rule = backup.lifecycleRules.find((r) => r.filter.prefix === "postgres-pitr/production/");
    expect(rule).toEqual({ id: "pitr-noncurrent", status: "Enabled", filter: { prefix: "postgres-pitr/production/" }, noncurrentVersionExpiration: { noncurrentDays: 7 } });
    expect(backup.lifecycleRules.filter((r) => r.expiration).map((r) => r.filter.prefix)).toEqual(["postgres/production/"]);
  });
});

describe("Object Lock and the writer (issue 22 item 7)", () => {
  test("governance by default, for the longest expiry; compliance on request; never in the s3-compatible mode", () => {
    expect(planBackup(resolve("production", [KEY]).settings!).objectLock).toEqual({ mode: "GOVERNANCE", days: 60 });
    expect(planBackup(resolve("production", [...PITR, "advwell:backupPitrRetentionDays=120", "advwell:backupObjectLock=compliance"]).settings!).objectLock).toEqual({ mode: "COMPLIANCE", days: 120 });
    expect(planBackup(resolve("production", COMPATIBLE).settings!).objectLock).toBeUndefined();
  });

  test("without PITR the writer has no delete at all; with it, s3:DeleteObject on the pgBackRest prefix only", () => {
    const arn = "arn:aws:s3:::b";
    const actions = (doc: ReturnType<typeof writerPolicyDocument>) => doc.Statement.flatMap((s) => [s.Action].flat());
    expect(actions(writerPolicyDocument(arn, "postgres", "production")).filter((a) => /Delete/.test(a))).toEqual([]);
    const withPitr = writerPolicyDocument(arn, "postgres", "production", undefined, "postgres-pitr/production/");
    const deletes = withPitr.Statement.filter((s) => [s.Action].flat().some((a) => /Delete/.test(a)));
    expect(deletes).toEqual([{ Sid: "ExpirePitrFiles", Effect: "Allow", Action: "s3:DeleteObject", Resource: [`${arn}/postgres-pitr/production/*`] }]);
    expect(actions(withPitr).filter((a) => /Version|Bypass|Retention|Lifecycle|Lock|Put.*Configuration/.test(a))).toEqual([]);
  });
});

describe("the S3-compatible mode", () => {
  test("valid with bucket, endpoint and keys; the signing region falls back to aws:region", () => {
    const { settings, findings: f } = resolve("production", COMPATIBLE);
    expect(f.filter((x) => x.level === "error")).toEqual([]);
    const backup = planBackup(settings!);
    expect(backup.storage).toBe("s3-compatible");
    expect(backup.region).toBe("sa-east-1"); // aws:region of the stack file, as backupRegion is empty
  });

  test("refuses a missing bucket, endpoint or keys, each naming its key; warns that Object Lock is the operator's to enable", () => {
    expect(findings(["advwell:backupStorage=s3-compatible", "advwell:backupObjectLock=off", KEY])).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^error advwell:backupBucketName: got ""/),
        expect.stringMatching(/^error advwell:backupEndpointUrl: got ""/),
        expect.stringMatching(/^error advwell:backupAccessKeyId: is not set/),
      ]),
    );
    expect(findings(COMPATIBLE.filter((s) => !s.includes("ObjectLock")))).toContainEqual(expect.stringMatching(/^warning advwell:backupObjectLock: governance is not applied .*Enable versioning and Object Lock/));
  });

  test("a credential's bad value is refused without being echoed", () => {
    const f = findings([...COMPATIBLE.filter((s) => !s.includes("AccessKeyId")), "advwell:backupAccessKeyId=has space-SECRETISH"]);
    const line = f.find((x) => x.includes("backupAccessKeyId"))!;
    expect(line).toMatch(/not shown: the key holds a credential/);
    expect(line).not.toContain("SECRETISH");
  });

  test("production warns while the stack generates the backup key itself", () => {
    expect(findings([])).toContainEqual(expect.stringMatching(/^warning advwell:backupEncryptionKey: is not set: .*pulumi stack output backupEncryptionKey --show-secrets/));
    expect(findings([KEY]).filter((x) => x.includes("backupEncryptionKey"))).toEqual([]);
  });
});
