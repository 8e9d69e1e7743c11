/** The PostgresReconcile component alone under mocks: its script, env from the plan, secrets, health. */
import { CONTAINER_FILES, readContainerFile } from "../../components/containerFiles";
import type { PostgresReconcile as ReconcileType } from "../../components/postgresReconcile";
import { reconcileEnvironment } from "../../model";
import { buildComponent, ComponentRun, plaintextHits, configText } from "../support/component";
import { planFor, seedNodes } from "../support/stacks";

const plan = planFor("production", ["advwell:tier=enterprise", seedNodes(3)]);
const PASSWORDS = { superuser: "su-pw-test", app: "app-pw-test", monitor: "mon-pw-test", replication: "repl-pw-test" };
const target = { host: "postgres", port: 5432, superuser: "postgres", databaseName: "advtom", appUser: "advwell", monitoring: true, replication: plan.replication };
let run: ComponentRun<ReconcileType>;

beforeAll(async () => {
  run = await buildComponent((pulumi) => {
    const { PostgresReconcile } = require("../../components/postgresReconcile") as typeof import("../../components/postgresReconcile");
    return new PostgresReconcile("postgres-reconcile", {
      plan: plan.services["postgres-reconcile"]!,
      network: { id: "data-id", name: "advwell-data" },
      target,
      passwords: { superuser: pulumi.secret(PASSWORDS.superuser), app: pulumi.secret(PASSWORDS.app), monitor: pulumi.secret(PASSWORDS.monitor), replication: pulumi.secret(PASSWORDS.replication) },
    });
  });
});

const container = () => run.one("docker:index/service:Service").inputs.taskSpec.containerSpec;

test("it runs the repository's reconcile.sh in the primary's PostgreSQL image, healthy once a pass succeeded", () => {
  const config = run.one("docker:index/serviceConfig:ServiceConfig");
  expect(configText(config.inputs)).toBe(readContainerFile("reconcile"));
  expect(container().image).toBe(plan.services.postgres!.image);
  expect(container().commands).toEqual(["bash", CONTAINER_FILES.reconcile.mountPath]);
  expect(container().healthcheck.tests).toEqual(["CMD", "bash", CONTAINER_FILES.reconcile.mountPath, "health"]);
});

test("its env is the plan's contract: names and secret paths, no password", () => {
  expect(container().env).toEqual(reconcileEnvironment(target));
  expect(container().secrets.map((s: { fileName: string; fileMode: number }) => [s.fileName, s.fileMode])).toEqual([
    ["postgres-superuser-password", 0o400],
    ["postgres-app-password", 0o400],
    ["postgres-monitor-password", 0o400],
    ["postgres-replication-password", 0o400],
  ]);
  const needles = Object.values(PASSWORDS).flatMap((p) => [p, Buffer.from(p).toString("base64")]);
  expect(run.resources.flatMap((r) => plaintextHits(r.rawInputs, needles, r.name))).toEqual([]);
});

test("monitoring without its password is refused: the target and the passwords must agree", async () => {
  await expect(
    buildComponent(() => {
      const { PostgresReconcile } = require("../../components/postgresReconcile") as typeof import("../../components/postgresReconcile");
      return new PostgresReconcile("r", { plan: plan.services["postgres-reconcile"]!, network: { id: "d", name: "d" }, target, passwords: { superuser: "a", app: "b" } });
    }),
  ).rejects.toThrow(/disagree/);
});
