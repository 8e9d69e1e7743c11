/**
 * PostgreSQL's log, as the postgres service's containers wrote it (the default log_line_prefix
 * `%m [%p] `, with the plan's log_connections on): every FATAL line, and who caused it. A FATAL
 * names no client, so its process ID is matched to the `connection received` (the client's
 * address, or [local] for the socket inside the container) and `connection authorized` (role,
 * database, application) lines of the same process, and the address to the Swarm task that
 * held it.
 */

export interface PgLogSource {
  /** The container (one task of the postgres service) the lines came from. */
  readonly container: string;
  readonly text: string;
}

export interface Fatal {
  readonly container: string;
  readonly time: string;
  readonly pid: number;
  readonly message: string;
  /** Who the session belonged to: the Swarm service at its address (or [local]), role and application. */
  readonly client: string;
  readonly service?: string;
  readonly cause: FatalCause;
}

/**
 * - `shutdown`: PostgreSQL's fast shutdown ended an open session ("terminating connection due to
 *   administrator command"): the restart's, not the client's;
 * - `restart-window`: a new connection arrived while the server was stopping or starting;
 * - `client`: anything else (a role or database that does not exist, a wrong password, no
 *   pg_hba.conf line, too many connections): the client caused it.
 */
export type FatalCause = "shutdown" | "restart-window" | "client";

const LINE = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+) \[(\d+)\] (\w+):\s+(.*)$/;

export function causeOf(message: string): FatalCause {
  if (/terminating connection due to administrator command/.test(message)) return "shutdown";
  if (/the database system is (shutting down|starting up|in recovery mode|not yet accepting connections)/.test(message)) return "restart-window";
  return "client";
}

/** Every FATAL line with its client, given which Swarm service held each overlay address. */
export function fatals(sources: readonly PgLogSource[], serviceAt: (ip: string) => string | undefined): Fatal[] {
  const out: Fatal[] = [];
  for (const { container, text } of sources) {
    const sessions = new Map<number, { host?: string; user?: string; database?: string; application?: string }>();
    for (const line of text.split("\n")) {
      const m = LINE.exec(line.trim());
      if (!m) continue;
      const [, time, pidText, level, message] = m;
      const pid = Number(pidText);
      const received = /^connection received: host=(\S+)/.exec(message);
      if (received) {
        sessions.set(pid, { host: received[1] });
        continue;
      }
      const authorized = /^connection authorized: user=(\S+)(?: database=(\S+))?(?: application_name=(.*))?/.exec(message);
      if (authorized) {
        sessions.set(pid, { ...sessions.get(pid), user: authorized[1], database: authorized[2], application: authorized[3]?.trim() });
        continue;
      }
      if (level !== "FATAL") continue;
      const session = sessions.get(pid);
      const host = session?.host;
      const service = host === "[local]" ? "[local]" : host ? serviceAt(host) : undefined;
      const who = host === "[local]" ? "[local] (a process inside the postgres container: its health check or a docker exec)" : host ? `${host}${service ? ` (${service})` : " (no task of the stack had it)"}` : "unknown (no connection line for this process)";
      const role = session?.user ? ` as ${session.user}${session.database ? `/${session.database}` : ""}${session.application ? ` (${session.application})` : ""}` : "";
      out.push({ container, time, pid, message, client: `${who}${role}`, service, cause: causeOf(message) });
    }
  }
  return out;
}

/**
 * The stack's own probes: health checks (run in the container, [local]), the replica's wait, the
 * exporter, the role reconciler and the backup job's wait for the database. A FATAL they cause
 * is a bug of the stack (a probe without a role, a wrong database); the backend is application
 * traffic, and the rehearsal's own clients are not the stack's.
 */
export const STACK_PROBES: ReadonlySet<string> = new Set(["[local]", "postgres-exporter", "postgres-reconcile", "postgres-replica", "backup"]);

/** FATALs caused by the stack's own probes: everything from them except a shutdown ending their session. */
export function probeFatals(all: readonly Fatal[]): Fatal[] {
  return all.filter((f) => f.cause !== "shutdown" && (f.service === undefined || STACK_PROBES.has(f.service)));
}

export function formatFatal(f: Fatal): string {
  return `${f.time} [${f.pid}] FATAL: ${f.message} — client ${f.client}; cause: ${f.cause}`;
}
