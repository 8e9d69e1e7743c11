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
 * A reference is pinned when it has a digest, or a tag other than `latest`.
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
  return [];
}
