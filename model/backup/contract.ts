/**
 * The backup service's contract with containers/backup/backup.sh: where things are mounted and
 * which environment the script reads. One definition, used by the component and by the
 * integration test that runs the script "as the service runs it". Pure.
 */
import type { BackupPlan } from "./plan";
import { PITR_CONF_PATH, PitrPlan } from "./pitr";

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


/** What pitr.sh and backup.sh's scheduler read for point-in-time recovery (model/backup/pitr.ts). */
export function pitrEnvironment(plan: Pick<PitrPlan, "stanza" | "fullSchedule">, pgdata: string): Record<string, string> {
  return { PITR_CONF: PITR_CONF_PATH, PITR_STANZA: plan.stanza, PITR_FULL_SCHEDULE: plan.fullSchedule, PGDATA: pgdata };
}
