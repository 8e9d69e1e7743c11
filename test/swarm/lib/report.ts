/** Progress lines and phase timings from inside the jest run; run.ts prints the timings at the end. */
import * as fs from "fs";

export function say(line: string): void {
  process.stderr.write(`[rehearsal] ${line}\n`);
}

export function recordTiming(name: string, ms: number, note?: string): void {
  say(`${name}: ${(ms / 1000).toFixed(1)} s${note ? ` (${note})` : ""}`);
  const file = process.env.ADVWELL_REHEARSAL_TIMINGS;
  if (file) fs.appendFileSync(file, `${JSON.stringify({ name, ms, note })}\n`);
}

export async function timed<T>(name: string, fn: () => Promise<T>, note?: (value: T) => string): Promise<T> {
  const started = Date.now();
  const value = await fn();
  recordTiming(name, Date.now() - started, note?.(value));
  return value;
}
