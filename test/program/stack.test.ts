import { cpusToNanoCpus, ENTRYPOINTS, CERT_RESOLVER, mibToBytes, Plan, TIER_NAMES, TierName } from "../../model";
import { isSecretWrapper } from "../../scripts/lib/mockProgram";
import { parse as parseYaml } from "yaml";
import { renderDynamicConfig } from "../../model/render/traefik";
import { CONTAINER_FILES } from "../../components/containerFiles";

const SECRETS_ENV_PRELOAD_PATH = CONTAINER_FILES.secretsEnv.mountPath;
import { byType, CapturedResource, ProgramRun, runProgram, SECRET_SIG, service } from "../support/program";
import { planFor, seedNodes } from "../support/stacks";

const SERVICE = "docker:index/service:Service";
const VOLUME = "docker:index/volume:Volume";
const ROOMY = seedNodes(3);

const runs = new Map<string, ProgramRun>();
const plans = new Map<string, Plan>();
beforeAll(async () => {
  for (const stack of ["production", "staging", "dev"]) {
    runs.set(stack, await runProgram(stack));
    plans.set(stack, planFor(stack));
  }
  for (const tier of TIER_NAMES) {
    runs.set(tier, await runProgram("production", [`advwell:tier=${tier}`, ROOMY]));
    plans.set(tier, planFor("production", [`advwell:tier=${tier}`, ROOMY]));
  }
}, 60000);

const get = (key: string) => runs.get(key)!;

