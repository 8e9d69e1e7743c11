/**
 * The rendered Prometheus files, checked by the real promtool (Debian's prometheus package,
 * promtool 2.42; `.ci/run` installs it): `check config` loads the config and its rule files,
 * `check rules` parses every PromQL expression and template, and `test rules` evaluates alerts
 * against synthetic series, so a threshold or a label matcher that never fires is caught here.
 * Last, the connection alert's inputs are read from a real PostgreSQL 15 by the exporter's
 * read-only role, created with the rendered SQL, and fed to promtool.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { applySet, loadStackConfig } from "../../config/stackConfig";
import { PROJECT, resolvePlan, TierName, validateSettings } from "../../model";
import { freePort, PG_BIN, PgCluster, SUPERUSER, SUPERUSER_PASSWORD } from "./support/pgCluster";
import type { Client } from "pg";
import {
  alertRuleGroups,
  BACKUP_METRIC,
  MONITORING_ROLE,
  MONITORING_ROLE_CONNECTION_LIMIT,
  MonitoringPlan,
  PITR_METRICS,
  postgresExporterEnv,
  renderAlertmanagerConfig,
  renderAlertRules,
  renderPrometheusConfig,
  reconcileEnvironment,
  renderRuleGroups,
} from "../../model";
import { containerFilePath } from "../../components/containerFiles";

const PROMTOOL = process.env.PROMTOOL ?? "/usr/bin/promtool";
/** Debian's prometheus-alertmanager and prometheus-postgres-exporter (`.ci/run` installs them). */
const AMTOOL = process.env.AMTOOL ?? "/usr/bin/amtool";
const POSTGRES_EXPORTER = process.env.POSTGRES_EXPORTER ?? "/usr/bin/prometheus-postgres-exporter";

function monitoringPlan(tier: TierName, sets: readonly string[] = []): MonitoringPlan {
  const { config } = loadStackConfig("production");
  applySet(config, `${PROJECT}:tier=${tier}`, PROJECT);
  for (const set of sets) applySet(config, set, PROJECT);
  const { settings, findings } = validateSettings(config, "production");
  if (!settings) throw new Error(findings.map((f) => `${f.key}: ${f.message}`).join("; "));
  return resolvePlan(settings).monitoring!;
}

function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL, args, { encoding: "utf8", timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** prometheus.yml with its rule file beside it, as the component mounts them (relative path here). */
function writeFiles(mplan: MonitoringPlan, rules = renderAlertRules(mplan)): { dir: string; config: string; rules: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-promtool-"));
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, "rules"));
  const config = path.join(dir, "prometheus.yml");
  const rulesFile = path.join(dir, "rules", "advwell.yml");
  fs.writeFileSync(config, renderPrometheusConfig(mplan, { ruleFiles: ["rules/advwell.yml"] }));
  fs.writeFileSync(rulesFile, rules);
  return { dir, config, rules: rulesFile };
}

test("promtool is the real one", () => {
  const r = promtool(["--version"]);
  expect(r.status).toBe(0);
  expect(r.output).toMatch(/promtool, version 2\./);
});

describe.each([["starter"], ["growth"], ["business"], ["enterprise"]] as [TierName][])("%s tier", (tier) => {
  const mplan = monitoringPlan(tier);

  test("promtool check config accepts prometheus.yml and loads its rule file", () => {
    const files = writeFiles(mplan);
    const r = promtool(["check", "config", files.config]);
    expect(r.output).toContain("SUCCESS");
    expect(r.output).toContain("1 rule files found");
    expect(r.status).toBe(0);
  });

  test("promtool check rules accepts every rule", () => {
    const files = writeFiles(mplan);
    const r = promtool(["check", "rules", files.rules]);
    const count = alertRuleGroups(mplan).reduce((n, g) => n + g.rules.length, 0);
    expect(r.output).toContain(`SUCCESS: ${count} rules found`);
    expect(r.status).toBe(0);
  });
});

