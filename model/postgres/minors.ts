/**
 * PostgreSQL 15 minor releases differ in their parameters: security releases add some
 * (output_plugin_libraries in the CVE-2026-6471 fix, composite_type_mismatch with the composite-type
 * versioning of the 15.20 release notes). pg15-settings.json is read from one minor (its
 * `serverVersionNum`); this table says, per parameter, which minors have it, from servers actually
 * read, so that
 *   - the integration test compares a machine's server of another minor with the catalog as it is
 *     at that minor (and still fails on any difference the table does not explain);
 *   - the plan names the parameters that differ when the configured postgres image is another
 *     minor than the catalog's, and refuses an override the image's minor does not know.
 *
 * How an entry is made: run scripts/pg-settings-catalog.ts on a server of the other minor and diff
 * it against the committed file (the header and server_version* always differ; anything else is an
 * entry). `knownAbsentThrough` is the newest minor read without the parameter, `knownPresentFrom`
 * the oldest read with it; a minor between the two was never read, and nothing is guessed for it.
 */
import { PG15_CATALOG, PgCatalog, PgParameter } from "./catalog";

export interface MinorChange {
  /** The parameter as pg_settings spells it. */
  readonly name: string;
  /** The newest minor read without it (a server's `server_version_num`, e.g. 150018). */
  readonly knownAbsentThrough: number;
  /** The oldest minor read with it. */
  readonly knownPresentFrom: number;
  /** Which servers were read, and why the parameter came. */
  readonly evidence: string;
}

const DEBIAN = "absent from Debian bookworm's postgresql-15 15.18-0+deb12u1, present in bookworm-security's 15.20-0+deb12u1 (both read with scripts/pg-settings-catalog.ts); 15.19 was never in Debian";

export const PG15_MINOR_CHANGES: readonly MinorChange[] = [
  {
    name: "composite_type_mismatch",
    knownAbsentThrough: 150018,
    knownPresentFrom: 150020,
    evidence: `${DEBIAN}. The 15.20 release notes: defenses against composite types altered concurrently with queries using them (versioned composite datums); the parameter chooses error, warn or disabled on a mismatch.`,
  },
  {
    name: "output_plugin_libraries",
    knownAbsentThrough: 150018,
    knownPresentFrom: 150020,
    evidence: `${DEBIAN}. Added by "Add an output_plugin_libraries GUC to bless trusted output plugins" (CVE-2026-6471, back-patched through 14): logical decoding loads only the listed output plugins (default 'pgoutput, test_decoding').`,
  },
];

/** 150020 -> "15.20". */
export function formatVersionNum(num: number): string {
  return `${Math.floor(num / 10000)}.${num % 10000}`;
}

/** "15.20" or "15.20-bookworm" (an image tag) -> 150020; undefined for a tag without a minor ("15", "15-bookworm"). */
export function versionNumOfTag(tag: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})(?![\d.])/.exec(tag);
  return m ? Number(m[1]) * 10000 + Number(m[2]) : undefined;
}

export interface MinorDifference {
  /** Parameters the catalog has and this minor does not. */
  readonly absent: readonly string[];
  /** Parameters nobody read at this minor: whether it has them is unknown. */
  readonly unknown: readonly string[];
}

/** How the parameters of a minor (same major) differ from the catalog's, as far as the table knows. */
export function minorDifference(versionNum: number, catalog: PgCatalog = PG15_CATALOG, changes: readonly MinorChange[] = PG15_MINOR_CHANGES): MinorDifference {
  const absent: string[] = [];
  const unknown: string[] = [];
  for (const c of changes) {
    const inCatalog = catalog.serverVersionNum >= c.knownPresentFrom;
    if (!inCatalog) continue;
    if (versionNum <= c.knownAbsentThrough) absent.push(c.name);
    else if (versionNum < c.knownPresentFrom) unknown.push(c.name);
  }
  return { absent, unknown };
}

