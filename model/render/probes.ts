/**
 * Container health checks (exec form) that need nothing but what the image certainly has:
 * the backend is a Node.js image, so node itself probes /health; no curl or wget required.
 */
export function nodeHttpProbe(port: number, path: string): string[] {
  const url = `http://127.0.0.1:${port}${path}`;
  const script = `require("http").get(${JSON.stringify(url)}, (r) => process.exit(r.statusCode >= 200 && r.statusCode < 300 ? 0 : 1)).on("error", () => process.exit(1))`;
  return ["CMD", "node", "-e", script];
}

/** nginx:alpine (and any busybox image) ships wget. */
export function wgetProbe(port: number, path: string): string[] {
  return ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${port}${path}`];
}

/**
 * PostgreSQL's readiness from its own postmaster.pid, without opening a connection: line 8 is the
 * postmaster's status, "ready" once it accepts connections (src/include/utils/pidfile.h,
 * PostgreSQL 10+), and line 6 the listen address, empty while the official image's entrypoint runs
 * its socket-only server for initdb. A hot standby (hot_standby=on, as the plan sets on replicas)
 * reports "ready" too, once it is consistent and accepts reads; "standby" means "up, won't accept
 * connections", a standby with hot_standby=off, so it never appears here. A standby is told apart
 * by standby.signal in PGDATA, which PostgreSQL removes when it is promoted. A connection-based
 * probe (pg_isready) every two seconds would fill the log of a server that logs connections, and
 * logs FATAL for a probe that names no existing role.
 */
export function postgresReadyProbe(role: "primary" | "standby"): string[] {
  const ready = `f="$PGDATA/postmaster.pid"; [ -n "$(sed -n 6p "$f" 2>/dev/null)" ] && [ "$(sed -n 8p "$f" 2>/dev/null | tr -d ' ')" = ready ]`;
  return ["CMD-SHELL", role === "standby" ? `${ready} && [ -f "$PGDATA/standby.signal" ]` : ready];
}
