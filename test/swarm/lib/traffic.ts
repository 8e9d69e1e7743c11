/**
 * The drills' traffic (test/swarm/standins/probe/traffic.js), started in the probe container
 * inside the Swarm while a re-deploy or a restart runs, and what its records say: requests made
 * and failed per target, each failure sorted by cause, and PostgreSQL's unavailable windows.
 */
import type Docker from "dockerode";
import { exec } from "./exec";

export interface TrafficRecord {
  /** Start of the attempt, ms since the epoch (the probe container's clock: the same kernel's). */
  readonly t: number;
  readonly ms: number;
  readonly target: "backend" | "frontend" | "postgres";
  readonly ok: boolean;
  readonly ip?: string;
  /** HTTP: the TCP connection to the task was made. */
  readonly connected?: boolean;
  readonly status?: number;
  readonly error?: string;
  readonly body?: string;
}

/**
 * Why a request failed:
 * - `database`: the backend answered 503 with its own error, which it does only when its
 *   database query failed (the stand-in's /health runs SELECT 1 and an INSERT);
 * - `stalled`: the task accepted the connection but gave no answer in time (the stand-in, as
 *   Prisma does, waits for a pooled connection while PostgreSQL is away);
 * - `routing`: no connection at all (refused, unreachable, timed out, no address): the request
 *   met a task that was gone or not ready, which a start-first update must never cause;
 * - `http`: any other status.
 */
export type FailureClass = "database" | "stalled" | "routing" | "http";

export function classify(r: TrafficRecord): FailureClass | undefined {
  if (r.ok) return undefined;
  if (r.status === undefined) return r.connected ? "stalled" : "routing";
  if (r.target === "backend" && r.status === 503 && /"error"/.test(r.body ?? "")) return "database";
  return "http";
}

export interface Window {
  /** The end of the last success before it, and the start of the first success after it (ms epoch). */
  readonly from: number;
  readonly to?: number;
  readonly seconds?: number;
  readonly failures: number;
  readonly firstError: string;
}

/**
 * PostgreSQL's unavailable windows: each run of failed connections, from the end of the last
 * success before it to the start of the first success after it (a run still failing at the end has
 * no end). With concurrent probes, a run that answered attempts overlap on both sides is none.
 */
export function outageWindows(records: readonly TrafficRecord[]): Window[] {
  const sorted = [...records].sort((a, b) => a.t - b.t);
  const windows: Window[] = [];
  let lastOkEnd: number | undefined;
  let run: TrafficRecord[] = [];
  const close = (to?: number) => {
    if (run.length === 0) return;
    const from = lastOkEnd ?? run[0].t;
    // Several loops probe at once: failures that a success ended after and another began before
    // overlap answered attempts on both sides, so PostgreSQL was answering throughout.
    if (to !== undefined && to <= from) {
      run = [];
      return;
    }
    windows.push({ from, to, seconds: to === undefined ? undefined : (to - from) / 1000, failures: run.length, firstError: run[0].error ?? `status ${run[0].status}` });
    run = [];
  };
  for (const r of sorted) {
    if (r.ok) {
      close(r.t);
      lastOkEnd = r.t + r.ms;
    } else run.push(r);
  }
  close(undefined);
  return windows;
}

export interface TargetSummary {
  readonly made: number;
  readonly failed: number;
  readonly byClass: Readonly<Partial<Record<FailureClass, number>>>;
  /** A few failures, for the report. */
  readonly examples: readonly string[];
  /** The longest attempt (each loop makes one request at a time: a slow one delays the next). */
  readonly slowestMs: number;
}

