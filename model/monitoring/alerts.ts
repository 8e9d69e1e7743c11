/**
 * Alert rules, as data, with the planned replica counts written into them as numbers; and the rule
 * file Prometheus loads. The seed listed "Slack/Discord webhooks - Alert notifications" and
 * disk/health checks as unfinished: these rules are those checks. Pure.
 */
import { HEALTH_SLACK_SECONDS } from "../backup/plan";
import { BACKUP_METRIC, MonitoringPlan, PITR_METRICS, TEXTFILE_DIR, TEXTFILE_VOLUME } from "./plan";
import type { ServiceName } from "../services";
import { renderYaml } from "./yaml";

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: { readonly summary: string; readonly runbook: string; readonly [k: string]: string };
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

const seconds = (s: number) => `${s}s`;
const promString = (s: string) => JSON.stringify(s);
const SWARM_SERVICE_LABEL = "container_label_com_docker_swarm_service_name";

/** Running tasks of one service as cAdvisor sees them; `or vector(0)` so that none running is 0, not "no data". */
export function runningTasksExpr(dockerName: string): string {
  return `count(container_last_seen{${SWARM_SERVICE_LABEL}=${promString(dockerName)}}) or vector(0)`;
}

/** The thresholds, named once for rules, tests and docs. */
export const ALERT_THRESHOLDS = {
  postgresConnectionsRatio: 0.8,
  diskFreeRatio: 0.1,
  errorRatio: 0.05,
} as const;

