/**
 * Every tier's generated PostgreSQL settings, loaded by a real PostgreSQL 15: the server starts
 * with exactly `plan.postgres.settings` (rendered by the function the Postgres component uses),
 * takes every value from that file, and reads each one back as the plan meant it.
 */
import { PgCluster } from "./support/pgCluster";
import { allTierPlans } from "./support/tierPlans";
import { normaliseSetting } from "../support/pgValues";

interface SettingRow {
  name: string;
  setting: string;
  unit: string | null;
  vartype: "bool" | "enum" | "integer" | "real" | "string";
  source: string;
  sourcefile: string | null;
  pending_restart: boolean;
  shown: string;
}

const normalise = normaliseSetting;

/** The harness binds the server to loopback on its own port; everything else is the plan's. */
const HARNESS_OWNED = new Set(["listen_addresses", "port", "unix_socket_directories"]);
/** File locations: the harness points hba_file at its own pg_hba.conf, and PostgreSQL reports them with source "override". */
const FILE_LOCATIONS = new Set(["hba_file"]);

describe.each(allTierPlans())("%s tier: PostgreSQL 15 runs the plan's settings", (tier, { plan }) => {
  const settings = plan.postgres.settings;
  const names = Object.keys(settings).filter((name) => !HARNESS_OWNED.has(name));
  let cluster: PgCluster;
  let rows: Map<string, SettingRow>;

  beforeAll(async () => {
    cluster = await PgCluster.start({ settings });
    const found = await cluster.query<SettingRow & Record<string, unknown>>(
      `SELECT name, setting, unit, vartype, source, sourcefile, pending_restart, current_setting(name) AS shown
         FROM pg_settings WHERE name = ANY($1)`,
      [names],
    );
    rows = new Map(found.map((row) => [row.name, row]));
  });
  afterAll(() => cluster?.destroy());

  test("every setting is one PostgreSQL knows", () => {
    expect(names.filter((name) => !rows.has(name))).toEqual([]);
    expect(names.length).toBeGreaterThan(15);
  });

  test("every setting was applied from the rendered configuration file, with no restart pending", () => {
    const notFromFile = names
      .map((name) => rows.get(name)!)
      .filter((row) => !FILE_LOCATIONS.has(row.name))
      .filter((row) => row.source !== "configuration file" || !row.sourcefile?.endsWith("/advwell.conf") || row.pending_restart)
      .map((row) => `${row.name}: source=${row.source} file=${row.sourcefile} pending_restart=${row.pending_restart}`);
    expect(notFromFile).toEqual([]);
  });

  test("SHOW and pg_settings return the plan's value for every setting", () => {
    const mismatches = names.flatMap((name) => {
      const row = rows.get(name)!;
      const want = FILE_LOCATIONS.has(name) ? `${cluster.dataDir}/pg_hba.conf` : normalise(settings[name], row);
      const stored = normalise(row.setting, row);
      const shown = normalise(row.shown, row);
      return stored === want && shown === want ? [] : [`${name}: plan ${settings[name]} (${want}), pg_settings ${row.setting}${row.unit ? ` x ${row.unit}` : ""} (${stored}), SHOW ${row.shown} (${shown})`];
    });
    expect(mismatches).toEqual([]);
  });

  test("hba_file is in effect: the server reads the pg_hba.conf it points at", async () => {
    const rules = await cluster.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_hba_file_rules WHERE error IS NULL");
    expect(Number(rules[0].n)).toBeGreaterThan(0);
  });

  test(`max_connections is the tier's ${plan.connections.maxConnections} and shared_buffers is a quarter of the container`, () => {
    expect(rows.get("max_connections")!.setting).toBe(String(plan.connections.maxConnections));
    expect(normalise(rows.get("shared_buffers")!.shown, rows.get("shared_buffers")!)).toBe(`${(plan.postgres.memoryLimitMiB / 4) * 1024} kB`);
  });

  test("the server logged no rejected or ignored setting", () => {
    expect(cluster.log()).not.toMatch(/invalid value|unrecognized configuration parameter|could not be changed|contains errors/i);
  });
});

describe("the normalisation catches what PostgreSQL would read differently", () => {
  const memoryRow: SettingRow = { name: "shared_buffers", setting: "98304", unit: "8kB", vartype: "integer", source: "", sourcefile: null, pending_restart: false, shown: "768MB" };
  test("768MB, 786432kB and 98304 pages of 8kB are the same size", () => {
    expect(normalise("768MB", memoryRow)).toBe(normalise("786432kB", memoryRow));
    expect(normalise("98304", memoryRow)).toBe(normalise("768MB", memoryRow));
  });
  test("a unitless shared_buffers counts pages, not MB", () => {
    expect(normalise("768", memoryRow)).not.toBe(normalise("768MB", memoryRow));
  });
});

describe("every accepted override in the tests starts a real PostgreSQL 15 on top of a tier's plan", () => {
  const { ACCEPTED_OVERRIDES } = require("../fixtures/postgres-overrides") as typeof import("../fixtures/postgres-overrides");
  const { resolve } = require("../support/stacks") as typeof import("../support/stacks");
  let cluster: PgCluster;
  const overrides = ACCEPTED_OVERRIDES.map(([name, value]) => `postgres.settings.${name}=${value}`);
  const plan = resolve("production", [`advwell:overrides=${JSON.stringify(overrides)}`]).plan!;

  beforeAll(async () => {
    cluster = await PgCluster.start({ settings: plan.postgres.settings });
  });
  afterAll(() => cluster?.destroy());

  test.each(ACCEPTED_OVERRIDES.map(([n, v]) => [n, v] as const))("%s=%s is in effect", async (name, value) => {
    const [row] = await cluster.query<SettingRow & Record<string, unknown>>("SELECT name, setting, unit, vartype, source, sourcefile, pending_restart, current_setting(name) AS shown FROM pg_settings WHERE name = $1", [name]);
    expect(normalise(row.shown, row)).toBe(normalise(value, row));
  });
});
