/** The PgBouncer component alone under mocks: the rendered ini, the userlist secret, the pooled address. */
import type { PgBouncer as PgBouncerType } from "../../components/pgbouncer";
import { renderPgBouncerIni } from "../../model";
import { buildComponent, ComponentRun, plaintextHits, configText } from "../support/component";
import { planFor, seedNodes } from "../support/stacks";

const plan = planFor("production", ["advwell:tier=business", seedNodes(2)]);
const PASSWORD = "test-app-password";
let run: ComponentRun<PgBouncerType>;

beforeAll(async () => {
  run = await buildComponent((pulumi) => {
    const { PgBouncer } = require("../../components/pgbouncer") as typeof import("../../components/pgbouncer");
    return new PgBouncer("pgbouncer", {
      plan: plan.services.pgbouncer!,
      pgbouncer: plan.pgbouncer!,
      network: { id: "data-id", name: "advwell-data" },
      database: { host: "postgres", port: 5432, name: "advtom", user: "advwell" },
      password: pulumi.secret(PASSWORD),
    });
  });
});

const container = () => run.one("docker:index/service:Service").inputs.taskSpec.containerSpec;

test("pgbouncer.ini is the plan's pools in front of postgres:5432, mounted from a content-named config", () => {
  const config = run.one("docker:index/serviceConfig:ServiceConfig");
  expect(configText(config.inputs)).toBe(renderPgBouncerIni(plan.pgbouncer!, { host: "postgres", port: 5432, database: "advtom", authFile: "/etc/pgbouncer/userlist.txt" }));
  expect(configText(config.inputs)).toContain(`default_pool_size = ${plan.pgbouncer!.defaultPoolSize}`);
  expect(config.inputs.name).toMatch(/^pgbouncer-ini-[0-9a-f]{10}$/);
  expect(container().configs).toEqual([expect.objectContaining({ fileName: "/etc/pgbouncer/pgbouncer.ini", fileMode: 0o444 })]);
});

test("the userlist holding the password is a secret file for the image's uid 70, never plain text", () => {
  expect(container().secrets).toEqual([expect.objectContaining({ fileName: "/etc/pgbouncer/userlist.txt", fileUid: "70", fileGid: "70", fileMode: 0o400 })]);
  const userlist = Buffer.from(run.one("docker:index/secret:Secret").inputs.data, "base64").toString();
  expect(userlist).toBe(`"advwell" "${PASSWORD}"\n`);
  expect(run.resources.flatMap((r) => plaintextHits(r.rawInputs, [PASSWORD], r.name))).toEqual([]);
});

test("the backend reaches the pool as pgbouncer:6432, the same database", () => {
  expect(run.component.database).toEqual({ host: "pgbouncer", port: 6432, name: "advtom", user: "advwell" });
  expect(container().healthcheck.tests).toEqual(["CMD", "pg_isready", "-q", "-h", "127.0.0.1", "-p", "6432"]);
});