describe("a broken rule", () => {
  const mplan = monitoringPlan("growth");

  test("fails promtool check rules (the check is real)", () => {
    const groups = alertRuleGroups(mplan);
    const broken = groups.map((g, i) => (i === 0 ? { ...g, rules: [{ ...g.rules[0], expr: "sum(pg_stat_activity_count" }, ...g.rules.slice(1)] } : g));
    const files = writeFiles(mplan, renderRuleGroups(broken, "broken on purpose"));
    const r = promtool(["check", "rules", files.rules]);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/unclosed left parenthesis|parse error/);
  });

  test("fails promtool check config through the rule file it loads", () => {
    const groups = alertRuleGroups(mplan);
    const broken = groups.map((g, i) => (i === 0 ? { ...g, rules: [{ ...g.rules[0], annotations: { ...g.rules[0].annotations, summary: "{{ $value | nosuchfunction }}" } }, ...g.rules.slice(1)] } : g));
    const files = writeFiles(mplan, renderRuleGroups(broken, "broken on purpose"));
    const r = promtool(["check", "config", files.config]);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain("nosuchfunction");
  });
});

describe("promtool test rules: the alerts fire when they should, and only then", () => {
  const mplan = monitoringPlan("growth");
  const files = writeFiles(mplan);
  const rulesOf = (alert: string) => alertRuleGroups(mplan).flatMap((g) => g.rules).filter((r) => r.alert === alert);

  /** Every planned service at its planned task count, except the changes given. */
  function containerSeries(running: Record<string, number>): { series: string; values: string }[] {
    return mplan.expectedTasks.flatMap((e) => {
      const n = running[e.dockerName] ?? e.tasks;
      return Array.from({ length: n }, (_, i) => ({
        series: `container_last_seen{container_label_com_docker_swarm_service_name="${e.dockerName}",name="${e.dockerName}.${i + 1}"}`,
        values: "1x30",
      }));
    });
  }

  function runTests(name: string, tests: unknown[], evaluationInterval = "1m"): { status: number | null; output: string } {
    const file = path.join(files.dir, `${name}.test.yml`);
    fs.writeFileSync(file, stringify({ rule_files: ["rules/advwell.yml"], evaluation_interval: evaluationInterval, tests }, { lineWidth: 0 }));
    return promtool(["test", "rules", file]);
  }

  test("PostgresConnectionsHigh fires at 85% of max_connections and not at 50%", () => {
    const rule = rulesOf("PostgresConnectionsHigh")[0];
    const maxConnections = mplan.postgresMaxConnections;
    const connections = (share: number) => [
      { series: 'pg_stat_activity_count{datname="advtom",state="active"}', values: `${Math.round(maxConnections * share) - 5}x20` },
      { series: 'pg_stat_activity_count{datname="advtom",state="idle"}', values: "5x20" },
      { series: "pg_settings_max_connections", values: `${maxConnections}x20` },
    ];
    const r = runTests("connections", [
      {
        interval: "1m",
        input_series: connections(0.85),
        alert_rule_test: [
          { eval_time: "3m", alertname: "PostgresConnectionsHigh", exp_alerts: [] }, // pending: `for: 5m` not yet met
          {
            eval_time: "10m",
            alertname: "PostgresConnectionsHigh",
            // humanizePercentage prints four significant digits of the real ratio (24 of 28 is 85.71%).
            exp_alerts: [{ exp_labels: { severity: "warning" }, exp_annotations: { summary: `PostgreSQL uses ${Number(((Math.round(maxConnections * 0.85) / maxConnections) * 100).toPrecision(4))}% of max_connections (plan: ${maxConnections})`, runbook: rule.annotations.runbook } }],
          },
        ],
      },
      { interval: "1m", input_series: connections(0.5), alert_rule_test: [{ eval_time: "10m", alertname: "PostgresConnectionsHigh", exp_alerts: [] }] },
    ]);
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  test("a wrong expectation makes promtool test rules fail (the test is real)", () => {
    const r = runTests("wrong", [{
      interval: "1m",
      input_series: [{ series: 'pg_stat_activity_count{datname="advtom",state="active"}', values: "150x20" }, { series: "pg_settings_max_connections", values: "300x20" }],
      alert_rule_test: [{ eval_time: "10m", alertname: "PostgresConnectionsHigh", exp_alerts: [{ exp_labels: { severity: "warning" } }] }],
    }]);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain("FAILED");
  });

  test("ServiceBelowPlannedReplicas fires for backend at 2 of 3 and at 0 of 3, and for nothing at full strength", () => {
    const rule = rulesOf("ServiceBelowPlannedReplicas").find((x) => x.labels.service === "backend")!;
    expect(rule.expr).toMatch(/< 3$/);
    const expected = (running: number) => [{
      exp_labels: { severity: "critical", service: "backend" },
      exp_annotations: { summary: `backend runs ${running} of the 3 task(s) the growth plan gives it`, runbook: rule.annotations.runbook },
    }];
    const r = runTests("replicas", [
      { interval: "1m", input_series: containerSeries({}), alert_rule_test: [{ eval_time: "20m", alertname: "ServiceBelowPlannedReplicas", exp_alerts: [] }] },
      { interval: "1m", input_series: containerSeries({ backend: 2 }), alert_rule_test: [{ eval_time: "20m", alertname: "ServiceBelowPlannedReplicas", exp_alerts: expected(2) }] },
      { interval: "1m", input_series: containerSeries({ backend: 0 }), alert_rule_test: [{ eval_time: "20m", alertname: "ServiceBelowPlannedReplicas", exp_alerts: expected(0) }] },
    ]);
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  test("HostDiskSpaceLow fires below 10% free on a real filesystem and ignores tmpfs", () => {
    const fs1 = (mount: string, fstype: string, avail: number) => [
      { series: `node_filesystem_avail_bytes{instance="vps-1",mountpoint="${mount}",fstype="${fstype}",device="d"}`, values: `${avail}x30` },
      { series: `node_filesystem_size_bytes{instance="vps-1",mountpoint="${mount}",fstype="${fstype}",device="d"}`, values: "1000x30" },
    ];
    const rule = rulesOf("HostDiskSpaceLow")[0];
    const r = runTests("disk", [{
      interval: "1m",
      input_series: [...fs1("/", "ext4", 80), ...fs1("/run", "tmpfs", 10), ...fs1("/data", "xfs", 500)],
      alert_rule_test: [{
        eval_time: "20m",
        alertname: "HostDiskSpaceLow",
        exp_alerts: [{
          exp_labels: { severity: "critical", instance: "vps-1", mountpoint: "/", fstype: "ext4", device: "d" },
          exp_annotations: { summary: "Less than 10% free on / (vps-1)", runbook: rule.annotations.runbook },
        }],
      }],
    }]);
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  test("BackupTooOld fires once the last success is more than 26 h old, not at 25 h; BackupNeverReported when no backup ever wrote the metric", () => {
    const rule = rulesOf("BackupTooOld")[0];
    // The backup succeeded at t=0 (promtool's clock starts at the Unix epoch); node-exporter
    // reports that timestamp every minute. Rules are evaluated every 5 minutes over 27 hours.
    const r = runTests("backup", [{
      interval: "1m",
      input_series: [{ series: `${BACKUP_METRIC}{instance="vps-1"}`, values: "0x1700" }],
      alert_rule_test: [
        { eval_time: "25h", alertname: "BackupTooOld", exp_alerts: [] },
        {
          eval_time: "27h",
          alertname: "BackupTooOld",
          exp_alerts: [{ exp_labels: { severity: "critical" }, exp_annotations: { summary: "The last successful backup finished 1d 3h 0m 0s ago (limit 26h)", runbook: rule.annotations.runbook } }],
        },
        { eval_time: "27h", alertname: "BackupNeverReported", exp_alerts: [] },
      ],
    }, {
      // A backup job that never wrote the metric (wrong volume, wrong file name) is caught too.
      interval: "1m",
      input_series: [{ series: 'up{job="node"}', values: "1x1700" }],
      alert_rule_test: [
        { eval_time: "25h", alertname: "BackupNeverReported", exp_alerts: [] },
        {
          eval_time: "27h",
          alertname: "BackupNeverReported",
          exp_alerts: [{ exp_labels: { severity: "critical" }, exp_annotations: { summary: rulesOf("BackupNeverReported")[0].annotations.summary, runbook: rulesOf("BackupNeverReported")[0].annotations.runbook } }],
        },
      ],
    }], "5m");
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });
});

describe("promtool test rules: the WAL archiving alerts (point-in-time recovery)", () => {
  const mplan = monitoringPlan("growth", [`${PROJECT}:backupPitrEnabled=true`, `${PROJECT}:backupPitrImage=advwell/postgres-pitr:15.10-2.45`, `${PROJECT}:backupArchiveTimeoutSeconds=60`]);
  const files = writeFiles(mplan);
  const rule = (alert: string) => alertRuleGroups(mplan).flatMap((g) => g.rules).find((r) => r.alert === alert)!;
  const M = PITR_METRICS;
  function runTests(name: string, tests: unknown[]): { status: number | null; output: string } {
    const file = path.join(files.dir, `${name}.test.yml`);
    fs.writeFileSync(file, stringify({ rule_files: ["rules/advwell.yml"], evaluation_interval: "1m", tests }, { lineWidth: 0 }));
    return promtool(["test", "rules", file]);
  }

  test("the rules load (promtool check config with the PITR group)", () => {
    expect(mplan.pitr).toEqual({ archiveTimeoutSeconds: 60, fullMaxGapSeconds: 86400 });
    const r = promtool(["check", "config", files.config]);
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  test("WalArchivingFailing fires 5 min after a failure newer than the last archived segment, and clears when a segment archives", () => {
    // Archived at t=60 s; archive_command fails from t=600 s (last_failed moves with each retry); a success at 30 min.
    const r = runTests("wal-failing", [{
      interval: "1m",
      input_series: [
        { series: `${M.lastArchived}{instance="vps-1"}`, values: "60x29 1800x30" },
        { series: `${M.lastFailed}{instance="vps-1"}`, values: "0x9 600+60x20 1800x30" },
      ],
      alert_rule_test: [
        { eval_time: "9m", alertname: "WalArchivingFailing", exp_alerts: [] },
        { eval_time: "13m", alertname: "WalArchivingFailing", exp_alerts: [] },
        { eval_time: "16m", alertname: "WalArchivingFailing", exp_alerts: [{ exp_labels: { severity: "critical" }, exp_annotations: rule("WalArchivingFailing").annotations }] },
        { eval_time: "35m", alertname: "WalArchivingFailing", exp_alerts: [] },
      ],
    }]);
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  test("WalArchivingLags fires when segments wait for more than 5 min, not when each waits a minute", () => {
    const summary = (n: number) => rule("WalArchivingLags").annotations.summary.replace("{{ $value }}", String(n));
    const r = runTests("wal-lags", [{
      interval: "1m",
      input_series: [
        // Healthy: a segment now and then, gone by the next write of the metric.
        { series: `${M.readySegments}{instance="vps-1"}`, values: "0 1 0 0 1 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0" },
        // Stuck: segments pile up from minute 2.
        { series: `${M.readySegments}{instance="vps-2"}`, values: "0 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18" },
      ],
      alert_rule_test: [
        { eval_time: "6m", alertname: "WalArchivingLags", exp_alerts: [] },
        { eval_time: "10m", alertname: "WalArchivingLags", exp_alerts: [{ exp_labels: { severity: "warning", instance: "vps-2" }, exp_annotations: { ...rule("WalArchivingLags").annotations, summary: summary(4) } }] },
      ],
    }]);
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  test("BaseBackupTooOld fires after a day and two hours without a full base backup (daily schedule), not at 25 h", () => {
    const r = runTests("base-backup", [{
      interval: "5m",
      input_series: [{ series: `${M.lastFull}{instance="vps-1"}`, values: "0x330" }],
      alert_rule_test: [
        { eval_time: "25h", alertname: "BaseBackupTooOld", exp_alerts: [] },
        { eval_time: "27h", alertname: "BaseBackupTooOld", exp_alerts: [{ exp_labels: { severity: "critical" }, exp_annotations: { ...rule("BaseBackupTooOld").annotations, summary: rule("BaseBackupTooOld").annotations.summary.replace("{{ $value | humanizeDuration }}", "1d 3h 0m 0s") } }] },
      ],
    }]);
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });
});

describe("the exporter's role on a real PostgreSQL 15, feeding the connection alert", () => {
  const MONITOR_PASSWORD = "integration-monitor-pw";
  let cluster: PgCluster;
  const clients: Client[] = [];
  const monitors: Client[] = [];
  beforeAll(async () => {
    cluster = await PgCluster.start({ settings: { max_connections: "20" } });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    cluster?.destroy();
  });

  /**
   * Runs the reconciler as the postgres-reconcile service does (its env from the plan, passwords
   * from secret files), reaching the test cluster over TCP.
   */
  function applyRoleSql(): { status: number | null; output: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-role-"));
    dirs.push(dir);
    const file = (name: string, value: string) => {
      fs.writeFileSync(path.join(dir, name), value);
      return path.join(dir, name);
    };
    const r = spawnSync("bash", [containerFilePath("reconcile"), "once"], {
      encoding: "utf8",
      env: {
        ...reconcileEnvironment({ host: "127.0.0.1", port: cluster.port, superuser: SUPERUSER, databaseName: "advtom", appUser: "advwell", monitoring: true }),
        PATH: `${PG_BIN}:${process.env.PATH}`,
        SUPERUSER_PASSWORD_FILE: file("superuser", SUPERUSER_PASSWORD),
        APP_DB_PASSWORD_FILE: file("app", "app-password"),
        MONITORING_PASSWORD_FILE: file("monitor", MONITOR_PASSWORD),
        RECONCILE_STATE_DIR: path.join(dir, "state"),
      },
      timeout: 30_000,
    });
    return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
  }
  const monitor = async () => {
    const c = await cluster.client({ user: MONITORING_ROLE, password: MONITOR_PASSWORD });
    clients.push(c);
    monitors.push(c);
    return c;
  };

  test("the reconciler makes the role, and runs again without error (idempotent)", () => {
    const first = applyRoleSql();
    expect(first.output).not.toContain("ERROR");
    expect(first.status).toBe(0);
    const second = applyRoleSql();
    expect(second.status).toBe(0);
    expect(second.output).toContain("advwell-reconcile: reconciled");
  });

  test("the role reads other sessions' statistics but cannot write", async () => {
    const app = await cluster.client();
    clients.push(app);
    await app.query("SELECT 'advwell-app-marker' AS marker");
    const appPid = (await app.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
    const c = await monitor();
    const seen = (await c.query("SELECT query FROM pg_stat_activity WHERE pid = $1", [appPid])).rows[0].query as string;
    expect(seen).toContain("pg_backend_pid"); // not "<insufficient privilege>": pg_monitor reads all statistics
    await expect(c.query("CREATE TABLE monitor_must_not_write (x int)")).rejects.toThrow(/read-only transaction/);
  });

  test("postgres-exporter, configured as the component configures it, exports the series the alert reads", async () => {
    const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-exporter-"));
    dirs.push(secretDir);
    const passwordFile = path.join(secretDir, "postgres_exporter_password");
    fs.writeFileSync(passwordFile, MONITOR_PASSWORD);
    const port = await freePort();
    const env = postgresExporterEnv({ host: "127.0.0.1", port: cluster.port, database: "postgres" }, passwordFile);
    const exporter = spawn(POSTGRES_EXPORTER, [`--web.listen-address=127.0.0.1:${port}`], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    exporter.stderr!.on("data", (d) => (log += d));
    try {
      let metrics = "";
      for (let i = 0; i < 50 && !/^pg_up 1$/m.test(metrics); i++) {
        await new Promise((r) => setTimeout(r, 100));
        metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => "");
      }
      expect({ metrics: metrics.split("\n").filter((l) => l.startsWith("pg_up")), log }).toEqual({ metrics: ["pg_up 1"], log: expect.any(String) });
      // Label sets differ between exporter versions (0.11 adds `server`); the rule aggregates them away.
      expect(metrics).toMatch(/^pg_settings_max_connections(\{[^}]*\})? 20$/m);
      const activity = metrics.split("\n").filter((l) => l.startsWith("pg_stat_activity_count{"));
      expect(activity.some((l) => l.includes('datname="postgres"') && l.includes('state="idle"') && Number(l.split(" ").pop()) >= 1)).toBe(true);
    } finally {
      exporter.kill("SIGTERM");
      await new Promise((r) => exporter.once("exit", r));
      // Its server process ends a moment later; the next test counts the role's connections.
      for (let i = 0; i < 50; i++) {
        const rows = await cluster.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1", [MONITORING_ROLE]);
        if (Number(rows[0].n) <= monitors.length) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });

  test(`the role is capped at ${MONITORING_ROLE_CONNECTION_LIMIT} connections`, async () => {
    while (monitors.length < MONITORING_ROLE_CONNECTION_LIMIT) await monitor();
    await expect(monitor()).rejects.toThrow(/too many connections for role/);
  });

  test("connections counted by the role at 85% of max_connections make PostgresConnectionsHigh fire", async () => {
    const c = monitors[0];
    const maxConnections = Number((await c.query("SELECT setting FROM pg_settings WHERE name = 'max_connections'")).rows[0].setting);
    expect(maxConnections).toBe(20);
    const target = Math.ceil(maxConnections * 0.85);
    const count = async () => Number((await c.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname IS NOT NULL")).rows[0].n);
    while ((await count()) < target) clients.push(await cluster.client());
    const connections = await count();
    expect(connections).toBe(target);

    // The same two series postgres-exporter exports, with the values just read, through the real rules.
    const mplan = monitoringPlan("growth");
    const files = writeFiles(mplan);
    const testFile = path.join(files.dir, "live.test.yml");
    fs.writeFileSync(testFile, stringify({
      rule_files: ["rules/advwell.yml"],
      evaluation_interval: "1m",
      tests: [{
        interval: "1m",
        input_series: [
          { series: 'pg_stat_activity_count{datname="postgres",state="idle"}', values: `${connections}x20` },
          { series: "pg_settings_max_connections", values: `${maxConnections}x20` },
        ],
        alert_rule_test: [{
          eval_time: "10m",
          alertname: "PostgresConnectionsHigh",
          exp_alerts: [{
            exp_labels: { severity: "warning" },
            exp_annotations: { summary: `PostgreSQL uses 85% of max_connections (plan: ${mplan.postgresMaxConnections})`, runbook: alertRuleGroups(mplan).flatMap((g) => g.rules).find((x) => x.alert === "PostgresConnectionsHigh")!.annotations.runbook },
          }],
        }],
      }],
    }, { lineWidth: 0 }));
    const r = promtool(["test", "rules", testFile]);
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });
});

describe("amtool check-config accepts the rendered Alertmanager config", () => {
  test.each([
    ["Slack", "https://hooks.slack.com/services/T0/B0/xyz", "slack_configs"],
    ["Discord", "https://discord.com/api/webhooks/1/abc", "discord_configs"],
    ["generic webhook", "https://alerts.example.com/in", "webhook_configs"],
    ["no webhook", "", "receivers"],
  ])("%s", (_kind, url, field) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-am-"));
    dirs.push(dir);
    const file = path.join(dir, "alertmanager.yml");
    const text = renderAlertmanagerConfig(url);
    expect(text).toContain(field);
    fs.writeFileSync(file, text);
    const r = spawnSync(AMTOOL, ["check-config", file], { encoding: "utf8", timeout: 30_000 });
    expect(`${r.stdout}${r.stderr}`).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  test("and refuses a broken one (the check is real)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-am-"));
    dirs.push(dir);
    const file = path.join(dir, "alertmanager.yml");
    fs.writeFileSync(file, renderAlertmanagerConfig("https://hooks.slack.com/services/T0/B0/xyz").replace("receiver: advwell", "receiver: nobody"));
    const r = spawnSync(AMTOOL, ["check-config", file], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain("nobody");
  });
});