/**
 * The catalog as a server of `versionNum` reports it: the table's parameters that minor lacks taken
 * out, and the version fields (header, server_version, server_version_num) that server's. Throws
 * when the table cannot say (a minor nobody read, or a minor newer than the catalog's: its new
 * parameters are unknown until the catalog is regenerated from it).
 */
export function catalogAtMinor(versionNum: number, serverVersion: string, catalog: PgCatalog = PG15_CATALOG, changes: readonly MinorChange[] = PG15_MINOR_CHANGES): PgCatalog {
  if (Math.floor(versionNum / 10000) !== Math.floor(catalog.serverVersionNum / 10000)) {
    throw new Error(`PostgreSQL ${formatVersionNum(versionNum)} is another major than the catalog's ${formatVersionNum(catalog.serverVersionNum)}`);
  }
  if (versionNum > catalog.serverVersionNum) {
    throw new Error(`PostgreSQL ${formatVersionNum(versionNum)} is newer than the catalog (${formatVersionNum(catalog.serverVersionNum)}): regenerate model/postgres/pg15-settings.json from it (npx ts-node scripts/pg-settings-catalog.ts), record what the older minors lack in model/postgres/minors.ts, and move the postgresImage default to it`);
  }
  const { absent, unknown } = minorDifference(versionNum, catalog, changes);
  if (unknown.length > 0) {
    throw new Error(`nobody has read PostgreSQL ${formatVersionNum(versionNum)}'s parameters: whether it has ${unknown.join(", ")} is unknown; read it with scripts/pg-settings-catalog.ts and record it in model/postgres/minors.ts`);
  }
  const version = (p: PgParameter): PgParameter =>
    p.name === "server_version" ? { ...p, bootVal: serverVersion } : p.name === "server_version_num" ? { ...p, min: String(versionNum), max: String(versionNum), bootVal: String(versionNum) } : p;
  return {
    ...catalog,
    serverVersion,
    serverVersionNum: versionNum,
    settings: catalog.settings.filter((p) => !absent.includes(p.name)).map(version),
  };
}

/**
 * What the plan says about a postgres image of another minor than the catalog's: the parameters
 * that differ, by name; undefined when the minors agree or the table has nothing to say.
 */
export function imageMinorNote(imageTag: string | undefined, catalog: PgCatalog = PG15_CATALOG): string | undefined {
  const catalogMinor = formatVersionNum(catalog.serverVersionNum);
  const num = imageTag === undefined ? undefined : versionNumOfTag(imageTag);
  if (num === undefined) return `the tag names no minor release, so the parameters the server knows are not pinned; the settings are checked against PostgreSQL ${catalogMinor} (pin e.g. postgres:${catalogMinor}-bookworm)`;
  if (num === catalog.serverVersionNum || Math.floor(num / 10000) !== Math.floor(catalog.serverVersionNum / 10000)) return undefined;
  const minor = formatVersionNum(num);
  if (num > catalog.serverVersionNum) {
    return `PostgreSQL ${minor} is newer than the settings catalog (${catalogMinor}): parameters added after ${catalogMinor} are refused as unknown until the catalog is regenerated from ${minor}`;
  }
  const { absent, unknown } = minorDifference(num, catalog);
  const parts = [
    ...(absent.length ? [`${absent.join(", ")} (in ${catalogMinor}, not in ${minor})`] : []),
    ...(unknown.length ? [`${unknown.join(", ")} (in ${catalogMinor}; ${minor} never read)`] : []),
  ];
  return `PostgreSQL ${minor} is ${num < catalog.serverVersionNum ? "older" : "newer"} than the settings catalog (${catalogMinor}) and misses its security fixes; parameters that differ: ${parts.length ? parts.join("; ") : "none known"}`;
}

/** Parameters an override may not set on this image's minor (the catalog has them, the minor does not, or may not). */
export function parametersMissingAt(imageTag: string | undefined, catalog: PgCatalog = PG15_CATALOG): readonly string[] {
  const num = imageTag === undefined ? undefined : versionNumOfTag(imageTag);
  if (num === undefined || num >= catalog.serverVersionNum) return [];
  const { absent, unknown } = minorDifference(num, catalog);
  return [...absent, ...unknown];
}
