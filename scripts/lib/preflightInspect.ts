/**
 * What the preflight reads from the server, through the Docker API of the stack's docker:host.
 * Reads only, except one one-shot job (a `replicated-job` service, removed afterwards, with a
 * Swarm secret holding the password to try, also removed) on the live PostgreSQL's node and
 * network: it reads PG_VERSION from the volume (mounted read-only), the C library of the live
 * PostgreSQL image, the free space under the Docker root (bind-mounted read-only), and logs in as
 * the superuser over TCP with the password read from the secret file (never an argument).
 */
import { randomBytes } from "crypto";
import { promises as dns } from "dns";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type Docker from "dockerode";
import type { Settings } from "../../model/config/settings";
import type { Plan } from "../../model/plan/resolve";
import type { Inspection, LiveNode, LiveServiceInfo } from "./preflightFindings";

const PGDATA = "/var/lib/postgresql/data";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  const timeout = new Promise<T>((_, reject) => {
    setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms).unref();
  });
  return Promise.race([p, timeout]);
}

function liveNode(n: any): LiveNode {
  const managerAddr = String(n.ManagerStatus?.Addr ?? "").replace(/:\d+$/, "");
  return {
    id: n.ID,
    hostname: n.Description?.Hostname ?? "",
    role: n.Spec?.Role === "manager" ? "manager" : "worker",
    state: n.Status?.State ?? "unknown",
    availability: n.Spec?.Availability ?? "unknown",
    labels: n.Spec?.Labels ?? {},
    cpus: Math.round((n.Description?.Resources?.NanoCPUs ?? 0) / 1e9),
    memoryMiB: Math.floor((n.Description?.Resources?.MemoryBytes ?? 0) / 1024 ** 2),
    addresses: [...new Set([n.Status?.Addr, managerAddr].filter((a): a is string => !!a && a !== "0.0.0.0"))],
  };
}

function liveService(s: any): LiveServiceInfo {
  const c = s.Spec?.TaskTemplate?.ContainerSpec ?? {};
  // The declared ports: host-mode ones are the spec's, whatever the allocator reports under Endpoint.
  const ports = (s.Spec?.EndpointSpec?.Ports ?? []) as any[];
  return {
    name: s.Spec?.Name ?? "",
    image: String(c.Image ?? "").replace(/@sha256:[0-9a-f]{64}$/, ""),
    env: c.Env ?? [],
    ports: ports.filter((p) => p.PublishedPort).map((p) => ({ published: Number(p.PublishedPort), mode: p.PublishMode ?? "ingress" })),
    volumes: ((c.Mounts ?? []) as any[]).filter((m) => m.Type === "volume").map((m) => ({ source: String(m.Source), target: String(m.Target) })),
  };
}

/** The registry credentials `docker login` left for the registry of an image (plain auths only; credential helpers are not asked). */
function registryAuth(ref: string): Record<string, string> | undefined {
  const first = ref.split("/")[0];
  const registry = ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost") ? first : "https://index.docker.io/v1/";
  try {
    const file = path.join(process.env.DOCKER_CONFIG ?? path.join(os.homedir(), ".docker"), "config.json");
    const auths = (JSON.parse(fs.readFileSync(file, "utf8")).auths ?? {}) as Record<string, { auth?: string }>;
    const entry = auths[registry] ?? auths[`https://${registry}`];
    if (!entry?.auth) return undefined;
    const [username, ...rest] = Buffer.from(entry.auth, "base64").toString("utf8").split(":");
    return { username, password: rest.join(":"), serveraddress: registry };
  } catch {
    return undefined;
  }
}

async function imageStatus(docker: Docker, ref: string): Promise<Inspection["images"][number]> {
  try {
    await docker.getImage(ref).inspect();
    return { ref, status: "present" };
  } catch {
    // not on the manager: ask the registry for its manifest (GET /distribution/<ref>/json), as a pull would.
  }
  try {
    await withTimeout(
      new Promise((resolve, reject) =>
        docker.modem.dial({ path: `/distribution/${ref}/json`, method: "GET", authconfig: registryAuth(ref), statusCodes: { 200: true, 401: "unauthorized", 403: "forbidden", 404: "not found", 500: "registry error" } } as any, (err: any, data: unknown) => (err ? reject(err) : resolve(data))),
      ),
      20_000,
      "the registry",
    );
    return { ref, status: "pullable" };
  } catch (e) {
    const message = String((e as any)?.json?.message ?? (e as Error).message ?? e).split("\n")[0].slice(0, 200);
    return { ref, status: "missing", message };
  }
}

