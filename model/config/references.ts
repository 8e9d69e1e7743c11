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

/** Hours in a Prometheus duration ("15d" -> 360), or undefined when Prometheus would reject it. */
export function promDurationHours(text: string): number | undefined {
  const m = PROM_DURATION.exec(text);
  if (!m || text === "") return undefined;
  const [y, w, d, h, min, s, ms] = m.slice(1).map((v) => Number(v ?? 0));
  return y * 365 * 24 + w * 7 * 24 + d * 24 + h + min / 60 + s / 3600 + ms / 3_600_000;
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
