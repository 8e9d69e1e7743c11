/** The edge's plan: the ACME server keys, the Docker API endpoint, TLS options and the headers every router sends. */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { DASHBOARD_RATE_LIMIT, dashboardLabels, FILE_MIDDLEWARES, LETS_ENCRYPT_DIRECTORY, renderDynamicConfig, routeLabels, routersOf } from "../../model/render/traefik";
import { CONFIG_KEYS } from "../../model/config/keys";
import { planFor, resolve } from "../support/stacks";

/** A CA certificate and a leaf one, made by openssl (the machine's). */
function certificates(): { ca: string; leaf: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-edge-plan-"));
  try {
    const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test ca", "-addext", "basicConstraints=critical,CA:TRUE");
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key", "-out", "leaf.pem", "-days", "2", "-subj", "/CN=leaf", "-addext", "basicConstraints=critical,CA:FALSE");
    return { ca: fs.readFileSync(path.join(dir, "ca.pem"), "utf8"), leaf: fs.readFileSync(path.join(dir, "leaf.pem"), "utf8") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const errorsOf = (sets: string[]) => resolve("production", sets).findings.filter((f) => f.level === "error");

describe("ACME server", () => {
  test("production asks Let's Encrypt's production directory and trusts the system's roots", () => {
    const edge = planFor("production").edge;
    expect(edge.acmeServer).toBe(LETS_ENCRYPT_DIRECTORY);
    expect(CONFIG_KEYS.acmeServer.default).toBe(LETS_ENCRYPT_DIRECTORY);
    expect(edge.acmeCaCertificate).toBeUndefined();
  });
  test.each([["http://acme.example.com/dir"], ["https://user:pw@acme.example.com/dir"], ["acme.example.com"]])("%s is refused under advwell:acmeServer", (url) => {
    expect(errorsOf([`advwell:acmeServer=${url}`]).map((f) => f.key)).toEqual(["advwell:acmeServer"]);
  });
  test("a CA certificate in PEM is taken; a leaf certificate or text is refused under advwell:acmeCaCertificate", () => {
    const { ca, leaf } = certificates();
    expect(planFor("production", [`advwell:acmeCaCertificate=${ca}`]).edge.acmeCaCertificate).toBe(ca.trim() + "\n");
    // Line breaks are PEM's grammar; every other control or invisible character is still refused.
    for (const bad of [leaf, "not a certificate", `${ca}junk`, ca.replace("\n", "\t\n"), ca.replace("\n", "\u200b\n")]) expect(errorsOf([`advwell:acmeCaCertificate=${bad}`]).map((f) => f.key)).toEqual(["advwell:acmeCaCertificate"]);
  });
});

describe("Traefik's dynamic file and routers", () => {
  const dynamic = parseYaml(renderDynamicConfig());
  test("TLS 1.2 is the minimum for every router (the default TLS option)", () => {
    expect(dynamic.tls.options.default.minVersion).toBe("VersionTLS12");
  });
  test("HSTS for a year with the other security headers", () => {
    expect(dynamic.http.middlewares["security-headers"].headers).toMatchObject({ stsSeconds: 31536000, contentTypeNosniff: true, frameDeny: true });
  });
  test("an application router limits the rate, retries an unreachable task, then adds the headers", () => {
    const labels = routeLabels({ name: "backend", host: "api.example.com", port: 3000, network: "advwell-edge", rateLimit: { average: 100, burst: 200 } });
    expect(labels["traefik.http.routers.backend.middlewares"]).toBe(`backend-ratelimit,${FILE_MIDDLEWARES.retry},${FILE_MIDDLEWARES.securityHeaders}`);
    expect(routersOf(labels)).toEqual({ backend: "api.example.com" });
  });
  test("the dashboard's router is rate-limited before its password is checked", () => {
    const labels = dashboardLabels("traefik.example.com", "advwell-edge", "letsencrypt");
    expect(labels["traefik.http.middlewares.dashboard-ratelimit.ratelimit.average"]).toBe(String(DASHBOARD_RATE_LIMIT.average));
    expect(labels["traefik.http.routers.dashboard.middlewares"].split(",").slice(0, 2)).toEqual(["dashboard-ratelimit", "dashboard-auth"]);
  });
  test("Traefik reaches the Docker API through the proxy's service, by the name and port of its row", () => {
    const plan = planFor("production");
    const proxy = plan.services["docker-socket-proxy"]!;
    expect(plan.edge.dockerEndpoint).toBe(`tcp://${proxy.name}:${proxy.port}`);
    expect(proxy.placement.constraints).toEqual(["node.role==manager"]);
  });
});
