/**
 * The postgres-reconcile service's contract with containers/postgres/reconcile.sh: the environment
 * it reads and where its secrets are mounted. One definition, used by the component and by the
 * integration test that runs the script as the service runs it. Pure.
 */
import { MONITORING_ROLE, MONITORING_ROLE_CONNECTION_LIMIT } from "../plan/connections";
import type { ReplicationPlan } from "../replication";

/** Secret files the script reads, under /run/secrets. */
export const RECONCILE_SECRET_FILES = {
  superuser: "postgres-superuser-password",
  app: "postgres-app-password",
  monitor: "postgres-monitor-password",
  replication: "postgres-replication-password",
} as const;

/** Seconds between passes: a role dropped or changed by hand is put back within this. */
export const RECONCILE_INTERVAL_SECONDS = 300;

export interface ReconcileTarget {
  /** The primary on the data network. */
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  readonly databaseName: string;
  readonly appUser: string;
  /** Whether the monitoring role is wanted (monitoring runs). */
  readonly monitoring: boolean;
  /** The replicas' role and slots, on tiers that have replicas. */
  readonly replication?: ReplicationPlan;
}

/** The container's environment: names and secret *paths*, never a password. */
export function reconcileEnvironment(target: ReconcileTarget, secretsDir = "/run/secrets"): Record<string, string> {
  const file = (name: string) => `${secretsDir}/${name}`;
  return {
    PGHOST: target.host,
    PGPORT: String(target.port),
    SUPERUSER: target.superuser,
    SUPERUSER_PASSWORD_FILE: file(RECONCILE_SECRET_FILES.superuser),
    APP_DB_NAME: target.databaseName,
    APP_DB_USER: target.appUser,
    APP_DB_PASSWORD_FILE: file(RECONCILE_SECRET_FILES.app),
    RECONCILE_INTERVAL_SECONDS: String(RECONCILE_INTERVAL_SECONDS),
    ...(target.monitoring
      ? { MONITORING_ROLE, MONITORING_ROLE_CONNECTION_LIMIT: String(MONITORING_ROLE_CONNECTION_LIMIT), MONITORING_PASSWORD_FILE: file(RECONCILE_SECRET_FILES.monitor) }
      : {}),
    ...(target.replication
      ? { REPLICATION_USER: target.replication.user, REPLICATION_PASSWORD_FILE: file(RECONCILE_SECRET_FILES.replication), REPLICATION_SLOTS: target.replication.slots.join(" ") }
      : {}),
  };
}
