/**
 * What the plan command may repeat of the config it was given. A credential's value never appears
 * in any output (issue 22 item 6): `--set advwell:postgresSuperuserPassword=...` is shown as
 * `advwell:postgresSuperuserPassword=[secret]` in the diff's header, in text, Markdown and JSON. Pure.
 */
import { CONFIG_KEYS, isCredentialKey, PROJECT } from "../config/keys";

/**
 * Provider keys that hold credentials (aws:secretKey, aws:accessKey, aws:token,
 * docker:registryAuth[...].password and the like): any key of another namespace whose name
 * says so. The project's own credentials are the key table's `secret: true` rows.
 */
const CREDENTIAL_NAME = /pass|secret|token|auth|credential|accesskey|privatekey|apikey/i;

/** The top-level key of a `--set` path: `advwell:nodes[1]` -> `advwell:nodes`. */
function topKey(key: string): string {
  const top = /^[^.[\]]+/.exec(key)?.[0] ?? key;
  return top.includes(":") ? top : `${PROJECT}:${top}`;
}

/**
 * True for a key whose value the command never shows: a credential of the key table
 * (isCredentialKey), a key the stack file holds as a `secure:` value, or a key of no known row
 * whose name says it holds a credential.
 */
export function isHiddenKey(key: string, secureKeys: readonly string[] = []): boolean {
  const top = topKey(key);
  if (secureKeys.includes(top)) return true;
  const [namespace, name] = top.split(":", 2);
  if (namespace === PROJECT) return Object.prototype.hasOwnProperty.call(CONFIG_KEYS, name) ? isCredentialKey(name) : CREDENTIAL_NAME.test(name);
  return CREDENTIAL_NAME.test(key);
}

/** A `--set key=value` as the command may print it: the value replaced by [secret] for a credential. */
export function shownAssignment(assignment: string, secureKeys: readonly string[] = []): string {
  const eq = assignment.indexOf("=");
  if (eq <= 0) return "[an assignment without key=]";
  const key = assignment.slice(0, eq);
  return isHiddenKey(key, secureKeys) ? `${key}=[secret]` : assignment;
}
