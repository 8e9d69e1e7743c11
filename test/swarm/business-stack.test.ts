/**
 * The `dev` stack on the business tier (PgBouncer in front of PostgreSQL), sized by
 * test/swarm/rehearsal.yaml's overrides to fit one node, deployed by the program and checked.
 */
import { probeSecretPath } from "./lib/rehearsal";
import { describeDeployedStack } from "./lib/scenario";

jest.setTimeout(20 * 60_000);

describeDeployedStack("dev stack on the business tier (PgBouncer) on a real Swarm", {
  stack: "dev",
  tier: "business",
  extra: (ctx) => {
    test("PgBouncer serves the pooled DATABASE_URL, and every app-role connection PostgreSQL sees comes from PgBouncer's task", async () => {
      // The backend's pools and this probe's own query go through PgBouncer; its migration's direct session has ended.
      const urlFile = probeSecretPath(ctx.deployment(), "backend", "database-url");
      const pooled = await ctx.probe(`url="$(cat ${urlFile})"; case "$url" in *@pgbouncer:6432/*) ;; *) echo "DATABASE_URL does not point at pgbouncer:6432" >&2; exit 3;; esac; psql "\${url%%\\?*}" -At -c 'SELECT current_user, current_database()'`);
      expect({ exit: pooled.exitCode, out: pooled.stdout.trim(), err: pooled.stderr.trim() }).toEqual({ exit: 0, out: "advwell|advtom", err: "" });
      const sources = await ctx.probe(
        `bouncer=$(getent ahostsv4 tasks.pgbouncer | awk '{print $1}' | sort -u); echo "pgbouncer $bouncer"; PGPASSWORD="$(cat ${ctx.superuserFile()})" psql -h postgres -U postgres -d advtom -At -c "SELECT DISTINCT host(client_addr) FROM pg_stat_activity WHERE usename = 'advwell'"`,
      );
      const [first, ...clients] = sources.stdout.trim().split("\n");
      const bouncer = first.replace(/^pgbouncer /, "").trim();
      expect(bouncer).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(clients.length).toBeGreaterThan(0);
      expect(clients).toEqual(clients.map(() => bouncer));
    });
  },
});
