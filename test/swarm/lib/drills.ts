/**
 * What the day-2 drills (day2-drills.test.ts) do to a deployed stack and read back from it, all
 * from inside the Swarm (the probe container) or through the daemon's API: rows written through
 * the backend, task IDs and images, backend health on every task, PostgreSQL's logs and the
 * address each task held (for pglog.ts), and Swarm's own update status over time.
 */
import type Docker from "dockerode";
import type { ExecResult } from "./exec";
import type { PgLogSource } from "./pglog";

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DrillContext {
  readonly docker: Docker;
  /** Runs a shell script in the probe container. */
  probe(script: string, timeoutMs?: number): Promise<ExecResult>;
  readonly superuserFile: string;
  readonly database: string;
  readonly backendPort: number;
}

export function psql(ctx: DrillContext, sql: string): Promise<ExecResult> {
  return ctx.probe(`PGPASSWORD="$(cat ${ctx.superuserFile})" psql -h postgres -U postgres -d ${sh(ctx.database)} -At -F '|' -v ON_ERROR_STOP=1 -c ${sh(sql)}`);
}

export interface RowSnapshot {
  readonly count: number;
  readonly maxId: number;
}

/** Writes `n` rows through the backend (POST /rows, its tasks in turn), then reads what the table holds. */
export async function writeRows(ctx: DrillContext, n: number): Promise<RowSnapshot> {
  const out = await ctx.probe(
    `ips=($(getent ahostsv4 tasks.backend | awk '{print $1}' | sort -u)); ok=0; for i in $(seq ${n}); do ip=\${ips[$((i % \${#ips[@]}))]}; curl -sf -m 10 -X POST http://$ip:${ctx.backendPort}/rows >/dev/null && ok=$((ok+1)); done; echo $ok`,
    120_000,
  );
  if (Number(out.stdout.trim()) !== n) throw new Error(`only ${out.stdout.trim() || 0} of ${n} rows were written through the backend: ${out.stderr.trim()}`);
  return rowSnapshot(ctx);
}

export async function rowSnapshot(ctx: DrillContext): Promise<RowSnapshot> {
  const out = await psql(ctx, "SELECT count(*), coalesce(max(id), 0) FROM standin_rows");
  if (out.exitCode !== 0) throw new Error(`reading standin_rows failed: ${out.stderr.trim()}`);
  const [count, maxId] = out.stdout.trim().split("|").map(Number);
  return { count, maxId };
}

/** Every row written up to the snapshot is still there (rows written since may add to it). */
export async function lostRows(ctx: DrillContext, before: RowSnapshot): Promise<string[]> {
  const out = await psql(ctx, `SELECT count(*) FROM standin_rows WHERE id <= ${before.maxId}`);
  if (out.exitCode !== 0) return [`reading standin_rows failed: ${out.stderr.trim()}`];
  const now = Number(out.stdout.trim());
  return now === before.count ? [] : [`${before.count} rows were written before, ${now} of them are left`];
}

/** GET /health on every backend task (tasks.backend), until all answer 200 or the time is up; the lines that did not. */
export async function backendHealthProblems(ctx: DrillContext, replicas: number, withinMs: number): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  let problems: string[] = [];
  for (;;) {
    const out = await ctx.probe(`for ip in $(getent ahostsv4 tasks.backend | awk '{print $1}' | sort -u); do echo "$ip $(curl -s -m 5 -o /tmp/h -w '%{http_code}' http://$ip:${ctx.backendPort}/health) $(head -c 200 /tmp/h)"; done`);
    const lines = out.stdout.trim().split("\n").filter(Boolean);
    problems = lines.filter((l) => l.split(" ")[1] !== "200").map((l) => `backend task ${l}`);
    if (lines.length !== replicas) problems.push(`tasks.backend lists ${lines.length} task(s), the plan has ${replicas}`);
    if (problems.length === 0 || Date.now() > deadline) return problems;
    await sleep(1000);
  }
}

