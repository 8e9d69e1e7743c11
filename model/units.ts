/**
 * Units live in names (`memoryMiB`, `cpus`, `nanoCpus`) and conversions happen only here.
 * Sizes in config are human strings ("16GB", "512MiB"); PostgreSQL's own unit rules apply:
 * in postgresql.conf "kB", "MB", "GB" and "TB" are powers of 1024, so "1GB" = 1024 MiB.
 * We accept both spellings (GB and GiB) and treat them the same, as PostgreSQL and Docker do.
 */

const SIZE_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|k|mb|mib|m|gb|gib|g|tb|tib|t)\s*$/i;

const KIB_PER_UNIT: Record<string, number> = {
  b: 1 / 1024,
  k: 1, kb: 1, kib: 1,
  m: 1024, mb: 1024, mib: 1024,
  g: 1024 * 1024, gb: 1024 * 1024, gib: 1024 * 1024,
  t: 1024 ** 3, tb: 1024 ** 3, tib: 1024 ** 3,
};

/** Parses "16GB", "512MiB", "2603kB" into KiB. Returns undefined for anything malformed. */
export function parseSizeKiB(text: string): number | undefined {
  const match = SIZE_PATTERN.exec(text);
  if (!match) return undefined;
  const kib = Number(match[1]) * KIB_PER_UNIT[match[2].toLowerCase()];
  return Number.isFinite(kib) && kib > 0 ? kib : undefined;
}

/** Parses a size into whole MiB (rounded down). Returns undefined for anything malformed. */
export function parseSizeMiB(text: string): number | undefined {
  const kib = parseSizeKiB(text);
  return kib === undefined ? undefined : Math.floor(kib / 1024);
}

/**
 * Formats KiB the way postgresql.conf writes memory: the largest unit that divides evenly,
 * so 1048576 -> "1GB", 16384 -> "16MB", 2621 -> "2621kB".
 */
export function formatPgSizeKiB(kib: number): string {
  const whole = Math.floor(kib);
  if (whole % (1024 * 1024) === 0) return `${whole / (1024 * 1024)}GB`;
  if (whole % 1024 === 0) return `${whole / 1024}MB`;
  return `${whole}kB`;
}

export function formatPgSizeMiB(mib: number): string {
  return formatPgSizeKiB(Math.floor(mib) * 1024);
}

/** Human form for tables: 3072 -> "3 GiB", 768 -> "768 MiB". */
export function formatMiB(mib: number): string {
  if (mib >= 1024 && mib % 1024 === 0) return `${mib / 1024} GiB`;
  if (mib >= 1024) return `${(mib / 1024).toFixed(2)} GiB`;
  return `${Math.round(mib)} MiB`;
}

/** Docker wants bytes. */
export function mibToBytes(mib: number): number {
  return Math.round(mib * 1024 * 1024);
}

/** Docker wants nanoCPUs (1 CPU = 1e9). */
export function cpusToNanoCpus(cpus: number): number {
  return Math.round(cpus * 1e9);
}

/**
 * Swarm config and secret contents go to the docker provider as standard base64 of the UTF-8 text.
 * The Terraform docker provider the tools build (kreuzwerker 2022-11-02,
 * internal/provider/resource_docker_config.go) knows only `data`, validated by
 * validateStringIsBase64Encoded and decoded with base64.StdEncoding; it refuses `dataRaw`
 * ("Invalid or unknown key"). Read sets `data` back the same way, so what we send is what Read
 * returns. Newer provider lines accept `data` too.
 */
export function textToBase64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

/** The text a Swarm config's base64 `data` holds (the inverse of textToBase64), for views that show it. */
export function base64ToText(data: string): string {
  return Buffer.from(data, "base64").toString("utf8");
}

/** CPU figures are kept to 1/1000 of a core so that sums like 0.1 + 0.2 do not drift. */
export function roundCpus(cpus: number): number {
  return Math.round(cpus * 1000) / 1000;
}

export function percent(used: number, total: number): number {
  return total === 0 ? 0 : Math.round((used / total) * 1000) / 10;
}
