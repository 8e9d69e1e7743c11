/**
 * Point-in-time recovery with pgBackRest: continuous WAL archiving from the primary, full base
 * backups on a schedule, retention in days and in number of fulls, everything written to the
 * bucket encrypted client-side with the stack's key. Pure: no Pulumi, no I/O.
 *
 * Why pgBackRest (docs/backups.md has the long form): it is a Debian bookworm package (2.45) and
 * in the PGDG repository the official postgres images already configure, so the derived image is
 * one `apt-get install`; it speaks S3 to any endpoint (`repo1-s3-endpoint`, path-style URIs), it
 * encrypts every file it writes (`repo1-cipher-type=aes-256-cbc`), it archives asynchronously
 * with a bounded queue, and its `verify` checks every WAL segment and backup file against the
 * checksums it recorded. WAL-G's Go module is refused by this machine's proxy (403), Barman wants
 * its own server with SSH or streaming, and pg_receivewal + pg_basebackup would leave encryption,
 * retention and verification to code of our own.
 *
 * The repository lives under `<prefix>-pitr/<stack>/`, beside the dumps' `<prefix>/<stack>/`:
 * the dumps' lifecycle rule expires objects by age, which would break a pgBackRest repository
 * (archive.info is written once, at stanza-create), and restore.sh's "latest dump" lists the dump
 * prefix and must never see a pgBackRest file.
 */
import { configKey } from "../config/keys";
import type { Settings } from "../config/settings";
import { cronMaxGapSeconds, parseCron } from "../cron";
import { error, Finding, warning } from "../findings";

/** One stanza per stack: the repository path already separates stacks. */
export const PITR_STANZA = "advwell";
/** Where the official postgres image puts its unix socket; pgBackRest talks to PostgreSQL only through it. */
export const PITR_SOCKET_DIR = "/var/run/postgresql";
/** pgBackRest's config, mounted as a Swarm secret: it holds the S3 keys and the cipher passphrase. */
export const PITR_CONF_SECRET = "advwell-pgbackrest.conf";
export const PITR_CONF_PATH = `/run/secrets/${PITR_CONF_SECRET}`;
/**
 * Spool and lock files of the async archiver: container-local (`/tmp`). Losing them loses nothing:
 * the async process re-reads pg_wal/archive_status (pgBackRest's archive-push async design).
 */
export const PITR_SPOOL_DIR = "/tmp/pgbackrest";
/** One async archive-push process: one CPU at most, and WAL is produced far slower than one process uploads. */
export const PITR_PROCESS_MAX = 1;
/**
 * Memory of the archiver, per process (RSS): archive-push (the short command PostgreSQL runs per
 * segment) and its async child. Measured in test/integration/pitr.test.ts ("archiver memory"),
 * which asserts the async process stays under this figure.
 */
export const PITR_ARCHIVER_MIB_PER_PROCESS = 32;
export const PITR_ARCHIVER_PROCESSES = 2;
/** The base backup's own sessions: one to the primary (pg_backup_start/stop, and the file list). */
export const PITR_BACKUP_CONNECTIONS = 1;

export interface PitrPlan {
  readonly stanza: string;
  readonly image: string;
  /** `/<prefix>-pitr/<stack>`: pgBackRest's repo1-path, an absolute path inside the bucket. */
  readonly repoPath: string;
  /** The same, as an S3 key prefix (no leading slash, trailing slash) for policies and lifecycle. */
  readonly keyPrefix: string;
  readonly archiveTimeoutSeconds: number;
  readonly fullSchedule: string;
  readonly fullMaxGapSeconds: number;
  readonly retentionDays: number;
  readonly retentionFullMin: number;
  /**
   * pgBackRest keeps full backups by count; the count that holds both promises: at least
   * `retentionFullMin` fulls, and enough of them that the oldest starts more than `retentionDays`
   * ago even when every gap between fulls is the schedule's longest.
   */
  readonly retentionFull: number;
  /** The settings the primary gets on top of the tuned ones. archive_mode needs a restart. */
  readonly postgresSettings: Readonly<Record<string, string>>;
  /** Worst-case RPO: a segment closes within archive_timeout, then the async push uploads it. */
  readonly rpoSeconds: number;
  readonly archiverMemoryMiB: number;
  readonly archiverCpus: number;
  readonly findings: readonly Finding[];
}

