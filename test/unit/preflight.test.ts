/** The preflight's pure part: inspections of a server turned into what to fix (scripts/lib/preflightFindings.ts), and step 0's import (scripts/lib/importEnv.ts). */
import { applySet, loadStackConfig } from "../../config/stackConfig";
import { resolveStack } from "../../model/plan/resolve";
import { CONFIG_KEYS, isCredentialKey } from "../../model/config/keys";
import { parseSecretEnv } from "../../model/config/appEnv";
import { imageLibc, Inspection, preflightChecks, preflightText } from "../../scripts/lib/preflightFindings";
import { importCommands, LiveService } from "../../scripts/lib/importEnv";

const SECRET = "signing-key-never-printed";
const PASSWORD = "superuser-password-never-printed";

const liveBackend: LiveService = { name: "advtom_backend", image: "tomautomations/advwell-backend:v58", env: ["NODE_ENV=production", "PORT=3000", `DATABASE_URL=postgresql://postgres:${PASSWORD}@postgres:5432/advtom`, "MAIL_HOST=smtp.advwell.pro", `JWT_SECRET=${SECRET}`], volumes: [] };
const liveFrontend: LiveService = { name: "advtom_frontend", image: "tomautomations/advwell-frontend:v71", env: [], volumes: [] };
const livePostgres: LiveService = { name: "advtom_postgres", image: "postgres:15", env: ["POSTGRES_USER=postgres", `POSTGRES_PASSWORD=${PASSWORD}`, "POSTGRES_DB=advtom"], volumes: [{ source: "advtom_postgres_data", target: "/var/lib/postgresql/data" }] };

function resolved(sets: readonly string[]) {
  const { config } = loadStackConfig("production");
  for (const s of sets) applySet(config, s, "advwell");
  // Credentials as `pulumi config set --secret` leaves them (the runbook's import-env lines).
  const r = resolveStack(config, "production", Object.keys(config).filter((k) => isCredentialKey(k)));
  expect(r.findings.filter((f) => f.level === "error")).toEqual([]);
  return { settings: r.settings!, plan: r.plan! };
}

/** The seed's server as the Docker API shows it: the old stack, its Traefik on 80/443, no labels. */
function seedServer(over: Partial<Inspection> = {}): Inspection {
  return {
    swarm: { state: "active", controlAvailable: true },
    nodes: [{ id: "n1", hostname: "vps-1", role: "manager", state: "ready", availability: "active", labels: {}, cpus: 4, memoryMiB: 15990, addresses: ["203.0.113.10"] }],
    services: [
      { ...liveBackend, ports: [] },
      { ...liveFrontend, ports: [] },
      { ...livePostgres, ports: [] },
      { name: "traefik_traefik", image: "traefik:v2.11", env: [], ports: [{ published: 80, mode: "host" }, { published: 443, mode: "host" }], volumes: [{ source: "traefik_letsencrypt", target: "/letsencrypt" }] },
    ],
    disk: { freeMiB: 50_000, totalMiB: 80_000 },
    volume: { name: "advtom_postgres_data", exists: true, sizeMiB: 700, pgVersion: "15", liveImage: "postgres:15", liveLibc: "glibc", login: { ok: true, message: "postgres logs in" }, collations: [{ database: "advtom", provider: "c", collate: "en_US.utf8" }] },
    images: [{ ref: "postgres:15.10-bookworm", status: "pullable" }],
    dns: ["api.advwell.pro", "app.advwell.pro", "traefik.advwell.pro", "grafana.advwell.pro"].map((host) => ({ host, addresses: ["203.0.113.10"] })),
    serverAddresses: ["203.0.113.10"],
    ...over,
  };
}

const failed = (checks: ReturnType<typeof preflightChecks>) => Object.fromEntries(checks.filter((c) => !c.ok).map((c) => [c.name, c]));

