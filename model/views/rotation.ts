/**
 * One command to rotate a generated password: `pulumi up --replace '<urn>'` with the URN the engine
 * gives the password's resource in the stack, so nobody digs it out of `--resources --json`. Pure.
 */

/** The random passwords a replacement rotates end to end, by the short name the command takes. */
const ROTATABLE: Readonly<Record<string, string>> = {
  // postgres-reconcile sets the role's new password (ALTER ROLE), then the clients restart with it.
  "app-password": "postgres-app-password",
  "monitor-password": "postgres-monitor-password",
  "replication-password": "postgres-replication-password",
  // Traefik's basic-auth users file is derived from it: a new secret, a restarted Traefik.
  "dashboard-password": "traefik-dashboard-password",
};

/** Why the other generated passwords are not rotated this way. */
const NOT_ROTATABLE: Readonly<Record<string, string>> = {
  "superuser-password": "initdb sets the superuser's password once; a replaced one would not log in (change it in the database first, then set advwell:postgresSuperuserPassword with --secret)",
  "grafana-admin": "Grafana keeps its admin password in its own database after the first start",
};

interface Named {
  readonly type: string;
  readonly name: string;
  readonly urn?: string;
}

/** Single quotes for a POSIX shell: URNs hold `$` (the parents' types), which double quotes would expand. */
const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

const ALLOWED = `allowed: ${Object.keys(ROTATABLE).join(", ")}`;

/** Why a name cannot be rotated with --rotate, before any program run; undefined when it can. */
export function rotationRefusal(password: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(NOT_ROTATABLE, password)) return `got "${password}": ${NOT_ROTATABLE[password]}; ${ALLOWED}`;
  if (!Object.prototype.hasOwnProperty.call(ROTATABLE, password)) return `got "${password}"; ${ALLOWED}`;
  return undefined;
}

export function rotationCommand(stack: string, resources: readonly Named[], password: string): { command: string; urn: string } | { refused: string } {
  const refusal = rotationRefusal(password);
  if (refusal) return { refused: refusal };
  const suffix = ROTATABLE[password];
  const matches = resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword" && r.urn && (r.name === suffix || r.name.endsWith(`-${suffix}`)));
  if (matches.length !== 1) return { refused: `stack ${stack} has ${matches.length === 0 ? "no" : matches.length} ${suffix} resource${matches.length === 1 ? "" : "s"} (is the feature that uses it on in this stack?); ${ALLOWED}` };
  const urn = matches[0].urn!;
  return { urn, command: `pulumi up --stack ${stack} --replace ${shellQuote(urn)}` };
}