/** The archive_command every tier's primary runs. %p is the segment's path relative to PGDATA. */
export function archiveCommand(stanza = PITR_STANZA, confPath = PITR_CONF_PATH): string {
  return `pgbackrest --config=${confPath} --stanza=${stanza} archive-push %p`;
}

export function pitrRepoPath(prefix: string, stack: string): string {
  return `/${prefix}-pitr/${stack}`;
}

/** The repository as an S3 key prefix: `<prefix>-pitr/<stack>/`. */
export function pitrKeyPrefix(prefix: string, stack: string): string {
  return `${pitrRepoPath(prefix, stack).slice(1)}/`;
}

/** Fulls needed to cover `days` when fulls are at most `gapSeconds` apart: the window, plus the one before it. */
export function fullsForDays(days: number, gapSeconds: number): number {
  return Math.ceil((days * 86400) / gapSeconds) + 1;
}

export function planPitr(settings: Settings): PitrPlan | undefined {
  const b = settings.backup;
  const p = b.pitr;
  if (!b.enabled || !p.enabled) return undefined;
  const findings: Finding[] = [];
  const cron = parseCron(p.fullSchedule);
  let gap = 86400;
  if (typeof cron === "string") findings.push(error(configKey("backupFullSchedule"), `${cron}; e.g. "30 3 * * *" (daily at 03:30 UTC)`));
  else {
    const g = cronMaxGapSeconds(cron);
    if (g === undefined) findings.push(error(configKey("backupFullSchedule"), `"${p.fullSchedule}" never fires (no date matches it)`));
    else gap = g;
  }
  if (gap > p.retentionDays * 86400) {
    findings.push(warning(configKey("backupFullSchedule"), `"${p.fullSchedule}" leaves up to ${Math.round(gap / 86400)} days between full backups, more than advwell:backupPitrRetentionDays ${p.retentionDays}: a restore replays every WAL segment since the last full, which takes longer the further apart they are`));
  }
  if (p.image === undefined) {
    findings.push(error(configKey("backupPitrImage"), `got ""; allowed: ${"a pinned image of containers/pitr/Dockerfile built for postgresImage " + settings.images.postgresImage} (PostgreSQL's archive_command runs pgBackRest, which the official image lacks)`));
  }
  // pgBackRest 2.45 speaks TLS to S3 only (src/storage/s3/storage.c builds its client on tlsClientNew).
  if (b.endpointUrl !== undefined && !b.endpointUrl.startsWith("https://")) {
    findings.push(error(configKey("backupEndpointUrl"), `got ${JSON.stringify(b.endpointUrl)}; allowed with advwell:backupPitrEnabled: an https:// URL (pgBackRest talks to S3 over TLS only)`));
  }
  const fulls = Math.max(p.retentionFull, fullsForDays(p.retentionDays, gap));
  return {
    stanza: PITR_STANZA,
    image: p.image ?? "",
    repoPath: pitrRepoPath(b.prefix, settings.stack),
    keyPrefix: pitrKeyPrefix(b.prefix, settings.stack),
    archiveTimeoutSeconds: p.archiveTimeoutSeconds,
    fullSchedule: p.fullSchedule,
    fullMaxGapSeconds: gap,
    retentionDays: p.retentionDays,
    retentionFullMin: p.retentionFull,
    retentionFull: fulls,
    postgresSettings: {
      // replica is already the default of PostgreSQL 15; stated so an override of "minimal" is refused by the merge below.
      wal_level: "replica",
      archive_mode: "on",
      archive_command: archiveCommand(),
      archive_timeout: `${p.archiveTimeoutSeconds}s`,
    },
    rpoSeconds: p.archiveTimeoutSeconds + 10,
    archiverMemoryMiB: PITR_ARCHIVER_MIB_PER_PROCESS * PITR_ARCHIVER_PROCESSES,
    archiverCpus: PITR_PROCESS_MAX,
    findings,
  };
}

