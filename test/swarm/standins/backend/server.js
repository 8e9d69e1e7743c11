"use strict";
/**
 * AdvWell backend stand-in (test/swarm). The interface of the real backend image as the stack
 * uses it, with nothing but Node.js and the `pg` client:
 *
 * - NODE_OPTIONS carries `--require /run/advwell/secrets-env.js` (the stack's preload), which
 *   fills DATABASE_URL, DIRECT_DATABASE_URL and DATABASE_REPLICA_URL from their *_FILE secrets
 *   before this file runs. This server refuses to start without DATABASE_URL and
 *   DIRECT_DATABASE_URL, so a preload that did not run shows as a crash, not a silent default.
 * - Start-up runs one migration through DIRECT_DATABASE_URL as `prisma migrate deploy` does: a
 *   session-level advisory lock (Prisma's key 72707369), the `_prisma_migrations` table, the
 *   migration in a transaction, the unlock (which must return true: through a transaction pooler
 *   it returns false). While the database is not reachable yet it waits (MIGRATE_WAIT_SECONDS,
 *   default 120), as a deploy script waiting for its database does, then exits 1.
 * - Prisma's URL parameters are honoured: connection_limit is the pool size, pool_timeout the wait
 *   for a pooled connection, pgbouncer=true means no named prepared statements (pg uses unnamed
 *   ones unless told otherwise).
 * - GET /health: `SELECT 1` and one INSERT through DATABASE_URL; 200 only when both work, with the
 *   seed's body `{"status":"ok","timestamp":...}` (and the task and database the drills check).
 *   With STANDIN_BROKEN_HEALTH=1 (the image `backend:standin-2-broken`, a broken release for the
 *   rollback drill) it answers 500 whatever the database says; everything else works.
 * - While /tmp/standin-health-fails-from-outside exists, /health answers 503 to callers outside the
 *   container (Traefik) and still 200 to its own health check (the edge drill's balancing test).
 * - POST /rows, GET /rows: a row write and a count, for drills that keep data across changes.
 * - GET /replica: a read through DATABASE_REPLICA_URL when the tier has one (404 otherwise).
 * - SIGTERM/SIGINT: stop accepting, finish requests, close the pools, exit 0.
 */
const fs = require("fs");
const http = require("http");
const os = require("os");
const { Client, Pool } = require("pg");

