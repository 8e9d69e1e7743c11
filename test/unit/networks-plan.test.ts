/**
 * The network plan (model/networks.ts, model/plan/networks.ts): who joins which overlay, derived
 * from the service table and the monitoring plan's scrape jobs, and how the data network is shaped.
 */
import { SERVICE_TABLE } from "../../model/services";
import { planFor, resolve, seedNodes } from "../support/stacks";

const networksOf = (plan: ReturnType<typeof planFor>) => Object.fromEntries(plan.networks.map((n) => [n.name, n]));

describe.each(["production", "staging", "dev"])("%s", (stack) => {
  const plan = planFor(stack);
  test("edge holds Traefik and the web services only", () => {
    expect(networksOf(plan).edge.services).toEqual(["backend", "frontend", "traefik"]);
  });
  test("data holds the database, its clients and nothing the public reaches but the backend; internal and encrypted", () => {
    const data = networksOf(plan).data;
    expect(data).toMatchObject({ dockerName: "advwell-data-encrypted", internal: true, encrypted: true });
    expect(data.services).not.toContain("frontend");
    expect(data.services).not.toContain("traefik");
    for (const s of data.services) expect(["postgres", "backend", "pgbouncer", "postgres-replica", "postgres-reconcile", "backup", "postgres-exporter"]).toContain(s);
  });
  test("every service the monitoring plan scrapes joins monitoring; Traefik joins it to route to Grafana", () => {
    if (!plan.monitoring) return expect(networksOf(plan).monitoring).toBeUndefined();
    const monitoring = networksOf(plan).monitoring;
    for (const job of plan.monitoring.scrapeJobs) expect(monitoring.services).toContain(job.service);
    expect(monitoring.services).toContain("traefik");
    expect(monitoring.services).toContain("grafana");
  });
  test("each service's networks are its row's, plus monitoring when it is scraped", () => {
    const scraped = new Set(plan.monitoring?.scrapeJobs.map((j) => j.service) ?? []);
    for (const p of Object.values(plan.services)) {
      const extra = p!.networks.filter((n) => !SERVICE_TABLE[p!.name].networks.includes(n));
      expect(extra).toEqual(extra.length ? ["monitoring"] : []);
      if (extra.length) expect(scraped.has(p!.name) || p!.name === "traefik").toBe(true);
    }
  });
});

test("a backend with metrics joins monitoring; without, it stays off it", () => {
  const networks = (sets: string[]) => planFor("production", sets).services.backend!.networks;
  expect(networks([])).toEqual(["edge", "data"]);
  expect(networks(["advwell:backendMetricsPath=/metrics"])).toEqual(["edge", "data", "monitoring"]);
});

test("without monitoring there is no monitoring network, and Traefik is on edge and the Docker API proxy's network alone", () => {
  const plan = planFor("production", ["advwell:monitoringEnabled=false"]);
  expect(plan.networks.map((n) => n.name)).toEqual(["edge", "data", "docker-api"]);
  expect(plan.services.traefik!.networks).toEqual(["edge", "docker-api"]);
});

test("advwell:dataNetworkEncrypted=false: the plain data network under its old name, and a warning when traffic crosses nodes", () => {
  const one = resolve("production", ["advwell:dataNetworkEncrypted=false", seedNodes(1)]);
  expect(networksOf(one.plan!).data).toMatchObject({ dockerName: "advwell-data", internal: true, encrypted: false });
  expect(one.findings.filter((f) => f.key === "advwell:dataNetworkEncrypted")).toEqual([]);
  const two = resolve("production", ["advwell:dataNetworkEncrypted=false", seedNodes(2)]);
  expect(two.findings).toContainEqual(expect.objectContaining({ level: "warning", key: "advwell:dataNetworkEncrypted", message: expect.stringMatching(/crosses the network between the nodes unencrypted/) }));
});

test("secret files are read by the owner the row names, 0400", () => {
  const plan = planFor("production", ["advwell:tier=enterprise", seedNodes(3)]);
  expect(plan.services.postgres!.secretFiles).toMatchObject({ uid: 999, gid: 999, mode: 0o400 });
  expect(plan.services.pgbouncer!.secretFiles).toMatchObject({ uid: 70, gid: 70, mode: 0o400 });
  expect(plan.services.grafana!.secretFiles).toMatchObject({ uid: 472, gid: 0, mode: 0o400 });
  expect(plan.services.frontend!.secretFiles).toBeUndefined();
});