async function lookup(host: string): Promise<Inspection["dns"][number]> {
  try {
    const found = await withTimeout(dns.lookup(host, { all: true }), 10_000, "DNS");
    return { host, addresses: found.map((a) => a.address) };
  } catch (e) {
    return { host, addresses: [], error: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
  }
}

/** The job's script: one line per fact. The password is read from the secret file inside the container. */
const JOB_SCRIPT = `
[ -f /pgdata/PG_VERSION ] && echo "pg_version $(cat /pgdata/PG_VERSION)"
if ls /lib/ld-musl-* >/dev/null 2>&1; then echo "libc musl"; else echo "libc glibc"; fi
df -Pk /dockerroot | awk 'NR == 2 { print "disk", $4, $2 }'
if [ -f /run/secrets/superuser ] && [ -n "\${PGHOST:-}" ]; then
  if out=$(PGPASSWORD="$(cat /run/secrets/superuser)" PGCONNECT_TIMEOUT=10 psql -X -U postgres -d postgres -At -F ' ' -c "SELECT 'collation', datname, coalesce(to_jsonb(d)->>'datlocprovider', 'c'), datcollate FROM pg_database d WHERE datallowconn ORDER BY datname" 2>&1); then
    echo "login ok"; echo "$out"
  else
    echo "login failed $(echo "$out" | tail -n 1)"
  fi
fi
echo done`;

interface JobResult {
  readonly lines: string[];
  readonly error?: string;
}

/** Runs the one-shot job and returns its output lines; the service and the secret are removed whatever happens. */
async function runJob(docker: Docker, spec: { image: string; node?: string; volume?: string; networks: string[]; pgHost?: string; password?: string; dockerRoot: string }): Promise<JobResult> {
  const name = `advwell-preflight-${randomBytes(4).toString("hex")}`;
  let secretId: string | undefined;
  let serviceId: string | undefined;
  try {
    if (spec.password !== undefined) {
      const secret: any = await docker.createSecret({ Name: name, Data: Buffer.from(spec.password, "utf8").toString("base64"), Labels: { "advwell.preflight": "superuser password to try" } } as any);
      secretId = secret.id ?? secret.ID;
    }
    const created: any = await docker.createService({
      Name: name,
      Labels: { "advwell.preflight": "one-shot checks" },
      Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
      TaskTemplate: {
        ContainerSpec: {
          Image: spec.image,
          Command: ["sh", "-c", JOB_SCRIPT],
          Env: spec.pgHost ? [`PGHOST=${spec.pgHost}`] : [],
          Mounts: [
            { Type: "bind", Source: spec.dockerRoot, Target: "/dockerroot", ReadOnly: true },
            ...(spec.volume ? [{ Type: "volume", Source: spec.volume, Target: "/pgdata", ReadOnly: true }] : []),
          ],
          ...(secretId ? { Secrets: [{ SecretID: secretId, SecretName: name, File: { Name: "superuser", UID: "0", GID: "0", Mode: 0o400 } }] } : {}),
        },
        Networks: spec.networks.map((Target) => ({ Target })),
        RestartPolicy: { Condition: "none" },
        ...(spec.node ? { Placement: { Constraints: [`node.id==${spec.node}`] } } : {}),
      },
    } as any);
    serviceId = created.id ?? created.ID;
    const deadline = Date.now() + 90_000;
    for (;;) {
      const tasks: any[] = await docker.listTasks({ filters: JSON.stringify({ service: [name] }) });
      const state = tasks[0]?.Status?.State;
      if (state === "complete") break;
      if (["failed", "rejected"].includes(state)) {
        if (state === "rejected") return { lines: [], error: `the job was rejected: ${tasks[0].Status?.Err ?? ""}` };
        break;
      }
      if (Date.now() > deadline) return { lines: [], error: `the job did not finish in 90 s (${state ?? "no task"}: ${tasks[0]?.Status?.Err ?? tasks[0]?.Status?.Message ?? ""})` };
      await sleep(300);
    }
    const raw = (await docker.getService(serviceId!).logs({ stdout: true, stderr: true, follow: false } as any)) as unknown as Buffer;
    return { lines: demux(raw) };
  } catch (e) {
    return { lines: [], error: (e as Error).message.split("\n")[0] };
  } finally {
    if (serviceId) await docker.getService(serviceId).remove().catch(() => undefined);
    if (secretId) {
      // A secret in use by a task that is still being removed is refused for a moment.
      for (let i = 0; i < 20; i++) {
        try {
          await docker.getSecret(secretId).remove();
          break;
        } catch {
          await sleep(250);
        }
      }
    }
  }
}

/** Docker's multiplexed log stream (8-byte frame headers) -> lines. */
function demux(buffer: Buffer): string[] {
  const out: string[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    out.push(buffer.subarray(offset + 8, offset + 8 + size).toString("utf8"));
    offset += 8 + size;
  }
  return out.join("").split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

export interface InspectOptions {
  /** The old stack's namespace (its postgres service holds the volume to adopt). */
  readonly from: string;
  /** The superuser password to try, when given. */
  readonly password?: string;
  /** Images the runbook uses besides the stack's (the curl image of step 4). */
  readonly extraImages: readonly string[];
  /** The docker:host URL (its host name is one of the server's addresses). */
  readonly dockerHost?: string;
}

export async function inspectServer(docker: Docker, settings: Settings, plan: Plan, o: InspectOptions): Promise<Inspection> {
  const info: any = await docker.info();
  const swarm = { state: String(info.Swarm?.LocalNodeState ?? "inactive"), controlAvailable: info.Swarm?.ControlAvailable === true };
  if (swarm.state !== "active" || !swarm.controlAvailable) return { swarm, nodes: [], services: [], images: [], dns: [], serverAddresses: [] };
  const nodes = ((await docker.listNodes()) as any[]).map(liveNode);
  const services = ((await docker.listServices()) as any[]).map(liveService);

  const adopted = settings.adoption?.volume;
  const liveDb = services.find((s) => s.volumes.some((v) => v.target === PGDATA && (adopted ? v.source === adopted : true)) && s.name.startsWith(`${o.from}_`));
  let volume: Inspection["volume"];
  const dockerRoot = String(info.DockerRootDir ?? "/var/lib/docker");
  let jobNode: string | undefined;
  let jobNetworks: string[] = [];
  if (liveDb) {
    const raw: any = await docker.getService(liveDb.name).inspect();
    jobNetworks = ((raw.Spec?.TaskTemplate?.Networks ?? []) as any[]).map((n) => n.Target);
    const tasks: any[] = await docker.listTasks({ filters: JSON.stringify({ service: [liveDb.name], "desired-state": ["running"] }) });
    jobNode = tasks[0]?.NodeID;
  }
  if (adopted) {
    const exists = await docker.getVolume(adopted).inspect().then(() => true, () => false);
    let sizeMiB: number | undefined;
    if (exists) {
      const df: any = await docker.df().catch(() => undefined);
      const size = (df?.Volumes ?? []).find((v: any) => v.Name === adopted)?.UsageData?.Size;
      sizeMiB = typeof size === "number" && size >= 0 ? Math.ceil(size / 1024 ** 2) : undefined;
    }
    volume = { name: adopted, exists, sizeMiB };
  }
  const manager = nodes.find((n) => n.role === "manager");
  const job = await runJob(docker, {
    image: liveDb?.image ?? settings.images.postgresImage,
    node: jobNode ?? manager?.id,
    volume: volume?.exists ? adopted : undefined,
    networks: jobNetworks,
    pgHost: liveDb ? `tasks.${liveDb.name}` : undefined,
    password: liveDb ? o.password : undefined,
    dockerRoot,
  });
  const fact = (key: string) => job.lines.filter((l) => l.startsWith(`${key} `)).map((l) => l.slice(key.length + 1));
  const [disk] = fact("disk").map((l) => l.split(" ").map(Number));
  if (volume) {
    const login = fact("login")[0];
    volume = {
      ...volume,
      ...(job.error ? { error: job.error } : {}),
      pgVersion: fact("pg_version")[0],
      liveImage: liveDb?.image,
      liveLibc: liveDb ? (fact("libc")[0] as "musl" | "glibc" | undefined) : undefined,
      ...(login !== undefined ? { login: login === "ok" ? { ok: true, message: `postgres logs in over TCP to ${liveDb?.name} with the given password` } : { ok: false, message: `postgres could not log in over TCP to ${liveDb?.name}: ${login.replace(/^failed /, "")}` } } : {}),
      collations: fact("collation").map((l) => {
        const [database, provider, collate] = l.split(" ");
        return { database, provider, collate };
      }),
    };
  }

  const images = [...new Set([...Object.values(plan.services).map((s) => s!.image), ...o.extraImages])].sort();
  const hosts = [plan.edge.hosts.api, plan.edge.hosts.app, plan.edge.hosts.dashboard, ...(plan.monitoring ? [plan.monitoring.grafanaDomain] : [])];
  const hostOf = o.dockerHost && !o.dockerHost.startsWith("unix:") ? new URL(o.dockerHost).hostname : undefined;
  const serverAddresses = [...new Set([...nodes.filter((n) => n.role === "manager").flatMap((n) => n.addresses), ...(hostOf ? (await lookup(hostOf)).addresses : [])])];
  return {
    swarm,
    nodes,
    services,
    disk: disk && disk.length === 2 && disk.every(Number.isFinite) ? { freeMiB: Math.floor(disk[0] / 1024), totalMiB: Math.floor(disk[1] / 1024) } : { error: job.error ?? "the job printed no df line" },
    ...(volume ? { volume } : {}),
    images: await Promise.all(images.map((ref) => imageStatus(docker, ref))),
    dns: await Promise.all(hosts.map(lookup)),
    serverAddresses,
  };
}
