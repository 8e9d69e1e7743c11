/**
 * The settings catalog and the checker against a real PostgreSQL 15, of whatever 15.x minor apt
 * installed on the machine:
 *   - regenerating model/postgres/pg15-settings.json from the server gives the committed file as
 *     it is at the server's minor (model/postgres/minors.ts: the parameters older minors lack), and
 *     the server really lacks, or has, each parameter of that table; any other difference fails;
 *   - for hand-picked cases and a sweep over every bool, enum and numeric parameter (its min, its
 *     max, one past each, a unit, garbage), `postgres -C name -c name=value` accepts exactly when
 *     checkSetting does. The few disagreements are check hooks the checker does not model; they
 *     are listed below, and the test fails if that list changes either way.
 */
import * as fs from "fs";
import * as path from "path";
import { checkSetting, HIDDEN_SETTINGS, PG15_CATALOG, PgCatalog, PgParameter } from "../../model/postgres/catalog";
import { catalogAtMinor, formatVersionNum, minorDifference, PG15_MINOR_CHANGES } from "../../model/postgres/minors";
import { CATALOG_FILE, generateCatalog, renderCatalog } from "../../scripts/pg-settings-catalog";
import { initDataDir, PG_BIN, runAsPostgresAsync } from "../../scripts/lib/pgServer";

jest.setTimeout(300_000);

interface Case {
  readonly name: string;
  readonly value: string;
}

/** Values PostgreSQL refuses in a check hook that the checker accepts (not modelled). */
const KNOWN_GAPS: readonly string[] = [
  // TimeZone / log_timezone: the name must exist in the server's time zone database.
  "TimeZone=Mars/Olympus_Mons",
  "log_timezone=Mars/Olympus_Mons",
  // Locale names must exist on the machine.
  "lc_messages=xx_XX.UTF-8",
  // check_max_stack_depth: at most the stack rlimit less a safety margin.
  "max_stack_depth=2147483647",
  "max_stack_depth=1GB",
  // A build option: Debian's PostgreSQL is built without Bonjour.
  "bonjour=on",
];

const HAND_PICKED: readonly Case[] = [
  { name: "foo_bar", value: "1" },
  { name: "shared_bufers", value: "1GB" },
  { name: "log_connections", value: "banana" },
  { name: "log_connections", value: "of" },
  { name: "log_connections", value: "o" },
  { name: "log_connections", value: " on" },
  { name: "log_connections", value: "" },
  { name: "work_mem", value: "16MB" },
  { name: "work_mem", value: "2621kB" },
  { name: "work_mem", value: "16 MB" },
  { name: "work_mem", value: "64kb" },
  { name: "work_mem", value: "64.5kB" },
  { name: "work_mem", value: "1.5MB" },
  { name: "work_mem", value: "2.5" },
  { name: "work_mem", value: "63.5" },
  { name: "work_mem", value: "64.5" },
  { name: "work_mem", value: "0x100" },
  { name: "work_mem", value: "1e3" },
  { name: "work_mem", value: "inf" },
  { name: "work_mem", value: "nan" },
  { name: "work_mem", value: "3000000000" },
  { name: "work_mem", value: "2TB" },
  { name: "work_mem", value: "16MBs" },
  { name: "work_mem", value: "1048576B" },
  { name: "shared_buffers", value: "1" },
  { name: "shared_buffers", value: "16" },
  { name: "shared_buffers", value: "127kB" },
  { name: "shared_buffers", value: "120kB" },
  { name: "shared_buffers", value: "768MB" },
  { name: "SHARED_BUFFERS", value: "1GB" },
  { name: "sort_mem", value: "16MB" },
  { name: "wal_buffers", value: "-1" },
  { name: "wal_buffers", value: "-2" },
  { name: "max_connections", value: "16MB" },
  { name: "max_connections", value: "0" },
  { name: "max_connections", value: "24" },
  { name: "statement_timeout", value: "1.5s" },
  { name: "statement_timeout", value: "1us" },
  { name: "statement_timeout", value: "1 fortnight" },
  { name: "autovacuum_naptime", value: "1500ms" },
  { name: "autovacuum_naptime", value: "400ms" },
  { name: "random_page_cost", value: "1.1" },
  { name: "random_page_cost", value: "-1" },
  { name: "checkpoint_completion_target", value: "1.5" },
  { name: "vacuum_cost_delay", value: "1.5ms" },
  { name: "vacuum_cost_delay", value: "1s" },
  { name: "password_encryption", value: "md5" },
  { name: "password_encryption", value: "on" },
  { name: "wal_compression", value: "LZ4" },
  { name: "wal_compression", value: "brotli" },
  { name: "synchronous_commit", value: "true" },
  { name: "wal_level", value: "hot_standby" },
  { name: "huge_pages", value: "maybe" },
  { name: "jit", value: "off" },
  { name: "block_size", value: "8192" },
  { name: "shared_memory_size", value: "100" },
  { name: "server_version", value: "16" },
  { name: "foo.bar", value: "1" },
  { name: "1foo.bar", value: "1" },
  { name: "search_path", value: "public" },
  { name: "application_name", value: "advwell" },
  // Parameters pg_settings hides.
  { name: "role", value: "none" },
  { name: "role", value: "postgres" },
  { name: "seed", value: "0.5" },
  { name: "seed", value: "2" },
  { name: "default_with_oids", value: "off" },
  { name: "default_with_oids", value: "on" },
  { name: "is_superuser", value: "on" },
  { name: "session_authorization", value: "postgres" },
];

