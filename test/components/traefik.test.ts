/** The Traefik component alone under mocks: host ports, the Docker API proxy, kept certificates, TLS options, the dashboard secret. */
import type { Traefik as TraefikType } from "../../components/traefik";
import { buildComponent, ComponentRun, configText, plaintextHits } from "../support/component";
import { planFor } from "../support/stacks";

const plan = planFor("production").services.traefik!;
const USERS = "admin:$2y$10$test-bcrypt-hash";
const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const DOCKER_API = { id: "docker-api-id", name: "advwell-docker-api" };
let run: ComponentRun<TraefikType>;

beforeAll(async () => {
  run = await buildComponent((pulumi) => {
    const { Traefik } = require("../../components/traefik") as typeof import("../../components/traefik");
    const edge = { hosts: { api: "api.example.test", app: "app.example.test", dashboard: "traefik.example.test" }, certResolver: "letsencrypt", acmeEmail: "ops@example.test", acmeServer: "https://acme.example.test/dir", acmeCaCertificate: CA, dockerEndpoint: "tcp://docker-socket-proxy:2375" };
    return new Traefik("traefik", { plan, edge, network: { id: "edge-id", name: "advwell-edge" }, alsoOn: [DOCKER_API], dashboardUsers: pulumi.secret(USERS) });
  });
});

const service = () => run.one("docker:index/service:Service").inputs;

test("ports 80 and 443 are published in host mode, so the rate limit sees client addresses", () => {
  expect(service().endpointSpec).toEqual({
    mode: plan.endpointMode,
    ports: [
      { targetPort: 80, publishedPort: 80, protocol: "tcp", publishMode: "host", name: "web" },
      { targetPort: 443, publishedPort: 443, protocol: "tcp", publishMode: "host", name: "websecure" },
    ],
  });
});

test("it runs on a manager, mounts no Docker socket (the API comes through the proxy's network) and keeps certificates on a retained volume", () => {
  const container = service().taskSpec.containerSpec;
  expect(service().taskSpec.placement.constraints).toEqual(["node.role==manager"]);
  expect(container.mounts).toEqual([{ type: "volume", source: "advwell-traefik-certificates", target: "/letsencrypt" }]);
  expect(service().taskSpec.networksAdvanceds).toEqual([{ id: "edge-id" }, { id: "docker-api-id" }]);
  expect(run.one("docker:index/volume:Volume")).toMatchObject({ retainOnDelete: true });
  expect(container.args).toEqual(
    expect.arrayContaining([
      "--providers.swarm.endpoint=tcp://docker-socket-proxy:2375",
      "--providers.swarm.exposedByDefault=false",
      "--providers.swarm.network=advwell-edge",
      "--certificatesresolvers.letsencrypt.acme.email=ops@example.test",
      "--certificatesresolvers.letsencrypt.acme.caserver=https://acme.example.test/dir",
      "--certificatesresolvers.letsencrypt.acme.caCertificates=/etc/traefik/acme-ca.pem",
    ]),
  );
  expect(container.args).not.toContain("--api.insecure=true");
});

test("the dynamic file (TLS 1.2 minimum, security headers, retry) and the ACME server's CA are configs mounted where the flags point", () => {
  const configs = run.resources.filter((r) => r.type === "docker:index/serviceConfig:ServiceConfig").map((c) => c.inputs);
  const texts = configs.map((c) => configText(c));
  const dynamic = texts.find((t) => t.includes("minVersion"));
  expect(dynamic).toContain("minVersion: VersionTLS12");
  expect(dynamic).toContain("stsSeconds: 31536000");
  expect(texts).toContain(CA);
  expect(service().taskSpec.containerSpec.configs.map((c: { fileName: string }) => c.fileName).sort()).toEqual(["/etc/traefik/acme-ca.pem", "/etc/traefik/dynamic.yml"]);
  expect(service().taskSpec.containerSpec.args).toContain("--providers.file.filename=/etc/traefik/dynamic.yml");
});

test("the dashboard users file is a root-only secret, never plain text, and the dashboard needs it", () => {
  expect(service().taskSpec.containerSpec.secrets).toEqual([expect.objectContaining({ fileName: "traefik-dashboard-users", fileMode: 0o400 })]);
  expect(run.resources.flatMap((r) => plaintextHits(r.rawInputs, [USERS, Buffer.from(USERS).toString("base64")], r.name))).toEqual([]);
  const labels = Object.fromEntries((service().labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));
  // The rate limit comes before the password check, so guessing is throttled too.
  expect(labels["traefik.http.routers.dashboard.middlewares"]).toBe("dashboard-ratelimit,dashboard-auth,security-headers@file");
  expect(run.component.dashboardUrl).toBe("https://traefik.example.test/dashboard/");
});

test("with Traefik's default certificate (development hosts) no ACME resolver exists and no router asks for one", async () => {
  const dev = await buildComponent((pulumi) => {
    const { Traefik } = require("../../components/traefik") as typeof import("../../components/traefik");
    const edge = { hosts: { api: "api.advwell.localhost", app: "app.advwell.localhost", dashboard: "traefik.advwell.localhost" }, dockerEndpoint: "tcp://docker-socket-proxy:2375" };
    return new Traefik("traefik", { plan, edge, network: { id: "edge-id", name: "advwell-edge" }, alsoOn: [DOCKER_API], dashboardUsers: pulumi.secret(USERS) });
  });
  const service = dev.one("docker:index/service:Service").inputs;
  expect(service.taskSpec.containerSpec.args.filter((a: string) => a.includes("certificatesresolvers"))).toEqual([]);
  const labels = Object.fromEntries((service.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));
  expect(labels["traefik.http.routers.dashboard.tls"]).toBe("true");
  expect(labels["traefik.http.routers.dashboard.tls.certresolver"]).toBeUndefined();
});
