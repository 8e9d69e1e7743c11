/**
 * The Monitoring component under Pulumi mocks: which resources it creates, from which rendered
 * files, and that no credential reaches a resource input outside a secret.
 * Mocks are set before the component is loaded (see /work/shared/PULUMI-MOCKS.md).
 */
import * as pulumi from "@pulumi/pulumi";
import { contentName } from "../../components/swarm";
import { MonitoringPlan, Plan, PROJECT, renderAlertRules, renderPrometheusConfig, SERVICE_TABLE, ServiceName } from "../../model";
import { planFor } from "../support/stacks";
import { configText } from "../support/component";

const MONITORING_SERVICE_NAMES = (Object.keys(SERVICE_TABLE) as ServiceName[]).filter((n) => SERVICE_TABLE[n].group === "monitoring");

/** The mock monitor's marker for a secret value (pulumi/sdk/nodejs/runtime/rpc.ts). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

interface Created {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const created: Created[] = [];
const options = new Map<string, pulumi.ResourceOptions>();

pulumi.runtime.setMocks(
  {
    newResource(args) {
      created.push({ type: args.type, name: args.name, inputs: args.inputs });
      const state: Record<string, unknown> = { ...args.inputs };
      // Plain, not secret-wrapped: the component must make these secret itself.
      if (args.type === "random:index/randomPassword:RandomPassword") state.result = `mock-pw-${args.name}`;
      if (args.type === "random:index/randomId:RandomId") state.hex = `hex${created.length}`;
      return { id: `${args.name}-id`, state };
    },
    call(args) {
      return args.inputs;
    },
  },
  PROJECT,
  "production",
  false,
);

// Loaded only now, after setMocks.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { Monitoring } = require("../../components/monitoring") as typeof import("../../components/monitoring");

const WEBHOOK = "https://hooks.slack.com/services/T0000/B0000/mock-webhook-token";
const EXPORTER_PASSWORD = "mock-exporter-role-password";

/** The production plan with a Slack webhook configured. */
function plans(): { plan: Plan; mplan: MonitoringPlan } {
  const plan = planFor("production", [`${PROJECT}:alertWebhookUrl=${WEBHOOK}`], [`${PROJECT}:alertWebhookUrl`]);
  return { plan, mplan: plan.monitoring! };
}

const promiseOf = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply(resolve));

