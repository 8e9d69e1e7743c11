/**
 * Docker image references, parsed with the grammar of distribution/reference (the library Docker
 * itself uses):
 *
 *   reference       := name [ ":" tag ] [ "@" digest ]
 *   name            := [domain '/'] path-component ['/' path-component]*
 *   domain          := host [':' port-number]          e.g. registry.example.com:5000, [::1]:5000
 *   path-component  := alpha-numeric [separator alpha-numeric]*   (lowercase)
 *   separator       := /[_.]|__|[-]+/
 *   tag             := /[\w][\w.-]{0,127}/
 *   digest          := algorithm ":" hex                 (sha256: 64 hex digits, sha512: 128)
 *
 * A reference is pinned when it has a digest, or a full version tag: not `latest` (or another
 * channel name such as `stable`), and not a bare major (`15`, `v3`, `15-alpine`), which the
 * publisher moves to every new minor and patch release.
 */
const ALNUM = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|-+)";
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = "\\[[a-fA-F0-9:]+\\]";
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const NAME_MAX = 255;
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

export interface ImageReference {
  readonly name: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** The parts of a reference, or a reason it is not one. */
export function parseImageReference(image: string): ImageReference | { readonly error: string } {
  const m = REFERENCE.exec(image);
  if (!m) return { error: `"${image}" is not a valid image reference` };
  const [, name, tag, digest] = m;
  if (name.length > NAME_MAX) return { error: `"${image}": the repository name is longer than ${NAME_MAX} characters` };
  if (digest) {
    const [algorithm, hex] = digest.split(":");
    const expected = DIGEST_HEX_LENGTH[algorithm];
    if (expected !== undefined && hex.length !== expected) return { error: `"${image}": a ${algorithm} digest has ${expected} hex digits, not ${hex.length}` };
  }
  return { name, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Why an image is not pinned, or nothing. */
export function imagePinViolations(image: unknown): string[] {
  if (typeof image !== "string" || image === "") return ["has no image"];
  const ref = parseImageReference(image);
  if ("error" in ref) return [`image ${ref.error}`];
  if (ref.digest) return [];
  if (ref.tag === undefined) return [`image "${image}" has no tag, so Docker pulls :latest; pin a version tag or a digest`];
  if (ref.tag === "latest") return [`image "${image}" uses the moving tag latest; pin a version tag or a digest`];
  if (CHANNEL_TAGS.has(ref.tag.toLowerCase())) return [`image "${image}" uses the moving tag ${ref.tag}; pin a full version tag or a digest`];
  if (MAJOR_ONLY.test(ref.tag) && !(ref.name in BUILD_NUMBERED_REPOSITORIES) && !(ref.name in KNOWN_FLOATING)) {
    return [`image "${image}" uses the major-only tag ${ref.tag}, which moves with every release of that major; pin a full version tag (major.minor or more) or a digest`];
  }
  return [];
}

/** Tags that name a release channel, not a release. */
const CHANNEL_TAGS = new Set(["stable", "edge", "mainline", "lts", "alpine", "slim", "bookworm", "nightly", "develop", "dev", "main", "master"]);
/** `15`, `v3`, `15-alpine`, `16-bookworm`: a major version and at most a variant. */
const MAJOR_ONLY = /^v?\d+(-[a-z][\w.]*)?$/i;

/**
 * Repositories whose tags are build numbers (`v52`), each pushed once and never moved: the
 * application's own images, built and tagged per release by its CI (the seed's runbook ships
 * `tomautomations/advwell-backend:v53` as the next release).
 */
export const BUILD_NUMBERED_REPOSITORIES: Readonly<Record<string, string>> = {
  "tomautomations/advwell-backend": "the application's backend, one tag per build",
  "tomautomations/advwell-frontend": "the application's frontend, one tag per build",
};

/**
 * Floating tags the stack still deploys by default, each with why, so that every exception is a
 * visible decision. Pin them (a digest, through their config key) and remove the entry.
 */
export const KNOWN_FLOATING: Readonly<Record<string, string>> = {
  "siemens/postgres-backup-s3":
    "the backup job's default, siemens/postgres-backup-s3:<major> (model/backup/plan.ts): rebuilt weekly on its major's newest release; no immutable tag of it has been verified yet; pin one with advwell:backupImage",
};