/** The rule groups, as data; `renderAlertRules` writes them as a Prometheus rule file. */
export function alertRuleGroups(mplan: MonitoringPlan): RuleGroup[] {
  const name = (s: ServiceName) => s;
  const replicaRules: AlertRule[] = mplan.expectedTasks.map((e) => ({
    alert: "ServiceBelowPlannedReplicas",
    expr: `(${runningTasksExpr(e.dockerName)}) < ${e.tasks}`,
    for: seconds(e.forSeconds),
    labels: { severity: "critical", service: e.service },
    annotations: {
      summary: `${e.dockerName} runs {{ $value }} of the ${e.tasks} task(s) the ${mplan.tier} plan gives it`,
      runbook: `docker service ps ${e.dockerName} --no-trunc --filter desired-state=running; docker service logs ${e.dockerName} --tail 100. Tasks pending on "insufficient resources" mean the node inventory no longer fits the plan (run the plan command).`,
    },
  }));

  const availability: AlertRule[] = [
    ...replicaRules,
    {
      alert: "ScrapeTargetDown",
      expr: "up == 0",
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Prometheus cannot scrape {{ $labels.job }} at {{ $labels.instance }}",
        runbook: "Check the task behind the address: docker service ps <service>; a target that stays down leaves its alerts blind.",
      },
    },
  ];
  if (mplan.scrapeJobs.some((j) => j.job === "traefik")) {
    availability.push(
      {
        alert: "BackendServerDown",
        expr: "traefik_service_server_up == 0",
        for: "2m",
        labels: { severity: "critical" },
        annotations: {
          summary: "Traefik health checks fail for {{ $labels.url }} of service {{ $labels.service }}",
          runbook: `docker service ps ${name("backend")} ${name("frontend")}; curl the service's health endpoint from a task on the network; docker service logs ${name("traefik")} --tail 100.`,
        },
      },
      {
        alert: "HighErrorRate",
        expr: `sum by (service) (rate(traefik_service_requests_total{code=~"5.."}[5m])) / sum by (service) (rate(traefik_service_requests_total[5m])) > ${ALERT_THRESHOLDS.errorRatio}`,
        for: "10m",
        labels: { severity: "warning" },
        annotations: {
          summary: `More than ${ALERT_THRESHOLDS.errorRatio * 100}% of requests to {{ $labels.service }} answer 5xx`,
          runbook: `docker service logs ${name("backend")} --since 15m | grep -i error; if it began with a deploy, docker service rollback ${name("backend")}.`,
        },
      },
    );
  }

  const postgres: AlertRule[] = [
    {
      alert: "PostgresDown",
      expr: "pg_up == 0",
      for: "1m",
      labels: { severity: "critical" },
      annotations: {
        summary: "postgres-exporter cannot reach PostgreSQL",
        runbook: `docker service ps ${name("postgres")} --no-trunc; docker service logs ${name("postgres")} --tail 200.`,
      },
    },
    {
      alert: "PostgresConnectionsHigh",
      expr: `sum(pg_stat_activity_count) / max(pg_settings_max_connections) > ${ALERT_THRESHOLDS.postgresConnectionsRatio}`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary: `PostgreSQL uses {{ $value | humanizePercentage }} of max_connections (plan: ${mplan.postgresMaxConnections})`,
        runbook: `SELECT usename, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1,2,3 ORDER BY 4 DESC; then raise postgres.maxConnections, lower backend.connectionLimit, or move to a PgBouncer tier.`,
      },
    },
  ];

  const host: AlertRule[] = [
    {
      alert: "HostDiskSpaceLow",
      expr: `node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs|nsfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs|ramfs|nsfs"} < ${ALERT_THRESHOLDS.diskFreeRatio}`,
      for: "15m",
      labels: { severity: "critical" },
      annotations: {
        summary: `Less than ${ALERT_THRESHOLDS.diskFreeRatio * 100}% free on {{ $labels.mountpoint }} ({{ $labels.instance }})`,
        runbook: "docker system df; docker system prune --filter until=168h (never volumes); du -xh /var/lib/docker --max-depth 2 | sort -h | tail.",
      },
    },
  ];

  const groups: RuleGroup[] = [
    { name: "advwell-availability", rules: availability },
    { name: "advwell-postgres", rules: postgres },
    { name: "advwell-host", rules: host },
  ];
  if (mplan.backup.enabled) {
    const maxAgeSeconds = mplan.backup.maxAgeHours * 3600;
    groups.push({
      name: "advwell-backup",
      rules: [
        {
          alert: "BackupTooOld",
          expr: `time() - max(${BACKUP_METRIC}) > ${maxAgeSeconds}`,
          for: "10m",
          labels: { severity: "critical" },
          annotations: {
            summary: `The last successful backup finished {{ $value | humanizeDuration }} ago (limit ${mplan.backup.maxAgeHours}h)`,
            runbook: `docker service logs ${name("backup")} --since 30h; check the AWS credentials and the bucket; run a backup by hand and confirm ${BACKUP_METRIC} moves.`,
          },
        },
        {
          alert: "BackupNeverReported",
          expr: `absent(${BACKUP_METRIC})`,
          for: `${mplan.backup.maxAgeHours}h`,
          labels: { severity: "critical" },
          annotations: {
            summary: `No backup has reported success for ${mplan.backup.maxAgeHours}h`,
            runbook: `The backup job must write ${BACKUP_METRIC} to ${TEXTFILE_DIR}/advwell_backup.prom in the ${TEXTFILE_VOLUME} volume; docker service logs ${name("backup")} --tail 100.`,
          },
        },
      ],
    });
  }
  if (mplan.pitr) {
    const m = PITR_METRICS;
    // PostgreSQL closes a segment at least every archive_timeout while there are writes, and the
    // async push takes seconds: a segment still waiting after two timeouts (and five minutes, two
    // metric writes) means archiving lags or is stuck, and the RPO is no longer what the plan says.
    const lagFor = Math.max(300, 2 * mplan.pitr.archiveTimeoutSeconds);
    const fullMaxAge = mplan.pitr.fullMaxGapSeconds + HEALTH_SLACK_SECONDS;
    const logs = `docker service logs ${name("postgres")} --since 1h | grep -i archive; docker exec <backup task> bash /opt/advwell-backup/pitr.sh list`;
    groups.push({
      name: "advwell-pitr",
      rules: [
        {
          alert: "WalArchivingFailing",
          expr: `max(${m.lastFailed}) > max(${m.lastArchived})`,
          for: "5m",
          labels: { severity: "critical" },
          annotations: {
            summary: "PostgreSQL's archive_command has failed since the last segment it archived: point-in-time recovery stops at the last archived segment",
            runbook: `${logs}; check the bucket's credentials, endpoint and pgBackRest's stanza (pitr.sh init).`,
          },
        },
        {
          alert: "WalArchivingLags",
          expr: `min_over_time(${m.readySegments}[${seconds(lagFor)}]) > 0`,
          for: "1m",
          labels: { severity: "warning" },
          annotations: {
            summary: `{{ $value }} closed WAL segments have waited more than ${Math.round(lagFor / 60)} min to be archived (archive_timeout ${mplan.pitr.archiveTimeoutSeconds}s): the RPO grows with every one`,
            runbook: `${logs}; pg_wal grows until they are archived.`,
          },
        },
        {
          alert: "PitrStatusStale",
          expr: `time() - max(${m.written}) > 600 or absent(${m.written})`,
          for: "10m",
          labels: { severity: "warning" },
          annotations: {
            summary: "The archiver's status has not been written for 10 minutes: WAL archiving is not watched",
            runbook: `docker service logs ${name("backup")} --tail 100 (backup.sh schedule runs pitr.sh metrics every minute).`,
          },
        },
        {
          alert: "BaseBackupTooOld",
          expr: `time() - max(${m.lastFull}) > ${fullMaxAge}`,
          for: "10m",
          labels: { severity: "critical" },
          annotations: {
            summary: `The last full base backup finished {{ $value | humanizeDuration }} ago (limit ${Math.round(fullMaxAge / 3600)}h): restores replay ever more WAL, and retention counts on it`,
            runbook: `docker service logs ${name("backup")} --since 30h | grep advwell-pitr; run docker exec <backup task> bash /opt/advwell-backup/pitr.sh full.`,
          },
        },
      ],
    });
  }
  return groups;
}

/** The rule file Prometheus loads (`rule_files`). */
export function renderAlertRules(mplan: MonitoringPlan): string {
  return renderRuleGroups(alertRuleGroups(mplan), `Alert rules for stack ${mplan.stack} (${mplan.tier} tier)`);
}

export function renderRuleGroups(groups: readonly RuleGroup[], header: string): string {
  return renderYaml({ groups: groups.map((g) => ({ name: g.name, rules: g.rules.map((r) => ({ ...r })) })) }, header);
}

