/**
 * The edge suite's harness: an ACME server (Pebble, validating for real) and the DNS its validation
 * asks (pebble-challtestsrv), both on the stack's edge network; the address of Traefik's current
 * task, which that DNS answers for every host name and the probe's client connects to; and the
 * analysis of what Traefik's API reports about the plan's routers.
 *
 * Why the task's address and not the published ports: this daemon sets up no DNAT for published
 * ports (docs/rehearsal.md; SWARM-HERE.md), and Swarm's DNS adds a task with a health check only once
 * it is healthy (moby daemon/health.go, activateContainerServiceBinding), later than a host-mode
 * port would answer. Swarm allocates the task's overlay address before its container starts, so
 * following it through the API sees a restarted Traefik as soon as it listens, as a client on the
 * node's published port would.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type Docker from "dockerode";
import { containerOf, exec } from "./exec";
import { STANDIN_IMAGES } from "./images";
import { ON_MANAGER } from "./rehearsal";

export const ACME_HOST = "acme.rehearsal.internal";
export const DNS_HOST = "dns.rehearsal.internal";
export const PEBBLE_SERVICE = "rehearsal-pebble";
export const CHALLTESTSRV_SERVICE = "rehearsal-challtestsrv";
export const ACME_DIRECTORY = `https://${ACME_HOST}:14000/dir`;

export interface AcmeCa {
  /** PEM of the root that signs Pebble's HTTPS certificate: advwell:acmeCaCertificate. */
  readonly caPem: string;
  readonly serverPem: string;
  readonly serverKey: string;
}

