/** The Postgres component alone under mocks: its own volume, secrets, init script and service. */
import type { Postgres as PostgresType } from "../../components/postgres";
import { HBA_FILE, Plan, renderPgHba, renderPostgresArgs } from "../../model";
import { buildComponent, ComponentRun, plaintextHits, configText } from "../support/component";
import { planFor } from "../support/stacks";

const SERVICE = "docker:index/service:Service";
const plan = planFor("production");
const SUPERUSER = "test-superuser-password";
let run: ComponentRun<PostgresType>;

const build = (p: Plan) =>
  buildComponent((pulumi) => {
    const { Postgres } = require("../../components/postgres") as typeof import("../../components/postgres");
    return new Postgres("postgres", {
      plan: p.services.postgres!,
      postgres: p.postgres,
      network: { id: "data-id", name: "advwell-data" },
      database: { name: "advtom" },
      superuserPassword: pulumi.secret(SUPERUSER),
    });
  });

beforeAll(async () => {
  run = await build(plan);
});

const container = () => run.one(SERVICE).inputs.taskSpec.containerSpec;

test("the data volume has a fixed name, is labelled stateful, protected and kept on delete", () => {
  const volume = run.one("docker:index/volume:Volume");
  expect(volume.inputs).toEqual({ name: "advwell-postgres-data", driver: "local", labels: [{ label: "advwell.stateful", value: "true" }] });
  expect(volume).toMatchObject({ protect: true, retainOnDelete: true, parent: "postgres" });
  expect(container().mounts).toContainEqual({ type: "volume", source: "advwell-postgres-data", target: "/var/lib/postgresql/data" });
});

test("the service is the plan's: name, image, settings as -c flags, stop-first, stop grace and SIGINT", () => {
  const s = run.one(SERVICE).inputs;
  expect(s.name).toBe("postgres");
  expect(container().image).toBe(plan.services.postgres!.image);
  expect(container().args).toEqual(renderPostgresArgs(plan.postgres.settings));
  expect(container().stopGracePeriod).toBe("120s");
  expect(container().stopSignal).toBe("SIGINT");
  expect(s.updateConfig.order).toBe("stop-first");
  expect(container().mounts).toContainEqual({ type: "tmpfs", target: "/dev/shm", tmpfsOptions: { sizeBytes: plan.postgres.shmSizeMiB * 1024 * 1024 } });
});

test("the superuser's password reaches the task only as a secret file the image's postgres user (999) can read; no other password is mounted", () => {
  expect(container().secrets.map((m: Record<string, unknown>) => [m.fileName, m.fileUid, m.fileGid, m.fileMode])).toEqual([["postgres-superuser-password", "999", "999", 0o400]]);
  expect(container().env).toEqual({ POSTGRES_USER: "postgres", POSTGRES_DB: "advtom", POSTGRES_PASSWORD_FILE: "/run/secrets/postgres-superuser-password", PGDATA: "/var/lib/postgresql/data/pgdata" });
  expect(run.resources.flatMap((r) => plaintextHits(r.rawInputs, [SUPERUSER, Buffer.from(SUPERUSER).toString("base64")], r.name))).toEqual([]);
});

test("pg_hba.conf is the plan's, mounted where hba_file points", () => {
  const config = run.one("docker:index/serviceConfig:ServiceConfig");
  expect(configText(config.inputs)).toBe(renderPgHba(plan.postgres.hba));
  expect(container().configs).toEqual([expect.objectContaining({ configId: config.id, fileName: HBA_FILE, fileMode: 0o444 })]);
  expect(container().args).toEqual(expect.arrayContaining([`hba_file=${HBA_FILE}`]));
});

test("an adopted volume (the seed's) is imported and kept, never created, with PGDATA at its root", async () => {
  const adopted = planFor("production", ["advwell:adoptPostgresVolume=advtom_postgres_data", "advwell:adoptPostgresMajor=15", "advwell:postgresSuperuserPassword=old-superuser-password"], ["advwell:postgresSuperuserPassword"]);
  const taken = await build(adopted);
  const volume = taken.one("docker:index/volume:Volume");
  expect(volume.inputs).toEqual({ name: "advtom_postgres_data", driver: "local" });
  expect(volume).toMatchObject({ protect: true, retainOnDelete: true, importId: "advtom_postgres_data", ignoreChanges: ["labels", "driverOpts"] });
  const spec = taken.one("docker:index/service:Service").inputs.taskSpec.containerSpec;
  expect(spec.env.PGDATA).toBe("/var/lib/postgresql/data");
  expect(spec.mounts).toContainEqual({ type: "volume", source: "advtom_postgres_data", target: "/var/lib/postgresql/data" });
});

test("other components reach it as postgres:5432 on the data network", () => {
  expect(run.component.database).toEqual({ host: "postgres", port: 5432, name: "advtom" });
  expect(run.one(SERVICE).inputs.taskSpec.networksAdvanceds).toEqual([{ id: "data-id" }]);
});
