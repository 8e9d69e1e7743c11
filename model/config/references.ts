/**
 * The grammars config values are checked against, each defined once: DNS names, e-mail
 * addresses, PostgreSQL identifiers, image references, Prometheus durations, URL paths.
 */

/** A lower-case DNS name with at least two labels (RFC 1123 labels, a letters-only TLD). */
export const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** An e-mail address Let's Encrypt can register: no spaces, quotes, angle brackets or backslashes. */
export const EMAIL = /^[A-Za-z0-9.!#$%&*+/=?^_{|}~-]+@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** A lower-case PostgreSQL identifier that needs no quoting (at most NAMEDATALEN - 1 = 63 bytes). */
export const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
/** A URL path such as /metrics. */
export const URL_PATH = /^\/[A-Za-z0-9._~\/-]*$/;

// Docker's reference grammar (distribution/reference, regexp.go): [domain/]path[:tag][@digest].
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const REGISTRY = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(`^(?:(${REGISTRY})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);

export interface ImageReference {
  /** Registry host[:port], when the first component is one (has a dot or a port, or is localhost). */
  readonly registry?: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Parses an image reference as Docker does; undefined when Docker would refuse it. */
export function parseImageReference(text: string): ImageReference | undefined {
  if (text.length > 255 + 128 + 80) return undefined;
  const m = REFERENCE.exec(text);
  if (!m) return undefined;
  let registry: string | undefined = m[1];
  let repository = m[2];
  // Docker's splitDockerDomain: a first component without ".", ":" or "localhost" is a path.
  if (registry !== undefined && !/[.:]/.test(registry) && registry !== "localhost") {
    if (registry !== registry.toLowerCase()) return undefined;
    repository = `${registry}/${repository}`;
    registry = undefined;
  }
  // go-digest (algorithm.go): each algorithm has one encoded length, lower-case hex; Docker refuses
  // any other ("invalid checksum digest length"), though the reference grammar alone allows it.
  if (m[4] !== undefined && !/^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/.test(m[4])) return undefined;
  return { registry, repository, tag: m[3], digest: m[4] };
}

/** A reference Swarm will run reproducibly: a tag that is not `latest`, or a digest. */
export function isPinnedImage(text: string): boolean {
  const ref = parseImageReference(text);
  return ref !== undefined && ((ref.tag !== undefined && ref.tag !== "latest") || ref.digest !== undefined);
}

/** "postgres:15.20-bookworm" -> 15: the major version a postgres image's tag starts with. */
export function postgresMajor(image: string): number | undefined {
  const tag = parseImageReference(image)?.tag;
  const match = tag ? /^(\d+)/.exec(tag) : null;
  return match ? Number(match[1]) : undefined;
}

/** Prometheus' duration syntax (prometheus/common model.ParseDuration), units largest first. */
const PROM_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const MS = 1_000_000n;
/** Nanoseconds per unit, in PROM_DURATION's order (model.ParseDuration's durationUnitMap). */
const PROM_UNIT_NS = [365n * 24n * 3600n * 1000n * MS, 7n * 24n * 3600n * 1000n * MS, 24n * 3600n * 1000n * MS, 3600n * 1000n * MS, 60n * 1000n * MS, 1000n * MS, MS];
const INT64_MAX = (1n << 63n) - 1n;

/**
 * Hours in a Prometheus duration ("15d" -> 360), or undefined when Prometheus would reject it:
 * model.ParseDuration refuses a number above 2^63 / the unit's nanoseconds, and a sum above
 * 2^63 - 1 ns ("duration out of range", about 292 years), so "300y" and "9999999999999d" fail
 * there and here. BigInt, so that no digit count rounds a refusal into a value.
 */
export function promDurationHours(text: string): number | undefined {
  const m = PROM_DURATION.exec(text);
  if (!m || text === "") return undefined;
  let ns = 0n;
  for (const [i, digits] of m.slice(1).entries()) {
    if (digits === undefined) continue;
    const v = BigInt(digits);
    if (v > (1n << 63n) / PROM_UNIT_NS[i]) return undefined;
    ns += v * PROM_UNIT_NS[i];
    if (ns > INT64_MAX) return undefined;
  }
  return Number(ns / MS) / 3_600_000;
}

/** The largest size Prometheus's --storage.tsdb.retention.size takes: a Base2Bytes is an int64 of bytes. */
export const PROM_MAX_BYTES = INT64_MAX;

/**
 * Special-use and never-public names (RFC 6761: example, invalid, localhost, test; RFC 6762: local;
 * RFC 7686: onion; RFC 8375: home.arpa, and arpa as a whole; RFC 9476: alt; ICANN's 2024 internal;
 * RFC 2606's example.com/net/org), and the private suffixes people use (lan). Let's Encrypt issues
 * for none of them, nor registers an ACME contact at one. One list for every host and e-mail key.
 */
export const SPECIAL_USE_SUFFIXES = ["localhost", "local", "test", "example", "invalid", "onion", "alt", "arpa", "internal", "lan", "example.com", "example.net", "example.org"] as const;

/** The special-use suffix a DNS name ends in (or is), or undefined. */
export function specialUseSuffix(host: string): string | undefined {
  const name = host.toLowerCase().replace(/\.$/, "");
  return SPECIAL_USE_SUFFIXES.find((suffix) => name === suffix || name.endsWith(`.${suffix}`));
}

/**
 * Characters no config value may hold: C0 and C1 controls (a tab or a line break in a webhook URL
 * is silently dropped by URL parsers and kept by others), format characters (zero-width spaces,
 * bidi marks), line and paragraph separators, and every space except ASCII's (a no-break space
 * looks like a field separator in a cron expression and is not one for the scheduler).
 */
export const UNSAFE_CHARACTER = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/u;

/** `scheme://user:password@` or `user:password@host`: a credential written into a URL or reference. */
// Without a scheme only when a host and a path follow, so that an image's `name:tag@sha256:...` is not one.
const URL_PASSWORD = /^(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/?#@:]*:[^\s/?#@]*@|[^\s/?#@:]+:[^\s/?#@]*@[^\s/?#@]+\/)/;

/** JSON text with backticks escaped too (JSON.stringify leaves them): safe inside Markdown code. */
export function printable(json: string): string {
  return json.replace(/`/g, "\\u0060");
}

/** A string quoted for a message: JSON, backticks escaped. */
export const quoted = (text: string): string => printable(JSON.stringify(text));

/** True when the text carries a password in a URL's user-info. */
export function hasUrlPassword(text: string): boolean {
  return URL_PASSWORD.test(text);
}

/** The text with a URL's password replaced by [secret]: for an error that must show the rest. */
export function redactUrlPassword(text: string): string {
  return hasUrlPassword(text) ? text.replace(/^((?:[A-Za-z][A-Za-z0-9+.-]*:\/\/)?[^\s/?#@:]*:)[^\s/?#@]*@/, "$1[secret]@") : text;
}

/** An http(s) URL with a host, or undefined. */
export function httpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "" ? url : undefined;
  } catch {
    return undefined;
  }
}
