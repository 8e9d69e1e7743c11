/** Progress lines and phase timings from inside the jest run; run.ts prints the timings at the end. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";

export function say(line: string): void {
  process.stderr.write(`[rehearsal] ${line}\n`);
}

export function recordTiming(name: string, ms: number, note?: string): void {
  say(`${name}: ${(ms / 1000).toFixed(1)} s${note ? ` (${note})` : ""}`);
  const file = process.env.ADVWELL_REHEARSAL_TIMINGS;
  if (file) fs.appendFileSync(file, `${JSON.stringify({ name, ms, note })}\n`);
}

/**
 * A drill's measured figure (failed requests, seconds of outage, seconds to roll back): printed at
 * once, and again in run.ts's table at the end, with the load it was measured under.
 */
export function recordFigure(drill: string, figure: string, value: string, note?: string): void {
  say(`FIGURE ${drill}: ${figure} = ${value}${note ? ` (${note})` : ""}`);
  const file = process.env.ADVWELL_REHEARSAL_TIMINGS;
  if (file) fs.appendFileSync(file, `${JSON.stringify({ figure: true, drill, name: figure, value, note })}\n`);
}

export async function timed<T>(name: string, fn: () => Promise<T>, note?: (value: T) => string): Promise<T> {
  const started = Date.now();
  const value = await fn();
  recordTiming(name, Date.now() - started, note?.(value));
  return value;
}

/**
 * The machine's load when a figure is taken: the 1-minute load average and how many dockerd run
 * (another rehearsal on this machine shares its two CPUs).
 */
export function loadNote(): string {
  const daemons = spawnSync("pgrep", ["-c", "-x", "dockerd"], { encoding: "utf8" }).stdout.trim() || "0";
  return `load ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} CPUs, ${daemons} dockerd running`;
}