/** The running tasks of a service: IDs, images and containers. */
export async function runningTasks(docker: Docker, service: string): Promise<{ id: string; image: string; container?: string }[]> {
  const tasks: any[] = await docker.listTasks({ filters: JSON.stringify({ service: [service], "desired-state": ["running"] }) });
  return tasks
    .filter((t) => t.Status?.State === "running")
    .map((t) => ({ id: t.ID, image: t.Spec?.ContainerSpec?.Image, container: t.Status?.ContainerStatus?.ContainerID }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Waits for a running (healthy) task of `service` whose container is not `oldContainer`. */
export async function waitForNewTask(docker: Docker, service: string, oldContainer: string, timeoutMs: number): Promise<{ container: string; afterMs: number }> {
  const started = Date.now();
  for (;;) {
    const fresh = (await runningTasks(docker, service)).find((t) => t.container && t.container !== oldContainer);
    if (fresh) return { container: fresh.container!, afterMs: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`${service}: no new task running ${timeoutMs / 1000} s after the old one's container ${oldContainer.slice(0, 12)} went`);
    await sleep(250);
  }
}

/** The whole log of a container (stdout and stderr, multiplexed frames undone). */
export async function fullLogs(docker: Docker, container: string): Promise<string> {
  const buffer = (await docker.getContainer(container).logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  const parts: string[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size).toString("utf8"));
    offset += 8 + size;
  }
  return parts.join("");
}

/**
 * What the drills collect as they go, before Swarm prunes old tasks (it keeps 5 per slot): every
 * postgres container's log, and which service held each overlay address.
 */
export class Evidence {
  readonly logs = new Map<string, string>();
  readonly addresses = new Map<string, Set<string>>();

  async collect(docker: Docker): Promise<void> {
    const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: ["com.docker.swarm.service.name=postgres"] }) });
    for (const c of containers) this.logs.set(c.Id, await fullLogs(docker, c.Id).catch(() => this.logs.get(c.Id) ?? ""));
    const services = new Map(((await docker.listServices()) as any[]).map((s) => [s.ID, s.Spec.Name as string]));
    for (const t of (await docker.listTasks()) as any[]) {
      for (const a of t.NetworksAttachments ?? []) {
        for (const address of a.Addresses ?? []) {
          const ip = String(address).split("/")[0];
          const name = services.get(t.ServiceID) ?? t.ServiceID;
          this.addresses.set(ip, new Set([...(this.addresses.get(ip) ?? []), name]));
        }
      }
    }
  }

  sources(): PgLogSource[] {
    return [...this.logs.entries()].map(([container, text]) => ({ container, text }));
  }

  serviceAt(ip: string): string | undefined {
    const names = this.addresses.get(ip);
    return names ? [...names].sort().join(" or ") : undefined;
  }
}

/** Waits until Swarm's update of a service is over (UpdateStatus no longer `updating`); its final state. */
export async function updateOutcome(docker: Docker, service: string, timeoutMs: number): Promise<{ state: string; message: string; afterMs: number }> {
  const started = Date.now();
  for (;;) {
    const s: any = await docker.getService(service).inspect();
    const state = s.UpdateStatus?.State ?? "none";
    if (state !== "updating" && state !== "rollback_started") return { state, message: s.UpdateStatus?.Message ?? "", afterMs: Date.now() - started };
    if (Date.now() - started > timeoutMs) return { state: `${state} after ${timeoutMs / 1000} s`, message: s.UpdateStatus?.Message ?? "", afterMs: Date.now() - started };
    await sleep(500);
  }
}
/** Swarm's update status of a service over time, polled every second. */
export class UpdateWatch {
  readonly timeline: { at: number; state: string; message: string; specImage: string; runningImages: string[]; desiredImages: string[] }[] = [];
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(
    private readonly docker: Docker,
    private readonly service: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.poll().finally(() => (this.busy = false));
    }, 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    try {
      const s: any = await this.docker.getService(this.service).inspect();
      const images = (await runningTasks(this.docker, this.service)).map((t) => t.image);
      // Every task Swarm still wants running, started or not (a new task stays `starting` until healthy).
      const desired: any[] = await this.docker.listTasks({ filters: JSON.stringify({ service: [this.service], "desired-state": ["running"] }) });
      const desiredImages = desired.map((t) => String(t.Spec?.ContainerSpec?.Image)).sort();
      const specImage = String(s.Spec?.TaskTemplate?.ContainerSpec?.Image);
      const last = this.timeline[this.timeline.length - 1];
      const state = s.UpdateStatus?.State ?? "none";
      const message = s.UpdateStatus?.Message ?? "";
      if (!last || last.state !== state || last.specImage !== specImage || JSON.stringify(last.runningImages) !== JSON.stringify(images) || JSON.stringify(last.desiredImages) !== JSON.stringify(desiredImages)) {
        this.timeline.push({ at: Date.now(), state, message, specImage, runningImages: images, desiredImages });
      }
    } catch {
      // the daemon was busy; the next poll will see it
    }
  }

  /**
   * The first moment of a rollback at which the service is back: its spec on `image`, `replicas`
   * tasks running on it, and no task of another image still wanted.
   */
  restoredAt(image: string, replicas: number): number | undefined {
    return this.timeline.find((e) => e.state.startsWith("rollback") && e.specImage === image && e.runningImages.length === replicas && e.runningImages.every((i) => i === image) && e.desiredImages.every((i) => i === image))?.at;
  }

  describe(since: number): string {
    return this.timeline
      .map((e) => `+${((e.at - since) / 1000).toFixed(1)} s ${e.state}${e.message ? ` (${e.message})` : ""} [${e.runningImages.length} running, ${e.desiredImages.length - e.desiredImages.filter((i) => i === e.specImage).length} wanted on another image than the spec's]`)
      .join("; ");
  }
}