describe.each(["production", "staging", "dev", ...TIER_NAMES])("%s", (key) => {
  test("registers without error, every Swarm service under a component", () => {
    const run = get(key);
    expect(run.error).toBeUndefined();
    for (const s of byType(run, SERVICE)) expect(s.parent).toBeDefined();
  });

  test("every Swarm config sends its text as standard base64 data, never dataRaw (the built 2022 docker provider refuses dataRaw)", () => {
    const configs = byType(get(key), "docker:index/serviceConfig:ServiceConfig");
    expect(configs.length).toBeGreaterThan(0);
    for (const c of configs) {
      expect({ name: c.inputs.name, dataRaw: c.inputs.dataRaw }).toEqual({ name: c.inputs.name, dataRaw: undefined });
      // base64.StdEncoding in the provider's resourceDockerConfigCreate: a strict round trip.
      expect(Buffer.from(Buffer.from(c.inputs.data, "base64").toString("utf8"), "utf8").toString("base64")).toBe(c.inputs.data);
    }
  });
  test("each service's replicas, limits (bytes, nanoCPUs) and reservations are the plan's", () => {
    const run = get(key);
    const plan = plans.get(key)!;
    for (const name of ["postgres", "backend", "frontend", "traefik", "pgbouncer"] as const) {
      const p = plan.services[name];
      if (!p) {
        expect(byType(run, SERVICE).some((s) => s.inputs.name === name)).toBe(false);
        continue;
      }
      const s = service(run, name).inputs;
      expect(s.mode.replicated.replicas).toBe(p.replicas);
      expect(s.taskSpec.resources).toEqual({
        limits: { nanoCpus: cpusToNanoCpus(p.cpuLimit), memoryBytes: mibToBytes(p.memoryLimitMiB) },
        reservation: { nanoCpus: cpusToNanoCpus(p.cpuReservation), memoryBytes: mibToBytes(p.memoryReservationMiB) },
      });
      expect(s.updateConfig).toMatchObject({ parallelism: p.update.parallelism, order: p.update.order, failureAction: "rollback", delay: `${p.update.delaySeconds}s`, monitor: `${p.update.monitorSeconds}s` });
      expect(s.rollbackConfig).toMatchObject({ parallelism: p.rollback.parallelism, delay: `${p.rollback.delaySeconds}s` });
      expect(s.taskSpec.restartPolicy.condition).toBe(p.restart.condition);
      expect(s.taskSpec.placement.constraints).toEqual(p.placement.constraints);
      expect(s.taskSpec.containerSpec.healthcheck).toMatchObject({ interval: `${p.health.intervalSeconds}s`, retries: p.health.retries });
    }
  });

  test("Postgres gets exactly the plan's settings as -c flags, its password through a *_FILE secret; the reconciler gets the role passwords", () => {
    const plan = plans.get(key)!;
    const pg = service(get(key), "postgres").inputs.taskSpec.containerSpec;
    const flags = Object.fromEntries(
      pg.args.filter((_: string, i: number) => i % 2 === 1).map((kv: string) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
    expect(flags).toEqual(plan.postgres.settings);
    expect(pg.env.POSTGRES_PASSWORD_FILE).toBe("/run/secrets/postgres-superuser-password");
    expect(Object.keys(pg.env).some((k) => k === "POSTGRES_PASSWORD")).toBe(false);
    // The database mounts only the superuser's password; the app role's is the reconciler's.
    expect(pg.secrets.map((s: { fileName: string }) => s.fileName)).toEqual(["postgres-superuser-password"]);
    const reconcile = service(get(key), "postgres-reconcile").inputs.taskSpec.containerSpec;
    expect(reconcile.secrets.map((s: { fileName: string }) => s.fileName)).toEqual(expect.arrayContaining(["postgres-app-password", "postgres-superuser-password"]));
    expect(reconcile.env.APP_DB_PASSWORD_FILE).toBe("/run/secrets/postgres-app-password");
    // Readiness from postmaster.pid: no connection, so nothing in the server's log every 2 s.
    expect(pg.healthcheck.tests.join(" ")).toContain("postmaster.pid");
  });

  test("the backend's DATABASE_URL carries the plan's Prisma pool and goes through PgBouncer exactly when the tier pools", () => {
    const plan = plans.get(key)!;
    const run = get(key);
    const secretText = (name: string) => {
      const s = byType(run, "docker:index/secret:Secret").find((r) => r.name === name)!;
      expect(isSecretWrapper(s.rawInputs.data)).toBe(true);
      return Buffer.from(s.inputs.data, "base64").toString("utf8");
    };
    const url = new URL(secretText("advwell-database-url"));
    expect(url.searchParams.get("connection_limit")).toBe(String(plan.backend.connectionLimit));
    expect(url.searchParams.get("pool_timeout")).toBe(String(plan.backend.poolTimeoutSeconds));
    expect(url.hostname).toBe(plan.pgbouncer ? "pgbouncer" : "postgres");
    expect(url.searchParams.get("pgbouncer")).toBe(plan.pgbouncer ? "true" : null);
    expect(url.username).toBe("advwell");
    const direct = new URL(secretText("advwell-direct-database-url"));
    expect([direct.hostname, direct.port]).toEqual(["postgres", "5432"]);
    const backend = service(run, "backend");
    const spec = backend.inputs.taskSpec.containerSpec;
    expect(spec.env.NODE_OPTIONS).toBe(`--max-old-space-size=${plan.backend.nodeHeapMiB} --require ${SECRETS_ENV_PRELOAD_PATH}`);
    expect(spec.env).toMatchObject({ DATABASE_URL_FILE: "/run/secrets/database-url", DIRECT_DATABASE_URL_FILE: "/run/secrets/direct-database-url" });
    expect(spec.env.DATABASE_URL).toBeUndefined();
    const replicaUrl = plan.postgres.readReplicas > 0 ? ["database-replica-url"] : [];
    expect(spec.secrets.map((x: { fileName: string }) => x.fileName).sort()).toEqual(["database-url", ...replicaUrl, "direct-database-url"].sort());
    expect(spec.env.DATABASE_REPLICA_URL_FILE !== undefined).toBe(plan.postgres.readReplicas > 0);
    if (plan.postgres.readReplicas > 0) expect(new URL(secretText("advwell-database-replica-url")).hostname).toBe("postgres-replica");
    expect(spec.configs.map((x: { fileName: string }) => x.fileName)).toEqual([SECRETS_ENV_PRELOAD_PATH]);
    // Nothing in the backend's spec is secret, so previews and diffs show every change to it.
    expect(isSecretWrapper(backend.rawInputs.taskSpec)).toBe(false);
  });

  test("no generated secret appears in plain text in any resource input or stack output", () => {
    const run = get(key);
    expect(run.generatedSecrets.length).toBeGreaterThan(0);
    const leaks: string[] = [];
    const scan = (value: any, where: string, insideSecret: boolean) => {
      if (typeof value === "string") {
        if (!insideSecret && run.generatedSecrets.some((s) => value.includes(s) || value.includes(Buffer.from(s).toString("base64")))) leaks.push(where);
      } else if (Array.isArray(value)) value.forEach((v, i) => scan(v, `${where}[${i}]`, insideSecret));
      else if (value && typeof value === "object") {
        const secret = value[SECRET_SIG] !== undefined;
        for (const [k, v] of Object.entries(value)) scan(v, `${where}.${k}`, insideSecret || secret);
      }
    };
    for (const r of run.resources) scan(r.rawInputs, `${r.type} ${r.name}`, false);
    for (const [name, o] of Object.entries(run.outputs)) scan(o.value, `output ${name}`, o.secret);
    expect(leaks).toEqual([]);
  });

  test("credential outputs are secret", () => {
    const run = get(key);
    expect(run.outputs.databaseUrl.secret).toBe(true);
    expect(run.outputs.dashboardPassword.secret).toBe(true);
  });
});

describe("production reproduces the seed", () => {
  const s = (name: string) => service(get("production"), name).inputs;
  test("3 backend replicas at 1 CPU / 1 GiB limits, 0.5 CPU / 512 MiB reserved", () => {
    expect(s("backend").mode.replicated.replicas).toBe(3);
    expect(s("backend").taskSpec.resources).toEqual({ limits: { nanoCpus: 1000000000, memoryBytes: 1073741824 }, reservation: { nanoCpus: 500000000, memoryBytes: 536870912 } });
  });
  test("2 frontend replicas at 0.5 CPU / 256 MiB", () => {
    expect(s("frontend").mode.replicated.replicas).toBe(2);
    expect(s("frontend").taskSpec.resources.limits).toEqual({ nanoCpus: 500000000, memoryBytes: 268435456 });
  });
  test("Postgres at 2 CPU / 3 GiB limits, 1 CPU / 2 GiB reserved, on-failure x3 with a 5 s delay", () => {
    expect(s("postgres").taskSpec.resources).toEqual({ limits: { nanoCpus: 2e9, memoryBytes: 3 * 1073741824 }, reservation: { nanoCpus: 1e9, memoryBytes: 2 * 1073741824 } });
    expect(s("postgres").taskSpec.restartPolicy).toMatchObject({ condition: "on-failure", maxAttempts: 3, delay: "5s" });
  });
  test("start-first, parallelism 1, 10 s delay for the web services; Postgres stop-first", () => {
    expect(s("backend").updateConfig).toMatchObject({ parallelism: 1, delay: "10s", order: "start-first" });
    expect(s("postgres").updateConfig.order).toBe("stop-first");
  });
  test("Traefik: swarm provider not exposing by default, 80 -> 443, ACME from Let's Encrypt, metrics, the Docker API only through the proxy, host ports, a manager", () => {
    const t = s("traefik");
    const args: string[] = t.taskSpec.containerSpec.args;
    expect(args).toEqual(expect.arrayContaining(["--providers.swarm.exposedByDefault=false", "--entrypoints.web.http.redirections.entrypoint.to=websecure", "--certificatesresolvers.letsencrypt.acme.email=ops@advwell.pro", "--certificatesresolvers.letsencrypt.acme.caserver=https://acme-v02.api.letsencrypt.org/directory", "--accesslog=true", "--metrics.prometheus=true"]));
    expect(args.some((a) => a.startsWith("--api.insecure") || a.includes("caCertificates"))).toBe(false);
    expect(args).toContain("--providers.swarm.endpoint=tcp://docker-socket-proxy:2375");
    // Only the proxy and cAdvisor bind the socket (cAdvisor reads its own node's engine; a proxy on
    // an overlay cannot promise which node answers, so it is not behind one yet: docs/monitoring.md).
    const socketHolders = byType(get("production"), SERVICE).filter((r) => (r.inputs.taskSpec.containerSpec.mounts ?? []).some((m: { source: string }) => m.source === "/var/run/docker.sock")).map((r) => r.inputs.name);
    expect(socketHolders.sort()).toEqual(["cadvisor", "docker-socket-proxy"]);
    expect(t.endpointSpec.ports.map((p: { publishMode: string; publishedPort: number }) => [p.publishedPort, p.publishMode])).toEqual([[80, "host"], [443, "host"]]);
    expect(t.taskSpec.placement.constraints).toEqual(["node.role==manager"]);
  });
});

describe("Traefik labels", () => {
  const labelsOf = (r: CapturedResource) => Object.fromEntries((r.inputs.labels ?? []).map((l: { label: string; value: string }) => [l.label, l.value]));
  test.each(["production", ...TIER_NAMES])("%s: every router names a service, an entrypoint and a resolver that exist; every service names a port", (key) => {
    const run = get(key);
    const all = byType(run, SERVICE).map(labelsOf);
    const services = new Set<string>(["api@internal"]);
    for (const labels of all) for (const k of Object.keys(labels)) { const m = /^traefik\.http\.services\.([^.]+)\./.exec(k); if (m) services.add(m[1]); }
    let routers = 0;
    for (const labels of all) {
      for (const k of Object.keys(labels)) {
        const m = /^traefik\.http\.routers\.([^.]+)\.rule$/.exec(k);
        if (!m) continue;
        routers++;
        const r = `traefik.http.routers.${m[1]}`;
        expect(services.has(labels[`${r}.service`])).toBe(true);
        expect(Object.keys(ENTRYPOINTS)).toContain(labels[`${r}.entrypoints`]);
        expect(labels[`${r}.tls.certresolver`]).toBe(CERT_RESOLVER);
        for (const mw of (labels[`${r}.middlewares`] ?? "").split(",").filter(Boolean)) {
          // `<name>@file`: declared in Traefik's dynamic file; any other: on the Swarm labels.
          // Otherwise on any service's labels: the Swarm provider's middlewares are shared by its routers.
          if (mw.endsWith("@file")) expect(parseYaml(renderDynamicConfig()).http.middlewares[mw.replace("@file", "")]).toBeDefined();
          else expect(all.some((other) => Object.keys(other).some((l) => l.startsWith(`traefik.http.middlewares.${mw}.`)))).toBe(true);
        }
        // Every public router sends HSTS and the other security headers.
        expect(labels[`${r}.middlewares`].split(",")).toContain("security-headers@file");
      }
      for (const k of Object.keys(labels)) {
        const m = /^traefik\.http\.services\.([^.]+)\./.exec(k);
        if (m) expect(labels[`traefik.http.services.${m[1]}.loadbalancer.server.port`]).toMatch(/^\d+$/);
      }
    }
    // api, app, Traefik's dashboard, and Grafana, Prometheus' and Alertmanager's UIs when monitoring runs.
    expect(routers).toBe(plans.get(key)!.monitoring ? 6 : 3);
  });
  test("backend: Host rule on the API domain, /health every 2s (the container check's interval), per-IP rate limit", () => {
    const labels = labelsOf(service(get("production"), "backend"));
    expect(labels).toMatchObject({
      "traefik.enable": "true",
      "traefik.http.routers.backend.rule": "Host(`api.advwell.pro`)",
      "traefik.http.services.backend.loadbalancer.server.port": "3000",
      "traefik.http.services.backend.loadbalancer.healthcheck.path": "/health",
      "traefik.http.services.backend.loadbalancer.healthcheck.interval": `${plans.get("production")!.services.backend!.health.intervalSeconds}s`,
      "traefik.http.middlewares.backend-ratelimit.ratelimit.average": "100",
    });
  });
  test("the dashboard sits behind basic auth from a Swarm secret", () => {
    const t = service(get("production"), "traefik");
    expect(labelsOf(t)["traefik.http.routers.dashboard.middlewares"]).toBe("dashboard-ratelimit,dashboard-auth,security-headers@file");
    expect(t.inputs.taskSpec.containerSpec.secrets[0].fileName).toBe("traefik-dashboard-users");
  });
});

describe("stateful data survives tier changes and image updates", () => {
  const volume = (run: ProgramRun) => byType(run, VOLUME).find((v) => v.name === "postgres-data")!;
  test("the database volume is protected and retained on delete", () => {
    expect(volume(get("production"))).toMatchObject({ protect: true, retainOnDelete: true });
  });
  test.each(TIER_NAMES as TierName[])("switching to %s changes no input of the volume and no data path", (tier) => {
    expect(volume(get(tier)).inputs).toEqual(volume(get("production")).inputs);
    const mount = (run: ProgramRun) => service(run, "postgres").inputs.taskSpec.containerSpec.mounts.find((m: { type: string }) => m.type === "volume");
    expect(mount(get(tier))).toEqual(mount(get("production")));
    expect(service(get(tier), "postgres").inputs.taskSpec.containerSpec.env.PGDATA).toBe(service(get("production"), "postgres").inputs.taskSpec.containerSpec.env.PGDATA);
  });
  test("the backup bucket is protected and retained in production, and no tier changes its inputs", () => {
    const bucket = (run: ProgramRun) => byType(run, "aws:s3/bucket:Bucket");
    expect(bucket(get("production"))).toHaveLength(1);
    expect(bucket(get("production"))[0]).toMatchObject({ protect: true, retainOnDelete: true });
    for (const tier of TIER_NAMES) expect(bucket(get(tier))[0].inputs).toEqual(bucket(get("production"))[0].inputs);
    expect(bucket(get("staging"))[0].protect).toBe(false);
    expect(bucket(get("dev"))).toEqual([]);
  });
  test("a new backend image changes no input of the volume", async () => {
    const updated = await runProgram("production", ["advwell:backendImage=tomautomations/advwell-backend:v53-new-feature"]);
    expect(service(updated, "backend").inputs.taskSpec.containerSpec.image).toBe("tomautomations/advwell-backend:v53-new-feature");
    expect(volume(updated).inputs).toEqual(volume(get("production")).inputs);
  });
});

describe("bad config", () => {
  test("refuses before any resource exists, naming the key", async () => {
    const run = await runProgram("production", ["advwell:tier=scale"]);
    expect(run.error?.message).toContain("advwell:nodes");
    expect(run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
  });
});