export function summarise(records: readonly TrafficRecord[], target: TrafficRecord["target"]): TargetSummary {
  const mine = records.filter((r) => r.target === target);
  const failed = mine.filter((r) => !r.ok);
  const byClass: Partial<Record<FailureClass, number>> = {};
  for (const r of failed) {
    const c = classify(r)!;
    byClass[c] = (byClass[c] ?? 0) + 1;
  }
  const slowest = mine.reduce((m, r) => Math.max(m, r.ms), 0);
  const examples = failed.slice(0, 3).map((r) => `${new Date(r.t).toISOString().slice(11, 23)} ${r.ip ?? ""} ${r.status ?? r.error}${r.body ? ` ${r.body.trim().slice(0, 120)}` : ""}`);
  return { made: mine.length, failed: failed.length, byClass, examples, slowestMs: slowest };
}

/** Backend failures of the `database` or `stalled` class that fall outside every PostgreSQL outage window (± slack). */
export function databaseFailuresOutsideOutages(records: readonly TrafficRecord[], windows: readonly Window[], slackMs: number): TrafficRecord[] {
  return records.filter((r) => r.target === "backend" && (classify(r) === "database" || classify(r) === "stalled")).filter((r) => !windows.some((w) => r.t + r.ms >= w.from - slackMs && r.t <= (w.to ?? Infinity) + slackMs));
}

export function formatWindow(w: Window): string {
  return `${w.seconds === undefined ? "not over" : `${w.seconds.toFixed(1)} s`} (${w.failures} failed connection(s) from ${new Date(w.from).toISOString().slice(11, 23)}, first: ${w.firstError})`;
}

/** The traffic loops running in the probe container; stop() ends them and returns every record. */
export interface Traffic {
  stop(): Promise<TrafficRecord[]>;
}

export async function startTraffic(docker: Docker, probeContainer: string, options: { readonly passwordFile: string; readonly database: string; readonly backendPort: number; readonly frontendPort: number; readonly intervalMs?: number }): Promise<Traffic> {
  const id = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const out = `/tmp/traffic-${id}.jsonl`;
  const stopFile = `/tmp/traffic-${id}.stop`;
  const env = [
    `OUT=${out}`,
    `STOP=${stopFile}`,
    `INTERVAL_MS=${options.intervalMs ?? 100}`,
    `PGPASSWORD_FILE=${options.passwordFile}`,
    `PGDATABASE=${options.database}`,
    `BACKEND_PORT=${options.backendPort}`,
    `FRONTEND_PORT=${options.frontendPort}`,
    // Name lookups run on libuv's thread pool (4 threads by default). While the postgres name is
    // unpublished, each lookup of it waits for the embedded DNS server's upstream, which is
    // unreachable here: with 4 threads those waits held up the HTTP loops' lookups for seconds.
    "UV_THREADPOOL_SIZE=64",
  ];
  const started = await exec(docker, probeContainer, ["bash", "-c", `nohup node /standin/probe/traffic.js >/tmp/traffic-${id}.log 2>&1 & echo $!`], { env });
  const pid = started.stdout.trim();
  if (started.exitCode !== 0 || !/^\d+$/.test(pid)) throw new Error(`the traffic probe did not start: ${started.stderr || started.stdout}`);
  // Wait for its first records, so a drill never starts before the traffic does.
  for (let i = 0; i < 50; i++) {
    const n = await exec(docker, probeContainer, ["bash", "-c", `[ -s ${out} ] && wc -l < ${out} || echo 0`]);
    if (Number(n.stdout.trim()) >= 3) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    async stop() {
      await exec(docker, probeContainer, ["bash", "-c", `touch ${stopFile}; for i in $(seq 100); do kill -0 ${pid} 2>/dev/null || exit 0; sleep 0.1; done; kill ${pid}`]);
      const text = await exec(docker, probeContainer, ["cat", out], { timeoutMs: 120_000 });
      const log = await exec(docker, probeContainer, ["cat", `/tmp/traffic-${id}.log`]);
      if (log.stdout.trim()) throw new Error(`the traffic probe wrote errors: ${log.stdout.trim().slice(0, 500)}`);
      return text.stdout
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as TrafficRecord);
    },
  };
}
