/** The Postgres component alone under mocks: its own volume, secrets, init script and service. */
import { CONTAINER_FILES, readContainerFile } from "../../components/containerFiles";
import type { Postgres as PostgresType } from "../../components/postgres";
import { renderPostgresArgs } from "../../model";
import { buildComponent, ComponentRun, plaintextHits } from "../support/component";
import { planFor } from "../support/stacks";

const SERVICE = "docker:index/service:Service";
const plan = planFor("production");
const SUPERUSER = "test-superuser-password";
const APP = "test-app-password";
let run: ComponentRun<PostgresType>;

beforeAll(async () => {
  run = await buildComponent((pulumi) => {
    const { Postgres } = require("../../components/postgres") as typeof import("../../components/postgres");
    return new Postgres("postgres", {
      plan: plan.services.postgres!,
      postgres: plan.postgres,
      network: { id: "data-id", name: "advwell-data" },
      database: { name: "advtom", user: "advwell" },
      superuserPassword: pulumi.secret(SUPERUSER),
      appPassword: pulumi.secret(APP),
      extensions: [{ configs: [], secrets: [], env: { EXTRA_INPUT: "from-an-extension" } }],
    });
  });
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

test("passwords reach the task only as secret files the image's postgres user (999) can read", () => {
  expect(container().secrets.map((m: Record<string, unknown>) => [m.fileName, m.fileUid, m.fileGid, m.fileMode])).toEqual([
    ["postgres-superuser-password", "999", "999", 0o400],
    ["postgres-app-password", "999", "999", 0o400],
  ]);
  expect(container().env).toMatchObject({ POSTGRES_PASSWORD_FILE: "/run/secrets/postgres-superuser-password", APP_DB_PASSWORD_FILE: "/run/secrets/postgres-app-password", APP_DB_USER: "advwell" });
  expect(run.resources.flatMap((r) => plaintextHits(r.rawInputs, [SUPERUSER, APP, Buffer.from(SUPERUSER).toString("base64"), Buffer.from(APP).toString("base64")], r.name))).toEqual([]);
});

test("the app role's init script is the repository file, mounted 0555 where the official image runs it", () => {
  const config = run.one("docker:index/serviceConfig:ServiceConfig");
  expect(config.inputs.dataRaw).toBe(readContainerFile("appRoleInit"));
  expect(container().configs).toEqual([expect.objectContaining({ configId: config.id, fileName: CONTAINER_FILES.appRoleInit.mountPath, fileMode: 0o555 })]);
});

test("an extension's env reaches the container", () => {
  expect(container().env.EXTRA_INPUT).toBe("from-an-extension");
});

test("other components reach it as postgres:5432 on the data network", () => {
  expect(run.component.database).toEqual({ host: "postgres", port: 5432, name: "advtom", user: "advwell" });
  expect(run.one(SERVICE).inputs.taskSpec.networksAdvanceds).toEqual([{ id: "data-id" }]);
});
