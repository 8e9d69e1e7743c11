/**
 * PostgreSQL setting values as the server means them, for tests that compare the plan's settings
 * with what a real server reports (test/integration/postgres-settings.test.ts, the rehearsal's
 * `SHOW` checks in test/swarm/lib/checks.ts). Written from PostgreSQL's docs, independently of the
 * model's own parsing, so the comparison does not check the model against itself.
 */

/** PostgreSQL's memory units are powers of 1024 of a kB; time units are based on ms. */
const MEMORY_KB: Record<string, number> = { kB: 1, MB: 1024, GB: 1024 ** 2, TB: 1024 ** 3 };
const TIME_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** What normalising needs of a pg_settings row. */
export interface SettingUnit {
  readonly unit: string | null;
  readonly vartype: string;
}

/** "8kB" -> 8 kB, "MB" -> 1024 kB, "min" -> 60000 ms. */
export function unitValue(unit: string): { amount: number; base: "kB" | "ms" } {
  const match = /^(\d*)([a-zA-Z]+)$/.exec(unit);
  if (!match) throw new Error(`unknown PostgreSQL unit "${unit}"`);
  const count = match[1] === "" ? 1 : Number(match[1]);
  if (match[2] in MEMORY_KB) return { amount: count * MEMORY_KB[match[2]], base: "kB" };
  if (match[2] in TIME_MS) return { amount: count * TIME_MS[match[2]], base: "ms" };
  throw new Error(`unknown PostgreSQL unit "${unit}"`);
}

/**
 * A value as PostgreSQL means it, so "2304MB", "2359296kB" and pg_settings' "294912" x 8kB all
 * read the same: memory in kB, time in ms, booleans as on/off, numbers as numbers. A unitless
 * value counts in the setting's own unit, which is how PostgreSQL reads it too.
 */
export function normaliseSetting(value: string, row: SettingUnit): string {
  const text = value.trim();
  if (row.vartype === "bool") return ["on", "true", "yes", "1"].includes(text.toLowerCase()) ? "on" : "off";
  if (row.unit) {
    const match = /^(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text);
    if (!match) return `unreadable:${text}`;
    const { amount, base } = unitValue(match[2] === "" ? row.unit : match[2]);
    return `${Number(match[1]) * amount} ${base}`;
  }
  if (row.vartype === "integer" || row.vartype === "real") return String(Number(text));
  return row.vartype === "enum" ? text.toLowerCase() : text;
}