const PRISMA_LOCK_KEY = 72707369;
const MIGRATION = "0001_standin";
const MIGRATION_SQL = `
CREATE TABLE standin_rows (id bigserial PRIMARY KEY, note text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE standin_health (id bigserial PRIMARY KEY, task text NOT NULL, at timestamptz NOT NULL DEFAULT now());
`;
const PRISMA_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS _prisma_migrations (
  id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz, migration_name varchar(255) NOT NULL,
  logs text, rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(), applied_steps_count integer NOT NULL DEFAULT 0)`;

const log = (message) => process.stdout.write(`${new Date().toISOString()} backend-standin: ${message}\n`);

function required(name) {
  const value = process.env[name];
  if (!value) {
    log(`${name} is not set (is the NODE_OPTIONS preload missing, or its *_FILE secret?)`);
    process.exit(1);
  }
  return value;
}

/** A Prisma URL -> pg settings; the URL's host is reported (never the password). */
function pgSettings(url, applicationName) {
  const u = new URL(url);
  const limit = Number(u.searchParams.get("connection_limit") ?? "") || 5;
  const poolTimeout = Number(u.searchParams.get("pool_timeout") ?? "") || 10;
  const pgbouncer = u.searchParams.get("pgbouncer") === "true";
  for (const p of ["connection_limit", "pool_timeout", "pgbouncer", "schema", "connect_timeout", "socket_timeout"]) u.searchParams.delete(p);
  return {
    config: { connectionString: u.toString(), max: limit, connectionTimeoutMillis: poolTimeout * 1000, application_name: applicationName },
    target: `${u.hostname}:${u.port || 5432}/${u.pathname.slice(1)}`,
    pgbouncer,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function migrate(url) {
  const waitSeconds = Number(process.env.MIGRATE_WAIT_SECONDS || 120);
  const deadline = Date.now() + waitSeconds * 1000;
  const { config, target } = pgSettings(url, "advwell-backend-standin-migrate");
  for (let attempt = 1; ; attempt++) {
    const client = new Client({ connectionString: config.connectionString, application_name: config.application_name, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`migrate: ${target} not reachable after ${waitSeconds} s: ${error.message}`);
      log(`migrate: waiting for ${target} (attempt ${attempt}): ${error.message}`);
      await sleep(2000);
      continue;
    }
    try {
      await client.query("SELECT pg_advisory_lock($1)", [PRISMA_LOCK_KEY]);
      await client.query(PRISMA_MIGRATIONS_TABLE);
      const done = await client.query("SELECT 1 FROM _prisma_migrations WHERE migration_name = $1 AND finished_at IS NOT NULL", [MIGRATION]);
      if (done.rowCount === 0) {
        await client.query("BEGIN");
        await client.query(MIGRATION_SQL);
        await client.query(
          "INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at, applied_steps_count) VALUES (gen_random_uuid()::text, md5($2), $1, now(), 1)",
          [MIGRATION, MIGRATION_SQL],
        );
        await client.query("COMMIT");
        log(`migrate: applied ${MIGRATION} on ${target}`);
      } else {
        log(`migrate: ${MIGRATION} already applied on ${target}`);
      }
      const unlocked = await client.query("SELECT pg_advisory_unlock($1) AS ok", [PRISMA_LOCK_KEY]);
      if (unlocked.rows[0].ok !== true) throw new Error("migrate: pg_advisory_unlock returned false (the lock was taken on another server session: a transaction pooler in the way?)");
      return;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** The edge drill's switch file (see GET /health). */
const OUTSIDE_HEALTH_FAILS = "/tmp/standin-health-fails-from-outside";
const isLoopback = (address) => address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(`${JSON.stringify(body)}\n`);
}

async function main() {
  const databaseUrl = required("DATABASE_URL");
  const directUrl = required("DIRECT_DATABASE_URL");
  const port = Number(process.env.PORT || 3000);
  await migrate(directUrl);

  const primary = pgSettings(databaseUrl, "advwell-backend-standin");
  const pool = new Pool(primary.config);
  pool.on("error", (error) => log(`pool: ${error.message}`));
  const replica = process.env.DATABASE_REPLICA_URL ? pgSettings(process.env.DATABASE_REPLICA_URL, "advwell-backend-standin-replica") : undefined;
  const replicaPool = replica ? new Pool(replica.config) : undefined;
  replicaPool?.on("error", (error) => log(`replica pool: ${error.message}`));
  const task = os.hostname();

  const server = http.createServer(async (req, res) => {
    const path = (req.url || "/").split("?")[0];
    try {
      if (req.method === "GET" && path === "/health") {
        if (process.env.STANDIN_BROKEN_HEALTH === "1") return json(res, 500, { ok: false, task, error: "broken release: /health fails on purpose (STANDIN_BROKEN_HEALTH=1)" });
        // The edge drill's switch: while the file exists, /health fails for callers from outside the
        // container (Traefik's load-balancer check) and passes for the container's own health check,
        // so Swarm keeps the task and only Traefik's reaction is measured.
        if (fs.existsSync(OUTSIDE_HEALTH_FAILS) && !isLoopback(req.socket.remoteAddress)) return json(res, 503, { ok: false, task, error: `${OUTSIDE_HEALTH_FAILS} exists` });
        await pool.query("SELECT 1");
        await pool.query("INSERT INTO standin_health (task) VALUES ($1)", [task]);
        // The seed's answer ({"status":"ok","timestamp":...}, its deployment summary), plus what the drills read.
        return json(res, 200, { status: "ok", timestamp: new Date().toISOString(), ok: true, task, database: primary.target, pgbouncer: primary.pgbouncer });
      }
      if (req.method === "POST" && path === "/rows") {
        const { rows } = await pool.query("INSERT INTO standin_rows (note) VALUES ($1) RETURNING id", [`from ${task}`]);
        return json(res, 201, { id: Number(rows[0].id), task });
      }
      if (req.method === "GET" && path === "/rows") {
        const { rows } = await pool.query("SELECT count(*)::bigint AS count, coalesce(max(id), 0) AS max FROM standin_rows");
        return json(res, 200, { count: Number(rows[0].count), max: Number(rows[0].max), task });
      }
      if (req.method === "GET" && path === "/replica") {
        if (!replicaPool) return json(res, 404, { ok: false, error: "no DATABASE_REPLICA_URL on this tier" });
        const { rows } = await replicaPool.query("SELECT pg_is_in_recovery() AS standby, (SELECT count(*) FROM standin_rows)::bigint AS count");
        return json(res, 200, { ok: true, task, database: replica.target, standby: rows[0].standby, count: Number(rows[0].count) });
      }
      return json(res, 404, { ok: false, error: `no route ${req.method} ${path}` });
    } catch (error) {
      return json(res, 503, { ok: false, task, error: error.message });
    }
  });
  server.listen(port, "0.0.0.0", () => log(`listening on :${port}; DATABASE_URL -> ${primary.target}${primary.pgbouncer ? " (pgbouncer=true)" : ""}${replica ? `; replica -> ${replica.target}` : ""}`));

  const stop = (signal) => {
    log(`${signal}: closing`);
    server.close(() => {
      Promise.all([pool.end(), replicaPool?.end()]).finally(() => process.exit(0));
    });
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error) => {
  log(error.stack || String(error));
  process.exit(1);
});
