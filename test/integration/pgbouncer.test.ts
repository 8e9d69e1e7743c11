/**
 * The tiers with PgBouncer, on real software: PostgreSQL 15 with the plan's settings, PgBouncer 1.18
 * with the rendered pgbouncer.ini and userlist, in transaction mode. The backend's DATABASE_URL
 * logs in through the pooler (the seed's "FATAL: no username supplied"), a full backend's worth of
 * clients shares at most `max_db_connections` server connections, and migrations go over the
 * direct URL because a session advisory lock does not survive transaction pooling.
 */
import { Client, ClientConfig } from "pg";
import { backendDatabaseUrl, directDatabaseUrl, PgBouncerPlan, renderPgBouncerIni } from "../../model";
import { PgBouncerProcess } from "./support/pgbouncer";
import { PgCluster } from "./support/pgCluster";
import { allTierPlans } from "./support/tierPlans";

/** Characters a URL must escape and a userlist must quote, so the renderers' escaping is exercised. */
const APP_PASSWORD = `p@ss:w/rd?#%&= "q"'`;
/**
 * The plan renders reserve_pool_timeout = 3 (seconds). The harness's PgBouncer runs with 1, so the
 * reserve-pool test waits past it in a third of the time; what it proves (only the default pool
 * until clients have waited the timeout, then the reserve, capped at max_db_connections) does not
 * depend on the length, and the first test checks every other setting is the rendered one.
 */
const RESERVE_POOL_TIMEOUT_S = 1;
/** An advisory-lock key of this test's own: the gate that holds every client's first query on a server connection. */
const POOL_GATE = 4207;
/** How long the gate may take to fill the default pool before that counts as a pool that does not fill. */
const POOL_FILL_BOUND_MS = 60_000;
/** The key `prisma migrate` locks (`pg_advisory_lock(72707369)`) so two deploys never migrate at once. */
const PRISMA_MIGRATE_LOCK = 72707369;

/** What node-postgres needs from a postgresql:// URL, read with the WHATWG parser as Prisma reads it. */
function clientConfigFromUrl(url: string): ClientConfig {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
  };
}

async function connect(config: ClientConfig): Promise<Client> {
  const client = new Client(config);
  await client.connect();
  return client;
}

const pooledTiers = allTierPlans().filter(([, { plan }]) => plan.pgbouncer !== undefined);

test("the tiers that run PgBouncer are the ones tested here", () => {
  expect(pooledTiers.map(([tier]) => tier)).toEqual(["business", "enterprise"]);
});

