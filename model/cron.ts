/**
 * The five-field cron subset the backup service's scheduler (containers/backup/backup.sh schedule)
 * implements, in UTC: parsing, the longest gap between runs, and whether an expression fires in a
 * given minute. Pure.
 */
interface CronFieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
}

const CRON_FIELDS: readonly CronFieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  // 7 is Sunday as well, as in Vixie cron.
  { name: "day of week", min: 0, max: 7 },
];

export interface CronSchedule {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  /** Vixie cron: when both day fields are restricted, a day matches if either matches. */
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

/** Parses one field (`*`, `*\/15`, `5`, `1-5`, `0-30/10`, comma lists). Returns a reason on error. */
function parseCronField(text: string, spec: CronFieldSpec): Set<number> | string {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!match) return `${spec.name} "${part}" is not *, N, N-M or a step (*/N, N-M/S); names like MON and macros like @daily are not supported`;
    const step = match[4] !== undefined ? Number(match[4]) : 1;
    const lo = match[1] === "*" ? spec.min : Number(match[2]);
    const hi = match[1] === "*" ? spec.max : match[3] !== undefined ? Number(match[3]) : match[4] !== undefined ? spec.max : lo;
    if (step < 1) return `${spec.name} step in "${part}" must be at least 1`;
    if (lo < spec.min || hi > spec.max || lo > hi) return `${spec.name} "${part}" is outside ${spec.min}-${spec.max}`;
    for (let v = lo; v <= hi; v += step) values.add(spec.name === "day of week" && v === 7 ? 0 : v);
  }
  return values;
}

export function parseCron(expression: string): CronSchedule | string {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) return `"${expression}" has ${fields.length} fields; a cron expression has five: minute hour day-of-month month day-of-week`;
  const parsed: Set<number>[] = [];
  for (let i = 0; i < 5; i++) {
    const result = parseCronField(fields[i], CRON_FIELDS[i]);
    if (typeof result === "string") return result;
    parsed.push(result);
  }
  return {
    minutes: parsed[0],
    hours: parsed[1],
    daysOfMonth: parsed[2],
    months: parsed[3],
    daysOfWeek: parsed[4],
    domRestricted: fields[2] !== "*",
    dowRestricted: fields[4] !== "*",
  };
}

function dayMatches(schedule: CronSchedule, date: Date): boolean {
  if (!schedule.months.has(date.getUTCMonth() + 1)) return false;
  const dom = schedule.daysOfMonth.has(date.getUTCDate());
  const dow = schedule.daysOfWeek.has(date.getUTCDay());
  if (schedule.domRestricted && schedule.dowRestricted) return dom || dow;
  return dom && dow;
}

/**
 * The longest gap, in seconds, between consecutive runs, scanned day by day over five years from
 * a leap year: every weekday/date combination occurs, and "29 Feb" fires twice (2024, 2028).
 * Undefined when the expression never fires (e.g. 31 Feb).
 */
const maxGapCache = new Map<string, number | undefined>();

export function cronMaxGapSeconds(schedule: CronSchedule): number | undefined {
  // Five years scanned day by day: the same schedule is planned for every stack and tier, so once.
  const key = [schedule.minutes, schedule.hours, schedule.daysOfMonth, schedule.months, schedule.daysOfWeek].map((s) => [...s].sort((a, b) => a - b).join(",")).join(" ") + ` ${schedule.domRestricted} ${schedule.dowRestricted}`;
  if (!maxGapCache.has(key)) maxGapCache.set(key, scanMaxGapSeconds(schedule));
  return maxGapCache.get(key);
}

function scanMaxGapSeconds(schedule: CronSchedule): number | undefined {
  const minutesOfDay: number[] = [];
  for (const h of [...schedule.hours].sort((a, b) => a - b)) for (const m of [...schedule.minutes].sort((a, b) => a - b)) minutesOfDay.push(h * 60 + m);
  const start = Date.UTC(2024, 0, 1);
  const days = 5 * 365 + 2;
  let first: number | undefined;
  let previous: number | undefined;
  let maxGap = 0;
  for (let d = 0; d < days; d++) {
    const dayStart = start + d * 86400000;
    if (!dayMatches(schedule, new Date(dayStart))) continue;
    for (const minute of minutesOfDay) {
      const t = dayStart / 1000 + minute * 60;
      if (previous !== undefined) maxGap = Math.max(maxGap, t - previous);
      first ??= t;
      previous = t;
    }
  }
  if (first === undefined || previous === undefined) return undefined;
  // Fired once in five years: the gap is at least that long.
  return first === previous ? days * 86400 : maxGap;
}

/** True when a parsed schedule fires in the UTC minute of `date` (the scheduler's rule). */
export function cronMatchesAt(schedule: CronSchedule, date: Date): boolean {
  return schedule.minutes.has(date.getUTCMinutes()) && schedule.hours.has(date.getUTCHours()) && dayMatches(schedule, date);
}