/** Cases from the catalog itself: every bool, enum and numeric parameter at and past its edges. */
function sweep(settings: readonly PgParameter[]): Case[] {
  const cases: Case[] = [];
  for (const p of settings) {
    if (p.context === "internal") continue;
    const add = (value: string) => cases.push({ name: p.name, value });
    if (p.vartype === "bool") ["on", "of", "banana"].forEach(add);
    if (p.vartype === "enum") [...(p.enumvals ?? []), ...(p.enumAliases ?? []), (p.enumvals ?? [""])[0].toUpperCase(), "banana"].forEach(add);
    if (p.vartype === "integer" || p.vartype === "real") {
      const step = p.vartype === "integer" ? 1 : 0.5;
      [p.min!, p.max!].forEach(add);
      if (Math.abs(Number(p.min)) < 1e300) add(String(Number(p.min) - step));
      if (Math.abs(Number(p.max)) < 1e300) add(String(Number(p.max) + step));
      if (p.unit && /B$/.test(p.unit)) ["1MB", "1GB", "1s"].forEach(add);
      if (p.unit && !/B$/.test(p.unit)) ["1s", "1min", "1h", "1MB"].forEach(add);
      add("banana");
    }
  }
  return cases;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

/** The machine's server, read once: every test below compares against the catalog as at its minor. */
let machine: Promise<PgCatalog> | undefined;
const machineCatalog = () => (machine ??= generateCatalog());

describe("the PostgreSQL 15 settings catalog", () => {
  it("regenerated from the machine's server, equals the committed file as it is at that server's minor", async () => {
    const server = await machineCatalog();
    const { absent } = minorDifference(server.serverVersionNum);
    // A figure, not an assertion: which minor this machine has, and what the table took out for it.
    console.log(`FIGURE pg-catalog: server ${server.serverVersion}, catalog ${PG15_CATALOG.serverVersion}; parameters the server's minor lacks per model/postgres/minors.ts: ${absent.join(", ") || "none"}`);
    const text = renderCatalog(server);
    const expected = renderCatalog(catalogAtMinor(server.serverVersionNum, server.serverVersion));
    if (text !== expected) {
      // Show the first differing line rather than two 60 kB strings.
      const a = expected.split("\n");
      const b = text.split("\n");
      const i = a.findIndex((line, k) => line !== b[k]);
      throw new Error(`${path.relative(process.cwd(), CATALOG_FILE)} (read from ${PG15_CATALOG.serverVersion}) as at ${formatVersionNum(server.serverVersionNum)} differs from this server at line ${i + 1}:\n  expected: ${a[i]}\n  server:   ${b[i]}\nA difference model/postgres/minors.ts does not explain: regenerate the catalog (npx ts-node scripts/pg-settings-catalog.ts) on the catalog's minor, or record the minor's difference.`);
    }
    expect(text).toBe(expected);
  });

  it("at the catalog's own minor the comparison is the committed file itself", () => {
    expect(renderCatalog(catalogAtMinor(PG15_CATALOG.serverVersionNum, PG15_CATALOG.serverVersion))).toBe(fs.readFileSync(CATALOG_FILE, "utf8"));
  });

  it("the server lacks exactly the table's parameters its minor lacks, and knows the others (postgres -C)", async () => {
    const server = await machineCatalog();
    const { absent } = minorDifference(server.serverVersionNum);
    const dataDir = initDataDir("advwell-pgminor-");
    try {
      const known = await Promise.all(PG15_MINOR_CHANGES.map(async (c) => [c.name, (await runAsPostgresAsync(`${PG_BIN}/postgres`, ["-D", dataDir, "-C", c.name])).status === 0] as const));
      expect(Object.fromEntries(known)).toEqual(Object.fromEntries(PG15_MINOR_CHANGES.map((c) => [c.name, !absent.includes(c.name)])));
    } finally {
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    }
  });
});

describe("hidden parameters", () => {
  it("are the ones catalog.ts describes, all known to the server", () => {
    expect(PG15_CATALOG.hidden).toEqual(Object.keys(HIDDEN_SETTINGS).sort());
  });
});

describe("checkSetting agrees with `postgres -C name -c name=value`", () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = initDataDir("advwell-pgcatalog-");
  });
  afterAll(() => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));

  it("on hand-picked cases and on a sweep over the catalog, except the listed check-hook gaps", async () => {
    const gapCases = KNOWN_GAPS.map((g) => ({ name: g.slice(0, g.indexOf("=")), value: g.slice(g.indexOf("=") + 1) }));
    const seen = new Set<string>();
    // The sweep covers the parameters this server's minor has (the others are refused as unknown, shown above).
    const server = await machineCatalog();
    const { absent } = minorDifference(server.serverVersionNum);
    const cases = [...HAND_PICKED, ...gapCases, ...sweep(PG15_CATALOG.settings.filter((p) => !absent.includes(p.name)))].filter((c) => !seen.has(`${c.name}=${c.value}`) && seen.add(`${c.name}=${c.value}`));
    const results = await mapLimit(cases, 8, async (c) => {
      const run = await runAsPostgresAsync(`${PG_BIN}/postgres`, ["-D", dataDir, "-C", c.name, "-c", `${c.name}=${c.value}`]);
      const serverAccepts = run.status === 0;
      const checkerAccepts = checkSetting(c.name, c.value) === undefined;
      return { key: `${c.name}=${c.value}`, serverAccepts, checkerAccepts, stderr: run.stderr.trim().split("\n").pop() ?? "" };
    });
    const disagreements = results.filter((r) => r.serverAccepts !== r.checkerAccepts);
    // Every disagreement is a known gap where the server refuses and the checker accepts.
    const unexpected = disagreements.filter((d) => !(KNOWN_GAPS.includes(d.key) && d.checkerAccepts && !d.serverAccepts));
    expect(unexpected.map((d) => `${d.key}: server ${d.serverAccepts ? "accepts" : `refuses (${d.stderr})`}, checkSetting ${d.checkerAccepts ? "accepts" : "refuses"}`)).toEqual([]);
    // And every known gap is still one (if the checker learns it, remove it from the list).
    expect(disagreements.map((d) => d.key).sort()).toEqual([...KNOWN_GAPS].sort());
    // The sweep is large and has both outcomes in it.
    expect(results.length).toBeGreaterThan(1000);
    expect(results.filter((r) => r.serverAccepts).length).toBeGreaterThan(300);
    expect(results.filter((r) => !r.serverAccepts).length).toBeGreaterThan(300);
  });
});