describe("preflight findings", () => {
  const before = resolved([]);
  const stackServices = new Set(Object.values(before.plan.services).map((s) => s!.name));
  const options = { replacing: [], from: "advtom", passwordGiven: false };

  test("before the runbook: the labels (with the exact commands), 80/443, the environment and images, the volume to adopt", () => {
    const checks = preflightChecks(seedServer(), before.settings, before.plan, stackServices, options);
    const f = failed(checks);
    expect(Object.keys(f).sort()).toEqual(["advtom_backend environment", "advtom_backend image", "advtom_frontend image", "node labels", "ports 80 and 443", "volume to adopt"].sort());
    expect(f["node labels"].fix).toEqual(["docker node update --label-add advwell.node=vps-1 --label-add advwell.postgres=primary vps-1"]);
    expect(f["ports 80 and 443"].message).toMatch(/traefik_traefik \(80\/host, 443\/host\)/);
    expect(f["ports 80 and 443"].fix).toEqual(["docker service scale traefik_traefik=0"]);
    expect(f["advtom_backend environment"].message).toMatch(/MAIL_HOST, JWT_SECRET/);
    expect(f["advtom_backend image"].message).toMatch(/runs tomautomations\/advwell-backend:v58/);
    expect(f["volume to adopt"].message).toMatch(/advtom_postgres runs PostgreSQL on advtom_postgres_data; the stack would start an empty cluster beside it/);
    const text = preflightText(checks);
    expect(text).toMatch(/preflight: 6 to fix/);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(PASSWORD);
  });

  test("after step 0 (labels applied, import-env's keys set, the old Traefik named as replaced, the password given): nothing to fix", () => {
    const imported = importCommands({ backend: liveBackend, frontend: liveFrontend, postgres: livePostgres }, "takeover-env");
    const secretEnv = imported.files["takeover-env/backendSecretEnv.env"];
    const after = resolved([
      "advwell:backendImage=tomautomations/advwell-backend:v58",
      "advwell:frontendImage=tomautomations/advwell-frontend:v71",
      `advwell:backendEnv=["MAIL_HOST=smtp.advwell.pro"]`,
      `advwell:backendSecretEnv=${secretEnv}`,
      "advwell:adoptPostgresVolume=advtom_postgres_data",
      "advwell:adoptPostgresMajor=15",
      `advwell:postgresSuperuserPassword=${PASSWORD}`,
    ]);
    const server = seedServer({ nodes: [{ ...seedServer().nodes[0], labels: { "advwell.node": "vps-1", "advwell.postgres": "primary" } }] });
    const checks = preflightChecks(server, after.settings, after.plan, stackServices, { replacing: ["traefik_traefik"], from: "advtom", passwordGiven: true });
    expect(failed(checks)).toEqual({});
    expect(preflightText(checks)).toMatch(/preflight: nothing to fix/);
  });

  test("an Alpine (musl) cluster with a libc collation, taken over by a glibc image, is refused; PG_VERSION must be the configured major", () => {
    const after = resolved(["advwell:adoptPostgresVolume=advtom_postgres_data", "advwell:adoptPostgresMajor=15", "advwell:postgresSuperuserPassword=x"]);
    const server = seedServer();
    const musl = preflightChecks({ ...server, volume: { ...server.volume!, liveImage: "postgres:15-alpine", liveLibc: "musl" } }, after.settings, after.plan, stackServices, { ...options, passwordGiven: true });
    expect(failed(musl).collations.message).toMatch(new RegExp(`live cluster runs on musl \\(postgres:15-alpine\\) and advtom collates en_US.utf8 through libc; ${CONFIG_KEYS.postgresImage.default.replace(/\./g, "\\.")} is glibc`));
    const cOnly = preflightChecks({ ...server, volume: { ...server.volume!, liveLibc: "musl", collations: [{ database: "advtom", provider: "c", collate: "C" }] } }, after.settings, after.plan, stackServices, { ...options, passwordGiven: true });
    expect(failed(cOnly).collations).toBeUndefined();
    const v14 = preflightChecks({ ...server, volume: { ...server.volume!, pgVersion: "14" } }, after.settings, after.plan, stackServices, { ...options, passwordGiven: true });
    expect(failed(v14)["volume to adopt"].message).toMatch(/PG_VERSION is 14, advwell:adoptPostgresMajor is 15/);
    expect([imageLibc("postgres:15.10-alpine3.20"), imageLibc("postgres:15.10-bookworm"), imageLibc("registry.example.com:5000/pg:15")]).toEqual(["musl", "glibc", "glibc"]);
  });

  test("a failed login, missing images, a host resolving elsewhere, a small disk, a node short of CPUs: each named", () => {
    const after = resolved(["advwell:adoptPostgresVolume=advtom_postgres_data", "advwell:adoptPostgresMajor=15", "advwell:postgresSuperuserPassword=x"]);
    const server = seedServer();
    const checks = preflightChecks(
      {
        ...server,
        nodes: [{ ...server.nodes[0], cpus: 2 }],
        volume: { ...server.volume!, login: { ok: false, message: 'postgres could not log in: FATAL: password authentication failed for user "postgres"' } },
        images: [{ ref: "registry.example.com/advwell/backend:v52", status: "missing", message: "unauthorized" }],
        dns: [{ host: "grafana.advwell.pro", addresses: ["198.51.100.7"] }, { host: "traefik.advwell.pro", addresses: [], error: "ENOTFOUND" }],
        disk: { freeMiB: 1000, totalMiB: 20_000 },
      },
      after.settings,
      after.plan,
      stackServices,
      { ...options, passwordGiven: true },
    );
    const f = failed(checks);
    expect(f["superuser login"].message).toMatch(/password authentication failed/);
    expect(f.images.message).toMatch(/registry.example.com\/advwell\/backend:v52 \(unauthorized\)/);
    expect(f.dns.message).toMatch(/grafana.advwell.pro resolves to 198.51.100.7; traefik.advwell.pro does not resolve \(ENOTFOUND\); the server is 203.0.113.10/);
    expect(f["free disk"].message).toMatch(/1000 MiB free .* needs 3448 MiB/);
    expect(f["node vps-1"].message).toMatch(/has 2 CPUs, advwell:nodes says 4/);
  });

  test("not a Swarm manager: that alone, with the command", () => {
    const checks = preflightChecks(seedServer({ swarm: { state: "inactive", controlAvailable: false } }), before.settings, before.plan, stackServices, options);
    expect(checks).toEqual([expect.objectContaining({ name: "swarm", ok: false, fix: ["docker swarm init --advertise-addr <the server's address>"] })]);
  });
});