export interface PgbackrestTarget {
  readonly bucket: string;
  /** https://host[:port]; undefined means AWS S3 in `region`. */
  readonly endpointUrl?: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The stack's client-side encryption key. */
  readonly cipherPass: string;
  /** PGDATA as the primary's container sees it. */
  readonly pgPath: string;
  readonly pgPort: number;
  readonly pgSocketDir?: string;
  /** A CA bundle for the endpoint's certificate (a private S3 server); the system's by default. */
  readonly caFile?: string;
  readonly spoolDir?: string;
}

/**
 * pgBackRest's config file. Every line is an option of pgBackRest 2.45 (src/build/config/config.yaml).
 * It holds credentials, so it only ever travels as a Swarm secret.
 */
export function renderPgbackrestConf(plan: Pick<PitrPlan, "stanza" | "repoPath" | "retentionFull">, t: PgbackrestTarget): string {
  const endpoint = t.endpointUrl ? new URL(t.endpointUrl) : undefined;
  const lines = [
    "[global]",
    "repo1-type=s3",
    `repo1-path=${plan.repoPath}`,
    `repo1-s3-bucket=${t.bucket}`,
    `repo1-s3-region=${t.region}`,
    // AWS: virtual-hosted names; elsewhere path style, which every S3-compatible server answers.
    endpoint ? `repo1-s3-endpoint=${endpoint.hostname}` : `repo1-s3-endpoint=s3.${t.region}.amazonaws.com`,
    ...(endpoint?.port ? [`repo1-storage-port=${endpoint.port}`] : []),
    `repo1-s3-uri-style=${endpoint ? "path" : "host"}`,
    ...(t.caFile ? [`repo1-storage-ca-file=${t.caFile}`] : []),
    `repo1-s3-key=${t.accessKeyId}`,
    `repo1-s3-key-secret=${t.secretAccessKey}`,
    // Every file pgBackRest writes (WAL, backup files, manifests, info files) is encrypted before upload.
    "repo1-cipher-type=aes-256-cbc",
    `repo1-cipher-pass=${t.cipherPass}`,
    "repo1-retention-full-type=count",
    `repo1-retention-full=${plan.retentionFull}`,
    // zstd: restores decompress several times faster than gzip at a similar ratio.
    "compress-type=zst",
    "compress-level=3",
    // PostgreSQL's archive_command returns as soon as the segment is queued; one async process uploads.
    "archive-async=y",
    `process-max=${PITR_PROCESS_MAX}`,
    `spool-path=${t.spoolDir ?? PITR_SPOOL_DIR}`,
    `lock-path=${t.spoolDir ?? PITR_SPOOL_DIR}`,
    // Logs go to the container's stderr (docker service logs), not to files inside it.
    "log-level-file=off",
    "log-level-console=warn",
    "log-level-stderr=warn",
    // A base backup starts with an immediate checkpoint instead of waiting for the next one.
    "start-fast=y",
    "",
    `[${plan.stanza}]`,
    `pg1-path=${t.pgPath}`,
    `pg1-port=${t.pgPort}`,
    `pg1-socket-path=${t.pgSocketDir ?? PITR_SOCKET_DIR}`,
    "",
  ];
  for (const [name, value] of Object.entries(t)) {
    if (typeof value === "string" && /[\r\n]/.test(value)) throw new Error(`pgBackRest config: ${name} contains a line break`);
  }
  return lines.join("\n");
}
