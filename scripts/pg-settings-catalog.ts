/**
 * Generates model/postgres/pg15-settings.json, the table of PostgreSQL 15's parameters that
 * model/postgres/catalog.ts validates settings against, from a real server:
 *   1. initdb a throwaway cluster, start it on loopback, read pg_settings (name, vartype, unit,
 *      min_val, max_val, enumvals, context, boot_val) and the block sizes;
 *   2. stop it, and ask `postgres -C name -c name=alias` which enum spellings the server accepts
 *      beyond the ones pg_settings lists (PostgreSQL's hidden enum entries: "true"/"1" for
 *      synchronous_commit, "hot_standby" for wal_level, ...).
 * The output is sorted by name, one parameter per line, so that a diff shows what changed.
 * test/integration/pg-catalog.test.ts runs generateCatalog() again and compares it with the file.
 *
 *   npx ts-node scripts/pg-settings-catalog.ts            writes the file
 *   npx ts-node scripts/pg-settings-catalog.ts --check    exits 1 when the file differs
 *   npx ts-node scripts/pg-settings-catalog.ts --minor    prints the machine's minor and the
 *       catalog's; exits 1 when model/postgres/minors.ts cannot relate them (.ci/run runs it
 *       before the tests, so an apt that found an unread minor says so in one line)
 */
import * as fs from "fs";
import * as path from "path";
import { HIDDEN_SETTINGS, PG15_CATALOG, PgCatalog, PgParameter } from "../model/postgres/catalog";
import { catalogAtMinor, minorDifference, versionNumOfTag } from "../model/postgres/minors";
import { PgServer, postgresShow, runAsPostgresAsync, PG_BIN, serverVersion } from "./lib/pgServer";

export const CATALOG_FILE = path.resolve(__dirname, "..", "model", "postgres", "pg15-settings.json");

/** Spellings PostgreSQL hides from pg_settings.enumvals but accepts (guc_tables.c "hidden" entries). */
const ALIAS_CANDIDATES = ["on", "off", "true", "false", "yes", "no", "1", "0", "debug", "info", "archive", "hot_standby"];

/** One parameter of the generated table (the model's type, so the file and its reader agree). */
export type CatalogSetting = PgParameter;
export type Catalog = PgCatalog;

interface PgSettingsRow extends Record<string, unknown> {
  name: string;
  vartype: CatalogSetting["vartype"];
  context: string;
  unit: string | null;
  min_val: string | null;
  max_val: string | null;
  enumvals: string[] | null;
  boot_val: string | null;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

export async function generateCatalog(): Promise<Catalog> {
  const server = await PgServer.start();
  try {
    const rows = await server.query<PgSettingsRow>(
      "SELECT name, vartype, context, unit, min_val, max_val, enumvals, boot_val FROM pg_settings WHERE name NOT LIKE '%.%' ORDER BY name COLLATE \"C\"",
    );
    const [info] = await server.query<{ num: string; block: string; wal: string }>(
      "SELECT current_setting('server_version_num') AS num, current_setting('block_size') AS block, current_setting('wal_block_size') AS wal",
    );
    server.stop();
    const probes = rows
      .filter((r) => r.vartype === "enum" && r.context !== "internal")
      .flatMap((r) => ALIAS_CANDIDATES.filter((a) => !(r.enumvals ?? []).some((v) => v.toLowerCase() === a)).map((alias) => ({ name: r.name, alias })));
    const accepted = await mapLimit(probes, 8, async ({ name, alias }) => {
      const run = await runAsPostgresAsync(`${PG_BIN}/postgres`, ["-D", server.dataDir, "-C", name, "-c", `${name}=${alias}`]);
      return run.status === 0;
    });
    const aliases = new Map<string, string[]>();
    probes.forEach((p, i) => {
      if (accepted[i]) aliases.set(p.name, [...(aliases.get(p.name) ?? []), p.alias]);
    });
    // A probe that cannot fail proves nothing: one known-bad value must be refused.
    if (postgresShow(server.dataDir, "wal_level", { wal_level: "banana" }).status === 0) throw new Error("postgres -C accepted wal_level=banana; cannot probe enum aliases this way");
    // Parameters pg_settings hides: the ones catalog.ts describes by hand, kept if the server knows them.
    const hidden = Object.keys(HIDDEN_SETTINGS).filter((name) => postgresShow(server.dataDir, name).status === 0).sort();
    if (postgresShow(server.dataDir, "no_such_parameter").status === 0) throw new Error("postgres -C accepted an unknown name; cannot probe hidden parameters this way");
    const settings: CatalogSetting[] = rows.map((r) => ({
      name: r.name,
      vartype: r.vartype,
      context: r.context,
      unit: r.unit,
      min: r.min_val,
      max: r.max_val,
      enumvals: r.enumvals,
      ...(aliases.has(r.name) ? { enumAliases: aliases.get(r.name)! } : {}),
      bootVal: r.boot_val,
    }));
    return {
      generatedBy: "scripts/pg-settings-catalog.ts",
      serverVersion: serverVersion().replace(/^postgres \(PostgreSQL\) /, ""),
      serverVersionNum: Number(info.num),
      blockSize: Number(info.block),
      walBlockSize: Number(info.wal),
      hidden,
      settings,
    };
  } finally {
    server.destroy();
  }
}

/** Stable text: header fields, then one parameter per line, sorted by name. */
export function renderCatalog(catalog: Catalog): string {
  const { settings, ...header } = catalog;
  const head = JSON.stringify(header, null, 2).replace(/\n}$/, "");
  const lines = [...settings].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((s) => `    ${JSON.stringify(s)}`);
  return `${head},\n  "settings": [\n${lines.join(",\n")}\n  ]\n}\n`;
}

/** The machine's minor against the catalog's, without starting a server. */
function minorCheck(): number {
  const version = serverVersion().replace(/^postgres \(PostgreSQL\) /, "");
  const num = versionNumOfTag(version);
  if (num === undefined) {
    console.error(`cannot read a minor release from ${PG_BIN}/postgres --version: "${version}"`);
    return 1;
  }
  try {
    catalogAtMinor(num, version);
  } catch (e) {
    console.error(`PostgreSQL ${version} on this machine: ${(e as Error).message}`);
    return 1;
  }
  const { absent } = minorDifference(num);
  console.log(`PostgreSQL ${version} on this machine; the catalog is ${PG15_CATALOG.serverVersion}${absent.length ? `; this minor lacks ${absent.join(", ")} (model/postgres/minors.ts)` : ""}`);
  return 0;
}

async function main(): Promise<void> {
  if (process.argv.includes("--minor")) process.exit(minorCheck());
  const text = renderCatalog(await generateCatalog());
  if (process.argv.includes("--check")) {
    const current = fs.existsSync(CATALOG_FILE) ? fs.readFileSync(CATALOG_FILE, "utf8") : "";
    if (current !== text) {
      console.error(`${path.relative(process.cwd(), CATALOG_FILE)} differs from this server's pg_settings; run without --check to regenerate`);
      process.exit(1);
    }
    console.log("catalog matches the server");
    return;
  }
  fs.writeFileSync(CATALOG_FILE, text);
  console.log(`wrote ${CATALOG_FILE}`);
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  });
}
