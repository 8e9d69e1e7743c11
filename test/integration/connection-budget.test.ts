/**
 * The connection budget is what PostgreSQL enforces: with the plan's settings, an ordinary role
 * opens the whole budget at once, and the server refuses it at exactly
 * `plan.connections.available` (max_connections minus the superuser-reserved slots), with
 * PostgreSQL's own error, while a superuser still gets in on a reserved slot.
 */
import { Client } from "pg";
import { TierName } from "../../model";
import { PgCluster } from "./support/pgCluster";
import { tierPlan } from "./support/tierPlans";

const APP_ROLE = "budget_app";
const APP_PASSWORD = "budget-app-pw";
/** The direct tier of the seed's current state, and the first tier behind PgBouncer. */
const TIERS: TierName[] = ["growth", "business"];

describe.each(TIERS.map((tier) => [tier, tierPlan(tier)] as const))("%s tier: PostgreSQL enforces the connection budget", (tier, { plan }) => {
  const { budget, available, maxConnections, superuserReserved } = plan.connections;
  let cluster: PgCluster;
  const opened: Client[] = [];
  const openAsApp = async (): Promise<Client> => {
    const client = await cluster.client({ user: APP_ROLE, password: APP_PASSWORD });
    opened.push(client);
    return client;
  };

  beforeAll(async () => {
    cluster = await PgCluster.start({ settings: plan.postgres.settings });
    await cluster.query(`CREATE ROLE ${APP_ROLE} LOGIN PASSWORD '${APP_PASSWORD}'`);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.end().catch(() => undefined)));
  });
  afterAll(() => cluster?.destroy());

  test(`the budget (${budget}) fits in the ${available} slots an ordinary role gets (max_connections ${maxConnections} - ${superuserReserved})`, () => {
    expect(available).toBe(maxConnections - superuserReserved);
    expect(budget).toBeLessThanOrEqual(available);
  });

  test(`an ordinary role opens all ${budget} budgeted connections at once`, async () => {
    const clients = await Promise.all(Array.from({ length: budget }, openAsApp));
    const pids = await Promise.all(clients.map(async (c) => (await c.query("select pg_backend_pid() as pid")).rows[0].pid as number));
    expect(new Set(pids).size).toBe(budget);
  });

  test(`the server refuses the ordinary role at exactly ${available} connections, with SQLSTATE 53300, and keeps the reserved slots for a superuser`, async () => {
    await Promise.all(Array.from({ length: budget }, openAsApp));
    let refusal: (Error & { code?: string }) | undefined;
    // One at a time past the budget, so the count at the refusal is exact; the cap only stops a runaway.
    while (opened.length <= available + superuserReserved) {
      try {
        await openAsApp();
      } catch (error) {
        refusal = error as Error & { code?: string };
        break;
      }
    }
    expect(opened.length).toBe(available);
    expect(refusal?.code).toBe("53300");
    expect(refusal?.message).toMatch(/remaining connection slots are reserved for non-replication superuser connections|sorry, too many clients already/);

    const superuser = await cluster.client();
    try {
      const { rows } = await superuser.query("select count(*)::int as n from pg_stat_activity where usename = $1 and backend_type = 'client backend'", [APP_ROLE]);
      expect(rows[0].n).toBe(available);
    } finally {
      await superuser.end();
    }
  });
});