/** Walks a mock input; calls `visit` on every string that is not inside a secret wrapper. */
function plainStrings(value: unknown, visit: (s: string, path: string) => void, path = ""): void {
  if (typeof value === "string") return visit(value, path);
  if (Array.isArray(value)) return value.forEach((v, i) => plainStrings(v, visit, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    if (SECRET_SIG in value) return; // a secret: the engine encrypts it in state
    for (const [k, v] of Object.entries(value)) plainStrings(v, visit, `${path}.${k}`);
  }
}

/** Forms of a credential that count as a leak: the text, and its base64 as Docker's `data` takes it. */
const forms = (text: string) => [text, Buffer.from(text).toString("base64")];

function leaks(inputs: unknown, credentials: string[]): string[] {
  const found: string[] = [];
  plainStrings(inputs, (s, path) => {
    for (const c of credentials.flatMap(forms)) if (s.includes(c)) found.push(`${path} contains ${c}`);
  });
  return found;
}

function unwrap(value: unknown): unknown {
  return value !== null && typeof value === "object" && SECRET_SIG in value ? (value as unknown as { value: unknown }).value : value;
}

const byType = (type: string) => created.filter((c) => c.type === type);
const one = (type: string, name: string) => {
  const found = created.find((c) => c.type === type && c.name === name);
  if (!found) throw new Error(`no ${type} named ${name}; created: ${created.map((c) => `${c.type} ${c.name}`).join(", ")}`);
  return found;
};
type TaskSpec = {
  containerSpec: {
    env?: Record<string, string>;
    args?: string[];
    labels?: unknown[];
    configs?: { configId: string; fileName: string }[];
    secrets?: { secretId: string; fileName: string }[];
    mounts?: { type: string; source: string; target: string }[];
  };
  resources: { reservation: { nanoCpus: number; memoryBytes: number } };
};
const taskSpec = (svc: string) => unwrap(one("docker:index/service:Service", `mon-${svc}`).inputs.taskSpec) as TaskSpec;

let mplan: MonitoringPlan;
let component: InstanceType<typeof Monitoring>;

beforeAll(async () => {
  const { plan } = plans();
  mplan = plan.monitoring!;
  component = new Monitoring(
    "mon",
    {
      monitoring: mplan,
      services: plan.services,
      networks: {
        edge: { id: "edge-net-id", name: "advwell-edge", plan: "edge" },
        monitoring: { id: "monitoring-net-id", name: "advwell-monitoring", plan: "monitoring" },
        data: { id: "data-net-id", name: "advwell-data-encrypted", plan: "data" },
      },
      rateLimit: { average: 100, burst: 200 },
      dashboardHost: "traefik.advwell.pro",
      database: { host: "postgres", port: 5432, database: "advtom" },
      monitoringRolePassword: EXPORTER_PASSWORD,
      alertWebhookUrl: WEBHOOK,
    },
    {
      transformations: [
        (args) => {
          options.set(`${args.type} ${args.name}`, args.opts);
          return undefined;
        },
      ],
    },
  );
  await Promise.all([
    ...Object.values(component.services).map((s) => promiseOf(s.id)),
    promiseOf(component.prometheusData.id),
    promiseOf(component.grafanaAdminPassword),
  ]);
});

test("one Swarm service per monitoring service, named for Swarm DNS; the exporters run globally", () => {
  const services = byType("docker:index/service:Service");
  expect(services.map((s) => s.inputs.name).sort()).toEqual([...MONITORING_SERVICE_NAMES].sort());
  for (const name of ["node-exporter", "cadvisor"]) expect(one("docker:index/service:Service", `mon-${name}`).inputs.mode).toEqual({ global: true });
  for (const name of ["prometheus", "grafana", "alertmanager", "postgres-exporter"]) {
    expect(one("docker:index/service:Service", `mon-${name}`).inputs.mode).toEqual({ replicated: { replicas: 1 } });
  }
});

test("Prometheus mounts the rendered config and rules as Swarm configs named by content hash", () => {
  const configs = byType("docker:index/serviceConfig:ServiceConfig");
  const yml = one("docker:index/serviceConfig:ServiceConfig", "mon-prometheus-yml");
  const rules = one("docker:index/serviceConfig:ServiceConfig", "mon-prometheus-rules");
  expect(configText(yml.inputs)).toBe(renderPrometheusConfig(mplan));
  expect(configText(rules.inputs)).toBe(renderAlertRules(mplan));
  expect(yml.inputs.name).toBe(contentName("mon-prometheus-yml", renderPrometheusConfig(mplan)));
  expect(rules.inputs.name).not.toBe(contentName("mon-prometheus-rules", `${renderAlertRules(mplan)}# changed\n`));
  expect(configs.map((c) => c.name).sort()).toEqual(["mon-grafana-dashboards", "mon-grafana-datasource", "mon-grafana-overview", "mon-prometheus-rules", "mon-prometheus-yml"]);
  expect(taskSpec("prometheus").containerSpec.configs).toEqual([
    expect.objectContaining({ configId: "mon-prometheus-yml-id", fileName: "/etc/prometheus/prometheus.yml" }),
    expect.objectContaining({ configId: "mon-prometheus-rules-id", fileName: "/etc/prometheus/rules/advwell.yml" }),
  ]);
  expect(taskSpec("prometheus").containerSpec.args).toEqual(expect.arrayContaining(["--storage.tsdb.retention.time=15d", "--storage.tsdb.retention.size=10240MB"]));
});

test("the Prometheus data volume is protected and survives a destroy", () => {
  const volume = options.get("docker:index/volume:Volume mon-prometheus-data");
  expect(volume).toMatchObject({ protect: true, retainOnDelete: true });
  expect(options.get("docker:index/volume:Volume mon-grafana-data")?.protect).toBeFalsy();
  expect(taskSpec("prometheus").containerSpec.mounts).toEqual([{ type: "volume", source: "advwell-prometheus-data", target: "/prometheus" }]);
});

test("no credential appears in plain text in any resource input", () => {
  const credentials = ["mock-pw-", WEBHOOK, "mock-webhook-token", EXPORTER_PASSWORD];
  const found = created.flatMap((c) => leaks(c.inputs, credentials).map((l) => `${c.type} ${c.name}: ${l}`));
  expect(found).toEqual([]);
  // The scan itself finds a leak when there is one.
  expect(leaks({ env: { GF_SECURITY_ADMIN_PASSWORD: "mock-pw-mon-grafana-admin" } }, credentials)).toHaveLength(1);
  expect(leaks({ data: Buffer.from(`url: ${WEBHOOK}`).toString("base64") }, [`url: ${WEBHOOK}`])).toHaveLength(1);
});

test("the Grafana admin password reaches Grafana only as a Swarm secret file, and the output is secret", async () => {
  const secret = one("docker:index/secret:Secret", "mon-grafana-admin");
  const data = secret.inputs.data as Record<string, unknown>;
  expect(data[SECRET_SIG]).toBeDefined();
  expect(Buffer.from(unwrap(data) as string, "base64").toString()).toBe("mock-pw-mon-grafana-admin");
  const spec = taskSpec("grafana");
  expect(spec.containerSpec.env).toMatchObject({ GF_SECURITY_ADMIN_PASSWORD__FILE: "/run/secrets/grafana_admin_password", GF_AUTH_ANONYMOUS_ENABLED: "false", GF_USERS_ALLOW_SIGN_UP: "false" });
  expect(spec.containerSpec.env).not.toHaveProperty("GF_SECURITY_ADMIN_PASSWORD");
  expect(spec.containerSpec.secrets).toEqual([expect.objectContaining({ secretId: "mon-grafana-admin-id", fileName: "/run/secrets/grafana_admin_password" })]);
  expect(await pulumi.isSecret(component.grafanaAdminPassword)).toBe(true);
});

test("the Alertmanager config carries the webhook, so it is a Swarm secret, not a config", () => {
  expect(byType("docker:index/serviceConfig:ServiceConfig").map((c) => c.name)).not.toContain("mon-alertmanager-yml");
  const secret = one("docker:index/secret:Secret", "mon-alertmanager-yml");
  const text = Buffer.from(unwrap(secret.inputs.data) as string, "base64").toString();
  expect(text).toContain("slack_configs");
  expect(text).toContain(WEBHOOK);
  expect(taskSpec("alertmanager").containerSpec.args).toContain("--config.file=/run/secrets/alertmanager.yml");
  // No fixed Docker name: Pulumi auto-names it, so a changed webhook creates a new secret beside
  // the one in use instead of colliding with it.
  expect(secret.inputs.name).toBeUndefined();
});

test("postgres-exporter logs in as the read-only role with its password from a secret file", () => {
  const spec = taskSpec("postgres-exporter");
  expect(spec.containerSpec.env).toEqual({
    DATA_SOURCE_URI: "postgres:5432/advtom?sslmode=disable",
    DATA_SOURCE_USER: "advwell_monitor",
    DATA_SOURCE_PASS_FILE: "/run/secrets/postgres_exporter_password",
  });
  const secret = one("docker:index/secret:Secret", "mon-postgres-exporter-password");
  expect(Buffer.from(unwrap(secret.inputs.data) as string, "base64").toString()).toBe(EXPORTER_PASSWORD);
});

test("Grafana is routed by Traefik on its own host with TLS, through service labels", () => {
  const grafana = one("docker:index/service:Service", "mon-grafana");
  const labels = Object.fromEntries((grafana.inputs.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));
  expect(labels).toMatchObject({
    "traefik.enable": "true",
    "traefik.swarm.network": "advwell-monitoring",
    "traefik.http.routers.grafana.rule": "Host(`grafana.advwell.pro`)",
    "traefik.http.routers.grafana.entrypoints": "websecure",
    "traefik.http.routers.grafana.tls.certresolver": "letsencrypt",
    "traefik.http.services.grafana.loadbalancer.server.port": "3000",
    "traefik.http.routers.grafana.middlewares": "grafana-ratelimit,retry@file,security-headers@file",
  });
  expect(taskSpec("grafana").containerSpec.labels).toBeUndefined();
  // Nothing else is exposed through Traefik but the two UIs behind the dashboard's password (below).
  for (const name of MONITORING_SERVICE_NAMES.filter((n) => !["grafana", "prometheus", "alertmanager"].includes(n))) {
    const others = one("docker:index/service:Service", `mon-${name}`).inputs.labels as { label: string }[];
    expect(others.map((l) => l.label).filter((l) => l.startsWith("traefik."))).toEqual([]);
  }
});

test("reservations come from the plan: Prometheus reserves 0.1 CPU and 256 MiB", () => {
  expect(taskSpec("prometheus").resources.reservation).toEqual({ nanoCpus: 100_000_000, memoryBytes: 256 * 1024 * 1024 });
  expect(taskSpec("cadvisor").resources.reservation).toEqual({ nanoCpus: 50_000_000, memoryBytes: 96 * 1024 * 1024 });
});

test("node-exporter reads the backup's textfile volume", () => {
  expect(taskSpec("node-exporter").containerSpec.mounts).toContainEqual(expect.objectContaining({ type: "volume", source: "advwell-node-textfile", target: "/var/lib/node-exporter/textfile" }));
  expect(taskSpec("node-exporter").containerSpec.args).toContain("--collector.textfile.directory=/var/lib/node-exporter/textfile");
});

test("every monitoring service is on the monitoring network, none on edge; only postgres-exporter also joins the internal SQL network", () => {
  for (const name of MONITORING_SERVICE_NAMES) {
    const networks = (taskSpec(name) as unknown as { networksAdvanceds: { id: string }[] }).networksAdvanceds.map((n) => n.id);
    expect(networks).toEqual(name === "postgres-exporter" ? ["monitoring-net-id", "data-net-id"] : ["monitoring-net-id"]);
  }
});

test("Prometheus' and Alertmanager's UIs are reachable only under the dashboard's host, behind its rate limit and password, their links carrying the path", () => {
  const labelsOf = (svc: string) => Object.fromEntries((unwrap(one("docker:index/service:Service", `mon-${svc}`).inputs.labels) as { label: string; value: string }[]).map((l) => [l.label, l.value]));
  for (const [svc, path] of [["prometheus", "/prometheus"], ["alertmanager", "/alertmanager"]] as const) {
    const labels = labelsOf(svc);
    expect(labels[`traefik.http.routers.${svc}.rule`]).toBe(`Host(\`traefik.advwell.pro\`) && PathPrefix(\`${path}\`)`);
    expect(labels[`traefik.http.routers.${svc}.middlewares`].split(",").slice(0, 2)).toEqual(["dashboard-ratelimit", "dashboard-auth"]);
    expect(taskSpec(svc).containerSpec.args).toEqual(expect.arrayContaining([`--web.external-url=https://traefik.advwell.pro${path}/`, "--web.route-prefix=/"]));
  }
});

test.each([
  ["grafana", "/run/secrets/grafana_admin_password", "472", "0"],
  ["alertmanager", "/run/secrets/alertmanager.yml", "65534", "65534"],
  ["postgres-exporter", "/run/secrets/postgres_exporter_password", "65534", "65534"],
])("%s's secret file is 0400, owned by the image's user", (name, fileName, uid, gid) => {
  expect(taskSpec(name).containerSpec.secrets).toEqual([expect.objectContaining({ fileName, fileUid: uid, fileGid: gid, fileMode: 0o400 })]);
});

test("cAdvisor binds only /sys, the layer metadata, /proc and the Docker socket, all read-only; never /, /var/run or all of /var/lib/docker", () => {
  const mounts = taskSpec("cadvisor").containerSpec.mounts as { type: string; source: string; target: string; readOnly?: boolean }[];
  expect(mounts.map((m) => [m.source, m.target])).toEqual([
    ["/sys", "/sys"],
    ["/var/lib/docker/image", "/rootfs/var/lib/docker/image"],
    ["/proc", "/rootfs/proc"],
    ["/var/run/docker.sock", "/var/run/docker.sock"],
  ]);
  for (const m of mounts) expect(m).toMatchObject({ type: "bind", readOnly: true });
  expect(taskSpec("cadvisor").containerSpec.args).toContain("--disable_metrics=disk,diskIO");
});