describe("import-env (step 0): the live services' environment and images into config commands", () => {
  const out = importCommands({ backend: liveBackend, frontend: liveFrontend, postgres: livePostgres }, "takeover-env");

  test("images and plain variables as commands; the stack's own names skipped and said so; secrets only in files read from stdin", () => {
    expect(out.lines).toEqual([
      "# advtom_backend -> the backend",
      "pulumi config set advwell:backendImage tomautomations/advwell-backend:v58",
      "# not imported, the stack sets them itself: NODE_ENV, PORT, DATABASE_URL",
      "# plain (no credential by name, no password in a URL): MAIL_HOST",
      "pulumi config set --path 'advwell:backendEnv[0]' MAIL_HOST=smtp.advwell.pro",
      "# secret (a credential's name: PASSWORD, SECRET, TOKEN, KEY, ...; or a password in a URL): JWT_SECRET",
      "pulumi config set --secret advwell:backendSecretEnv < takeover-env/backendSecretEnv.env",
      "# advtom_frontend -> the frontend",
      "pulumi config set advwell:frontendImage tomautomations/advwell-frontend:v71",
      "# advtom_postgres -> the adopted PostgreSQL",
      "pulumi config set advwell:adoptPostgresVolume advtom_postgres_data",
      "pulumi config set advwell:databaseName advtom",
      "# the superuser's password, from POSTGRES_PASSWORD in the service's env",
      "pulumi config set --secret advwell:postgresSuperuserPassword < takeover-env/postgresSuperuserPassword",
    ]);
    expect(out.lines.join("\n")).not.toContain(SECRET);
    expect(out.lines.join("\n")).not.toContain(PASSWORD);
    expect(out.files["takeover-env/postgresSuperuserPassword"]).toBe(PASSWORD);
    expect(Object.fromEntries(parseSecretEnv("backend", out.files["takeover-env/backendSecretEnv.env"]).vars)).toEqual({ JWT_SECRET: SECRET });
  });
});

describe("the docker:host the preflight and import-env talk to (scripts/lib/dockerEndpoint.ts)", () => {
  test("ssh://user@host:port goes through docker-modem's ssh agent (the remote `docker system dial-stdio`), unix:// to the socket, tcp:// over HTTP", async () => {
    const { dockerFor } = await import("../../scripts/lib/dockerEndpoint");
    const modem = (d: unknown) => (d as { modem: Record<string, unknown> }).modem;
    expect(modem(dockerFor("ssh://deploy@vps-1.advwell.pro:2222"))).toMatchObject({ protocol: "ssh", host: "vps-1.advwell.pro", port: 2222, username: "deploy" });
    expect(modem(dockerFor("ssh://deploy@vps-1.advwell.pro"))).toMatchObject({ protocol: "ssh", port: 22 });
    expect(modem(dockerFor("unix:///run/rehearsal/docker.sock"))).toMatchObject({ socketPath: "/run/rehearsal/docker.sock" });
    expect(modem(dockerFor("tcp://10.0.0.2:2375"))).toMatchObject({ protocol: "http", host: "10.0.0.2", port: 2375 });
    expect(() => dockerFor("npipe:////./pipe/docker_engine")).toThrow(/is not unix:\/\/, tcp:\/\/ or ssh:\/\//);
  });
});
