/**
 * The tiers with PgBouncer, on real software: PostgreSQL 15 with the plan's settings, PgBouncer 1.18
 * with the rendered pgbouncer.ini and userlist, in transaction mode. The backend's DATABASE_URL
 * logs in through the pooler (the seed's "FATAL: no username supplied"), a full backend's worth of
 * clients shares at most `max_db_connections` server connections, and migrations go over the
 * direct URL because a session advisory lock does not survive transaction pooling.
 */
import { Client, ClientConfig } from "pg";
import { backendDatabaseUrl, directDatabaseUrl, PgBouncerPlan } from "../../model";
import { PgBouncerProcess } from "./support/pgbouncer";
import { PgCluster } from "./support/pgCluster";
import { allTierPlans } from "./support/tierPlans";

/** Characters a URL must escape and a userlist must quote, so the renderers' escaping is exercised. */
const APP_PASSWORD = `p@ss:w/rd?#%&= "q"'`;
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
    bouncer = await PgBouncerProcess.start({ plan: pool, postgresPort: cluster.port, database, users: { [user]: APP_PASSWORD } });
  });
  afterAll(async () => {
    await bouncer?.stop();
    cluster?.destroy();
  });

  test("the rendered pgbouncer.ini runs in transaction mode with the plan's pool sizes", async () => {
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
      // Plain text queries without parameters use the simple protocol: no prepared statements,
      // which transaction pooling cannot carry from one transaction to the next (Prisma's pgbouncer=true).
      const backendPids = await Promise.all(
        clients.map(async (client, index) => {
          const pids: number[] = [];
          for (let round = 0; round < 5; round++) {
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
      // The load was enough to fill the pool, so the limit was what held the count down.
      expect(peakServerConnections).toBeGreaterThanOrEqual(pool.defaultPoolSize);
    } finally {
      sampling = false;
      await sampler;
      await observer.end();
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  test(`when clients wait past reserve_pool_timeout the reserve pool opens, and server connections stop at exactly ${pool.maxDbConnections}`, async () => {
    // More long transactions than max_db_connections: the pool fills, the waiters outlast the
    // 3 s reserve_pool_timeout, the reserve opens, and max_db_connections is what stops it.
    const clients = await Promise.all(Array.from({ length: pool.maxDbConnections + pool.reservePoolSize }, () => connect(viaBouncer())));
    const observer = await cluster.client();
    const serverConnections = async () =>
      (await observer.query("select count(*)::int as n from pg_stat_activity where usename = $1 and backend_type = 'client backend'", [user])).rows[0].n as number;
    let sampling = true;
    let peak = 0;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await serverConnections());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const work = Promise.all(clients.map((client) => client.query("select pg_sleep(4)")));
      await new Promise((r) => setTimeout(r, 1_500));
      const beforeReserve = await serverConnections();
      await work;
      sampling = false;
      await sampler;
      expect(beforeReserve).toBe(pool.defaultPoolSize);
      expect(peak).toBe(pool.maxDbConnections);
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
