/** The WebService component alone under mocks (the backend's plan): Traefik labels, health, mounts, update policy. */
import type { WebService as WebServiceType } from "../../components/webService";
import { nodeHttpProbe } from "../../model";
import { buildComponent, ComponentRun } from "../support/component";
import { planFor } from "../support/stacks";

const plan = planFor("production").services.backend!;
let run: ComponentRun<WebServiceType>;

beforeAll(async () => {
  run = await buildComponent(() => {
    const { WebService } = require("../../components/webService") as typeof import("../../components/webService");
    return new WebService("backend", {
      plan,
      domain: "api.example.test",
      healthPath: "/health",
      healthCommand: nodeHttpProbe(plan.port!, "/health"),
      env: { NODE_ENV: "production" },
      networks: [
        { id: "edge-id", name: "advwell-edge" },
        { id: "data-id", name: "advwell-data" },
      ],
      rateLimit: { average: 10, burst: 20 },
      certResolver: "letsencrypt",
    });
  });
});

const service = () => run.one("docker:index/service:Service").inputs;
const labels = () => Object.fromEntries((service().labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));

test("Traefik routes the host over TLS to the plan's port, on the first network, with a /health check at the container check's interval (2 s)", () => {
  expect(labels()).toMatchObject({
    "traefik.enable": "true",
    "traefik.swarm.network": "advwell-edge",
    "traefik.http.routers.backend.rule": "Host(`api.example.test`)",
    "traefik.http.routers.backend.tls.certresolver": "letsencrypt",
    "traefik.http.services.backend.loadbalancer.server.port": String(plan.port),
    "traefik.http.services.backend.loadbalancer.healthcheck.path": "/health",
    "traefik.http.services.backend.loadbalancer.healthcheck.interval": "2s",
    "traefik.http.middlewares.backend-ratelimit.ratelimit.average": "10",
    "advwell.component": "backend",
  });
  expect(run.component.url).toBe("https://api.example.test");
});

test("replicas, start-first update with rollback, stop grace and the container health check come from the plan", () => {
  expect(service().mode).toEqual({ replicated: { replicas: plan.replicas } });
  expect(service().updateConfig).toMatchObject({ order: "start-first", failureAction: "rollback", parallelism: plan.update.parallelism });
  expect(service().rollbackConfig).toMatchObject({ failureAction: "pause" });
  const container = service().taskSpec.containerSpec;
  expect(container.image).toBe(plan.image);
  expect(container.stopGracePeriod).toBe(`${plan.stopGraceSeconds}s`);
  expect(container.healthcheck).toEqual({ tests: nodeHttpProbe(plan.port!, "/health"), interval: "2s", timeout: "5s", retries: 15, startPeriod: "30s" });
  expect(service().taskSpec.networksAdvanceds).toEqual([{ id: "edge-id" }, { id: "data-id" }]);
});

test("a plan without a port is refused: Traefik could not route to it", async () => {
  const { port: _port, ...withoutPort } = plan;
  await expect(
    buildComponent(() => {
      const { WebService } = require("../../components/webService") as typeof import("../../components/webService");
      return new WebService("nameless", { plan: withoutPort, domain: "x.example.test", healthPath: "/", healthCommand: ["CMD", "true"], networks: [{ id: "e", name: "e" }], rateLimit: { average: 1, burst: 1 } });
    }),
  ).rejects.toThrow(/no port/);
});