describe.each(pooledTiers)("%s tier: PgBouncer 1.18 in front of PostgreSQL", (tier, { plan, settings }) => {
  const pool: PgBouncerPlan = plan.pgbouncer!;
  const user = settings.databaseUser;
  const database = settings.databaseName;
  let cluster: PgCluster;
  let bouncer: PgBouncerProcess;
  const parts = () => ({ user, password: APP_PASSWORD, host: "127.0.0.1", database });
  const viaBouncer = () => clientConfigFromUrl(backendDatabaseUrl({ ...parts(), port: bouncer.port }, plan.backend));
  const direct = () => clientConfigFromUrl(directDatabaseUrl({ ...parts(), port: cluster.port }));

  beforeAll(async () => {
    cluster = await PgCluster.start({ settings: plan.postgres.settings });
    const admin = await cluster.client();
    try {
      await admin.query(`CREATE ROLE ${admin.escapeIdentifier(user)} LOGIN PASSWORD ${admin.escapeLiteral(APP_PASSWORD)}`);
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)} OWNER ${admin.escapeIdentifier(user)}`);
    } finally {
      await admin.end();
    }
    bouncer = await PgBouncerProcess.start({ plan: pool, postgresPort: cluster.port, database, users: { [user]: APP_PASSWORD }, extra: { reserve_pool_timeout: String(RESERVE_POOL_TIMEOUT_S) } });
  });
  afterAll(async () => {
    await bouncer?.stop();
    cluster?.destroy();
  });

  test("the rendered pgbouncer.ini runs in transaction mode with the plan's pool sizes", async () => {
    // What the component mounts, apart from the test's own listen address, files and shorter timeout.
    const mounted = renderPgBouncerIni(pool, { host: "postgres", port: 5432, database, authFile: "/etc/pgbouncer/userlist.txt" });
    const settings = (ini: string) => ini.split("\n").filter((l) => / = /.test(l) && !/^(listen_addr|listen_port|auth_file|unix_socket_dir|logfile|pidfile|reserve_pool_timeout) /.test(l));
    expect(settings(bouncer.ini).slice(1)).toEqual(settings(mounted).slice(1));
    expect(mounted).toMatch(/^reserve_pool_timeout = 3$/m);
    expect(bouncer.ini).toMatch(new RegExp(`^reserve_pool_timeout = ${RESERVE_POOL_TIMEOUT_S}$`, "m"));
    expect(bouncer.ini).toMatch(/^pool_mode = transaction$/m);
    expect(bouncer.ini).toContain(`max_db_connections = ${pool.maxDbConnections}`);
    expect(bouncer.log()).not.toMatch(/unknown parameter|syntax error|invalid value|WARNING/i);
  });

  test("the backend's DATABASE_URL, read with new URL(), logs in through PgBouncer as the app user", async () => {
    const url = new URL(backendDatabaseUrl({ ...parts(), port: bouncer.port }, plan.backend));
    expect(url.searchParams.get("pgbouncer")).toBe("true");
    expect(url.searchParams.get("connection_limit")).toBe(String(plan.backend.connectionLimit));
    const client = await connect(viaBouncer());
    try {
      const { rows } = await client.query("select current_user as who, current_database() as db, inet_server_port() as server_port");
      expect(rows[0]).toEqual({ who: user, db: database, server_port: cluster.port });
    } finally {
      await client.end();
    }
  });

  test(`max_client_conn ${pool.maxClientConn} concurrent clients share at most max_db_connections ${pool.maxDbConnections} server connections`, async () => {
    const clients = await Promise.all(Array.from({ length: pool.maxClientConn }, () => connect(viaBouncer())));
    const observer = await cluster.client();
    let sampling = true;
    let peakServerConnections = 0;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await observer.query("select count(*)::int as n from pg_stat_activity where usename = $1 and backend_type = 'client backend'", [user]);
        peakServerConnections = Math.max(peakServerConnections, rows[0].n);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      // The pool is filled by a gate, not by timing: the observer holds an advisory lock every client's
      // first query waits for, so each waiting query keeps its server connection and PgBouncer must
      // open more until its limits stop it, however slow the machine. (A fixed 5 x 20 ms of sleeps
      // filled it only when the machine kept up: under load the queries no longer overlapped.)
      // Advisory locks belong to a database: the gate is held in the app's, over a direct connection.
      const gate = await connect(direct());
      await gate.query("select pg_advisory_lock($1)", [POOL_GATE]);
      const gated = clients.map((client, index) => client.query(`select pg_backend_pid() as pid, pg_advisory_xact_lock_shared(${POOL_GATE}), ${index} as client`));
      const waitingOnGate = async () =>
        (await observer.query("select count(*)::int as n from pg_stat_activity where usename = $1 and wait_event_type = 'Lock'", [user])).rows[0].n as number;
      const gateStarted = performance.now();
      let waiting = 0;
      // The bound: a minute for a few dozen loopback connections to open. Load stretches this to
      // seconds at most; a pool that never fills (default_pool_size rendered too small, a pooler
      // that serialises clients) stays below it for ever.
      while ((waiting = await waitingOnGate()) < pool.defaultPoolSize && performance.now() - gateStarted < POOL_FILL_BOUND_MS) await new Promise((r) => setTimeout(r, 20));
      const fillMs = performance.now() - gateStarted;
      console.log(`FIGURE pgbouncer ${tier}: ${waiting} server connections waiting on the gate after ${Math.round(fillMs)} ms (default_pool_size ${pool.defaultPoolSize}, max_db_connections ${pool.maxDbConnections}, ${clients.length} clients)`);
      await gate.end();
      const firstPids = (await Promise.all(gated)).map((r, index) => {
        expect(r.rows[0].client).toBe(index);
        return r.rows[0].pid as number;
      });
      // Plain text queries without parameters use the simple protocol: no prepared statements,
      // which transaction pooling cannot carry from one transaction to the next (Prisma's pgbouncer=true).
      const backendPids = await Promise.all(
        clients.map(async (client, index) => {
          const pids: number[] = [firstPids[index]];
          for (let round = 0; round < 4; round++) {
            const { rows } = await client.query(`select pg_backend_pid() as pid, pg_sleep(0.02), ${index} as client`);
            expect(rows[0].client).toBe(index);
            pids.push(rows[0].pid);
          }
          return pids;
        }),
      );
      sampling = false;
      await sampler;
      const distinctServers = new Set(backendPids.flat());
      expect(clients.length).toBeGreaterThan(pool.maxDbConnections);
      expect(distinctServers.size).toBeLessThanOrEqual(pool.maxDbConnections);
      expect(peakServerConnections).toBeLessThanOrEqual(pool.maxDbConnections);
      // The gate filled the pool, so the limit was what held the count down.
      expect(waiting).toBeGreaterThanOrEqual(pool.defaultPoolSize);
      expect(waiting).toBeLessThanOrEqual(pool.maxDbConnections);
    } finally {
      sampling = false;
      await sampler;
      await observer.end();
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  test(`only the default pool serves until clients have waited reserve_pool_timeout; then the reserve opens, and server connections stop at exactly ${pool.maxDbConnections}`, async () => {
    // More long transactions than max_db_connections: the default pool fills, the waiters outlast
    // reserve_pool_timeout, the reserve opens, and max_db_connections is what stops it.
    const clients = await Promise.all(Array.from({ length: pool.maxDbConnections + pool.reservePoolSize }, () => connect(viaBouncer())));
    const observer = await cluster.client();
    const serverConnections = async () =>
      (await observer.query("select count(*)::int as n from pg_stat_activity where usename = $1 and backend_type = 'client backend'", [user])).rows[0].n as number;
    const samples: { ms: number; n: number }[] = [];
    let sampling = true;
    let sent = 0;
    const sampler = (async () => {
      while (sampling) {
        const n = await serverConnections();
        samples.push({ ms: performance.now() - sent, n });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      sent = performance.now();
      // Each query outlasts the timeout by a second, so clients are still waiting when it passes.
      await Promise.all(clients.map((client) => client.query(`select pg_sleep(${RESERVE_POOL_TIMEOUT_S + 1})`)));
      sampling = false;
      await sampler;
      const timeline = samples.map((x) => `${Math.round(x.ms)}ms:${x.n}`).join(" ");
      const opened = samples.findIndex((x) => x.n > pool.defaultPoolSize);
      expect({ opened: opened > 0, timeline }).toEqual({ opened: true, timeline });
      // The queries went out at `sent`; no client can have waited the timeout before `sent` + timeout,
      // so however slow the machine, a reserve connection seen earlier would be a failure.
      expect(samples[opened].ms).toBeGreaterThanOrEqual(RESERVE_POOL_TIMEOUT_S * 1000);
      // Until then the default pool was full and no larger.
      expect({ beforeReserve: samples[opened - 1].n, timeline }).toEqual({ beforeReserve: pool.defaultPoolSize, timeline });
      expect({ peak: Math.max(...samples.map((x) => x.n)), timeline }).toEqual({ peak: pool.maxDbConnections, timeline });
    } finally {
      sampling = false;
      await sampler;
      await observer.end();
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  test("one client beyond max_client_conn is refused by PgBouncer", async () => {
    const clients = await Promise.all(Array.from({ length: pool.maxClientConn }, () => connect(viaBouncer())));
    try {
      await expect(connect(viaBouncer())).rejects.toThrow(/no more connections allowed \(max_client_conn\)/);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  test("the direct URL reaches PostgreSQL itself and runs migration DDL in a transaction under Prisma's advisory lock", async () => {
    const client = await connect(direct());
    try {
      const { rows } = await client.query("select inet_server_port() as port, current_user as who");
      expect(rows[0]).toEqual({ port: cluster.port, who: user });
      expect((await client.query(`select pg_advisory_lock(${PRISMA_MIGRATE_LOCK})`)).rowCount).toBe(1);
      await client.query("BEGIN");
      await client.query("CREATE TABLE company (id bigserial PRIMARY KEY, name text NOT NULL)");
      await client.query("ALTER TABLE company ADD COLUMN created_at timestamptz NOT NULL DEFAULT now()");
      await client.query("CREATE INDEX company_name ON company (name)");
      await client.query("COMMIT");
      const unlocked = await client.query(`select pg_advisory_unlock(${PRISMA_MIGRATE_LOCK}) as ok`);
      expect(unlocked.rows[0].ok).toBe(true);
      const columns = await client.query("select column_name from information_schema.columns where table_name = 'company' order by ordinal_position");
      expect(columns.rows.map((r) => r.column_name)).toEqual(["id", "name", "created_at"]);
    } finally {
      await client.end();
    }
  });

  test("through PgBouncer the same session advisory lock is lost: the unlock runs on another server connection", async () => {
    const migrator = await connect(viaBouncer());
    const other = await connect(viaBouncer());
    const observer = await cluster.client();
    try {
      const locked = await migrator.query(`select pg_advisory_lock(${PRISMA_MIGRATE_LOCK}), pg_backend_pid() as pid`);
      const lockHolder: number = locked.rows[0].pid;
      // Transaction mode hands the server connection back after each statement; another client's
      // transaction takes it (PgBouncer reuses the most recently used server first).
      await other.query("BEGIN");
      expect((await other.query("select pg_backend_pid() as pid")).rows[0].pid).toBe(lockHolder);
      const unlocked = await migrator.query(`select pg_advisory_unlock(${PRISMA_MIGRATE_LOCK}) as ok, pg_backend_pid() as pid`);
      expect(unlocked.rows[0].pid).not.toBe(lockHolder);
      expect(unlocked.rows[0].ok).toBe(false);
      // The lock stays behind on a pooled server connection, blocking the next migration.
      const held = await observer.query("select pid from pg_locks where locktype = 'advisory' and objid = $1 and granted", [PRISMA_MIGRATE_LOCK]);
      expect(held.rows).toEqual([{ pid: lockHolder }]);
      await other.query("COMMIT");
    } finally {
      await observer.query("select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and objid = $1", [PRISMA_MIGRATE_LOCK]);
      await observer.end();
      await Promise.all([migrator.end(), other.end()]);
    }
  });
});