/** A root and Pebble's HTTPS certificate for ACME_HOST, made by openssl. */
export function makeAcmeCa(): AcmeCa {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-edge-ca-"));
  try {
    const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=AdvWell rehearsal ACME server root", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", `/CN=${ACME_HOST}`);
    fs.writeFileSync(path.join(dir, "ext.cnf"), `subjectAltName=DNS:${ACME_HOST}\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n`);
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf");
    const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
    return { caPem: read("ca.pem"), serverPem: read("server.pem"), serverKey: read("server.key") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Traefik's running task's address on `network`, or undefined while none has one. */
export async function traefikAddress(docker: Docker, network: string, service = "traefik"): Promise<string | undefined> {
  const tasks: any[] = await docker.listTasks({ filters: JSON.stringify({ service: [service], "desired-state": ["running"] }) });
  for (const t of tasks.sort((a, b) => (a.CreatedAt < b.CreatedAt ? 1 : -1))) {
    const attachment = (t.NetworksAttachments ?? []).find((n: any) => n.Network?.Spec?.Name === network);
    const address = attachment?.Addresses?.[0];
    if (address) return String(address).split("/")[0];
  }
  return undefined;
}

/**
 * Pebble and challtestsrv as the rehearsal's own services on the edge network, and a watcher that
 * keeps challtestsrv's answer (and the probe's target file) on Traefik's current task.
 */
export class AcmeHarness {
  readonly services: string[] = [];
  readonly objects: { kind: "secret" | "config"; id: string }[] = [];
  private watcher?: NodeJS.Timeout;
  private address?: string;
  private probeContainer?: string;
  private busy = false;
  /** Every address change the watcher pushed, with when it saw it. */
  readonly changes: { at: number; address: string }[] = [];

  constructor(
    private readonly docker: Docker,
    private readonly ca: AcmeCa,
    private readonly edgeNetwork: string,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts both services on the edge network (by id) and waits until they run. */
  async start(networkId: string): Promise<void> {
    const suffix = Date.now().toString(36);
    const secret = async (name: string, text: string) => {
      const { id } = await this.docker.createSecret({ Name: `rehearsal-${name}-${suffix}`, Data: Buffer.from(text).toString("base64") });
      this.objects.push({ kind: "secret", id });
      return { SecretID: id, SecretName: `rehearsal-${name}-${suffix}`, File: { Name: name, UID: "0", GID: "0", Mode: 0o400 } };
    };
    const config = {
      pebble: {
        listenAddress: "0.0.0.0:14000",
        managementListenAddress: "0.0.0.0:15000",
        certificate: "/run/secrets/pebble-cert.pem",
        privateKey: "/run/secrets/pebble-key.pem",
        // Where validation connects: TLS-ALPN-01 on Traefik's 443 (and HTTP-01 on 80, unused by the plan).
        httpPort: 80,
        tlsPort: 443,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    };
    await this.docker.createService({
      Name: CHALLTESTSRV_SERVICE,
      Labels: { "advwell.rehearsal": "acme" },
      TaskTemplate: {
        ContainerSpec: {
          Image: STANDIN_IMAGES.challtestsrv.ref,
          // DNS only: every A query gets the default address (set to Traefik's task by the watcher).
          Args: ["-dnsserver", ":8053", "-management", ":8055", "-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "", "-defaultIPv6", "", "-defaultIPv4", "127.0.0.1"],
        },
        Networks: [{ Target: networkId, Aliases: [DNS_HOST] }],
        Placement: { Constraints: [ON_MANAGER] },
      },
      EndpointSpec: { Mode: "dnsrr" },
    } as any);
    this.services.push(CHALLTESTSRV_SERVICE);
    await this.docker.createService({
      Name: PEBBLE_SERVICE,
      Labels: { "advwell.rehearsal": "acme" },
      TaskTemplate: {
        ContainerSpec: {
          Image: STANDIN_IMAGES.pebble.ref,
          Args: ["-config", "/run/secrets/pebble.json", "-dnsserver", `${DNS_HOST}:8053`],
          // Validation without Pebble's random 0-15 s pause, and no random bad-nonce answers; the
          // validation itself is real (PEBBLE_VA_ALWAYS_VALID is not set).
          Env: ["PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"],
          Secrets: [await secret("pebble.json", JSON.stringify(config)), await secret("pebble-cert.pem", this.ca.serverPem), await secret("pebble-key.pem", this.ca.serverKey)],
        },
        Networks: [{ Target: networkId, Aliases: [ACME_HOST] }],
        Placement: { Constraints: [ON_MANAGER] },
      },
      EndpointSpec: { Mode: "dnsrr" },
    } as any);
    this.services.push(PEBBLE_SERVICE);
    for (const s of [CHALLTESTSRV_SERVICE, PEBBLE_SERVICE]) await containerOfWithin(this.docker, s, 90_000);
    this.log(`pebble (${ACME_DIRECTORY}) and challtestsrv (${DNS_HOST}:8053) run on ${this.edgeNetwork}`);
    this.watcher = setInterval(() => void this.follow(), 150);
  }

  /** Also keep the probe's /tmp/edge-target on Traefik's task from now on. */
  async attachProbe(probeContainer: string): Promise<string> {
    this.probeContainer = probeContainer;
    const address = await this.current(60_000);
    await exec(this.docker, probeContainer, ["sh", "-c", `echo ${address} > /tmp/edge-target`]);
    return address;
  }

  /** Traefik's current address (waits until its task has one). */
  async current(timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const a = await traefikAddress(this.docker, this.edgeNetwork);
      if (a) return a;
      if (Date.now() > deadline) throw new Error(`Traefik has no running task with an address on ${this.edgeNetwork} after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async follow(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const address = await traefikAddress(this.docker, this.edgeNetwork);
      if (!address || address === this.address) return;
      const dns = await containerOf(this.docker, CHALLTESTSRV_SERVICE);
      const set = await exec(this.docker, dns, ["curl", "-sf", "-d", JSON.stringify({ ip: address }), "http://127.0.0.1:8055/set-default-ipv4"]);
      if (set.exitCode !== 0) throw new Error(`challtestsrv refused ${address}: ${set.stderr}`);
      if (this.probeContainer) await exec(this.docker, this.probeContainer, ["sh", "-c", `echo ${address} > /tmp/edge-target`]);
      this.address = address;
      this.changes.push({ at: Date.now(), address });
      this.log(`Traefik's task is at ${address}: DNS answers and the probe's target follow`);
    } catch (error) {
      this.log(`following Traefik's address: ${(error as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    if (this.watcher) clearInterval(this.watcher);
    for (const s of this.services) await this.docker.getService(s).remove().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2000));
    for (const o of this.objects) await (o.kind === "secret" ? this.docker.getSecret(o.id) : this.docker.getConfig(o.id)).remove().catch(() => undefined);
  }
}

async function containerOfWithin(docker: Docker, service: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await containerOf(docker, service);
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${service} did not start within ${timeoutMs / 1000} s: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** One router as Traefik's API reports it (GET /api/http/routers). */
export interface ApiRouter {
  readonly name: string;
  readonly status?: string;
  readonly error?: readonly string[];
  readonly rule?: string;
  readonly provider?: string;
}

/**
 * What is wrong with the plan's routers in Traefik's report, one line per router, naming it: a
 * router missing, not enabled, or with errors (a bad rule, an unknown entrypoint, a missing
 * middleware all show there).
 */
export function routerProblems(reported: readonly ApiRouter[], planned: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const [name, host] of Object.entries(planned)) {
    const r = reported.find((x) => x.name === `${name}@swarm`);
    if (!r) {
      problems.push(`router ${name} (${host}) is not in Traefik's configuration; it has ${reported.map((x) => x.name).join(", ") || "no router"}`);
      continue;
    }
    if (r.status !== "enabled" || (r.error ?? []).length > 0) problems.push(`router ${name} (${host}) is ${r.status}: ${(r.error ?? []).join("; ") || "no error given"}`);
  }
  return problems;
}

/** Percentile of a list of numbers (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
