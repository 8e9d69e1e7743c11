/** pgbouncer.ini and its userlist, rendered from the plan. The integration tests start real PgBouncer with these. Pure. */
import type { PgBouncerPlan } from "../plan/types";

export interface PgBouncerTarget {
  /** Host and port of PostgreSQL as PgBouncer reaches it. */
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** Path of the userlist file (a Swarm secret in the stack). */
  readonly authFile: string;
  readonly listenAddr?: string;
  /** Overrides the plan's port, e.g. for a test on a free loopback port. */
  readonly listenPort?: number;
  /** For tests that run PgBouncer as a plain process. */
  readonly extra?: Readonly<Record<string, string>>;
}

/**
 * pgbouncer.ini for transaction pooling. Prisma sends `extra_float_digits` at startup, which
 * PgBouncer must be told to ignore; prepared statements are off on the client side (`pgbouncer=true`).
 */
export function renderPgBouncerIni(plan: PgBouncerPlan, target: PgBouncerTarget): string {
  const settings: Record<string, string> = {
    listen_addr: target.listenAddr ?? "0.0.0.0",
    listen_port: String(target.listenPort ?? plan.listenPort),
    auth_type: "scram-sha-256",
    auth_file: target.authFile,
    pool_mode: plan.poolMode,
    default_pool_size: String(plan.defaultPoolSize),
    reserve_pool_size: String(plan.reservePoolSize),
    reserve_pool_timeout: "3",
    max_client_conn: String(plan.maxClientConn),
    max_db_connections: String(plan.maxDbConnections),
    ignore_startup_parameters: "extra_float_digits,options",
    server_tls_sslmode: "disable",
    admin_users: "",
    ...target.extra,
  };
  const body = Object.entries(settings)
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `${k} = ${v}`)
    .join("\n");
  return `;; Rendered by the AdvWell plan; do not edit by hand.\n[databases]\n${target.database} = host=${target.host} port=${target.port} dbname=${target.database}\n\n[pgbouncer]\n${body}\n`;
}

/** PgBouncer's auth_file line for one user: `"user" "password"` with quotes doubled. */
export function renderPgBouncerUserlist(users: Readonly<Record<string, string>>): string {
  return Object.entries(users)
    .map(([user, password]) => `"${user.replace(/"/g, '""')}" "${password.replace(/"/g, '""')}"`)
    .join("\n") + "\n";
}
