/**
 * No Swarm secret or config holds a value that the program did not mark secret.
 *
 * - A `docker.Secret`'s `data` must arrive marked secret (wire form: see common.ts). The TypeScript
 *   provider SDK wraps it itself; a resource registered another way, or by an SDK that does not,
 *   would put the value in the state and in every preview in plain text.
 * - A `docker.ServiceConfig` must hold no credential. Swarm stores configs unencrypted and
 *   `docker config inspect` prints them, so a credential in a config is out in the open whether or
 *   not Pulumi hides it. Three checks: the config's inputs carry no value the program marked secret
 *   (a secret that flowed into a config), its text matches no credential pattern, and its text
 *   contains no value that another resource of the stack marks secret (secretLeakViolations).
 */
import { isWireSecret, ResourceLike, StackViolation, TYPES, unwrapWireSecrets } from "./common";

/** Secret values shorter than this are not searched for in configs (too many false matches). */
export const MIN_LEAK_LENGTH = 8;

function containsWireSecret(value: unknown): boolean {
  if (isWireSecret(value)) return true;
  if (Array.isArray(value)) return value.some(containsWireSecret);
  if (value && typeof value === "object") return Object.values(value).some(containsWireSecret);
  return false;
}

/** Violations that need to know which inputs are secret: props in wire form, secret markers kept. */
export function secretMarkViolations(type: string, wireProps: Record<string, unknown>): string[] {
  if (type === TYPES.secret) {
    if (wireProps.data === undefined) return [];
    return isWireSecret(wireProps.data) ? [] : ["data is not marked secret: the value would sit in plain text in the stack state and in previews; pass a pulumi.secret()"];
  }
  if (type === TYPES.config) {
    const marked = Object.keys(wireProps).filter((k) => containsWireSecret(wireProps[k]));
    return marked.map((k) => `${k} holds a value the program marked secret: Swarm stores configs unencrypted and docker config inspect prints them; use a docker.Secret`);
  }
  return [];
}

/** The text a Swarm config holds: dataRaw, or data (base64). */
export function configText(props: Record<string, any>): string | undefined {
  if (typeof props.dataRaw === "string") return props.dataRaw;
  if (typeof props.data === "string") return Buffer.from(props.data, "base64").toString("utf8");
  return undefined;
}

const CREDENTIAL_KEY = String.raw`[A-Za-z0-9_.-]*(?:password|passwd|secret|token|api[_-]?key)`;
/** A literal value: not empty, not a shell/template/psql reference, not a placeholder. */
const LITERAL = String.raw`(?![$<%({\`]|\{\{)[^\s"'\`;,]{4,}`;
const NOT_A_VALUE = /^(?:true|false|null|none|nil|undefined|required|optional|\*+|x+)$/i;

const PATTERNS: readonly { readonly kind: string; readonly re: RegExp; readonly valueGroup?: number }[] = [
  { kind: "a URL with a password", re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@'"`]+:((?![$<%{(])[^\s@'"`/]+)@/gi, valueGroup: 1 },
  { kind: "a password/secret/token assignment", re: new RegExp(String.raw`\b${CREDENTIAL_KEY}["']?[:=]\s*["']?(${LITERAL})`, "gi"), valueGroup: 1 },
  { kind: "a PEM private key", re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/g },
  { kind: "an AWS access key id", re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { kind: "an AWS secret access key", re: /aws_secret_access_key["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}\b/gi },
];

/** Where a text holds something that looks like a credential ("line 3: a URL with a password"); never the value itself. */
export function findCredentials(text: string): string[] {
  const found: string[] = [];
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    for (const p of PATTERNS) {
      for (const m of line.matchAll(p.re)) {
        if (p.valueGroup !== undefined && NOT_A_VALUE.test(m[p.valueGroup] ?? "")) continue;
        found.push(`line ${i + 1}: ${p.kind}`);
        break;
      }
    }
  }
  return found;
}

export function configCredentialViolations(type: string, props: Record<string, any>): string[] {
  if (type !== TYPES.config) return [];
  const text = configText(props);
  if (text === undefined) return [];
  return findCredentials(text).map((where) => `${where}: Swarm configs are not encrypted and docker config inspect prints them; put the credential in a docker.Secret`);
}

/** Every string inside a secret marker, and its base64 decoding when that is text (Swarm secret data is base64). */
export function markedSecretStrings(value: unknown, inside = false): string[] {
  if (isWireSecret(value)) return markedSecretStrings(value.value, true);
  if (Array.isArray(value)) return value.flatMap((v) => markedSecretStrings(v, inside));
  if (value && typeof value === "object") return Object.values(value).flatMap((v) => markedSecretStrings(v, inside));
  if (!inside || typeof value !== "string") return [];
  const out = [value];
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(value) && value.length % 4 === 0) {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    if (/^[\x20-\x7e\t\r\n]+$/.test(decoded)) out.push(decoded);
  }
  return out.map((s) => s.trim()).filter((s) => s.length >= MIN_LEAK_LENGTH);
}

/**
 * Configs whose text contains a value some resource of the stack marks secret. `marked` maps the
 * URN of each resource to the secret strings in its inputs (markedSecretStrings of its wire props).
 */
export function secretLeakViolations(resources: readonly ResourceLike[], marked: ReadonlyMap<string, readonly string[]>): StackViolation[] {
  const out: StackViolation[] = [];
  for (const config of resources.filter((r) => r.type === TYPES.config)) {
    const text = configText(unwrapWireSecrets(config.props));
    if (text === undefined) continue;
    const sources = [...marked].filter(([urn, values]) => urn !== config.urn && values.some((v) => text.includes(v))).map(([urn]) => urn.split("::").pop());
    if (sources.length > 0) {
      out.push({ urn: config.urn, message: `config ${config.name} contains a value that ${sources.join(", ")} marks secret: Swarm configs are not encrypted; mount it as a docker.Secret instead` });
    }
  }
  return out;
}
