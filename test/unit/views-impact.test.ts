/**
 * What a diff or a refused plan tells a reviewer (issue 24 item 10): human units, the PostgreSQL
 * restart and its length, one error that says how many nodes a tier needs, the rotation command.
 */
import { diffResources, humanValue, isHiddenKey, plannedRestart, postgresRestartNote, ResourceDiff, rotationCommand, shownAssignment, SWARM_GOSSIP_DELAY_SECONDS, tierSummaries, urnInStack } from "../../model";
import { planFor, resolve, stackConfig } from "../support/stacks";

describe("human units in diffs", () => {
  test.each([
    ["taskSpec.resources.limits.nanoCpus", 500000000, "0.5 CPU"],
    ["taskSpec.resources.reservation.nanoCpus", 2000000000, "2 CPU"],
    ["taskSpec.resources.limits.memoryBytes", 3221225472, "3 GiB"],
    ["taskSpec.resources.limits.memoryBytes", 805306368, "768 MiB"],
    ["taskSpec.containerSpec.mounts[1].tmpfsOptions.sizeBytes", 524288, "512 KiB"],
    ["taskSpec.containerSpec.healthcheck.interval", "1s", "1 s"],
    ["convergeConfig.timeout", "285s", "4 min 45 s"],
    ["updateConfig.monitor", "120s", "2 min"],
    ["taskSpec.containerSpec.stopGracePeriod", "120s", "2 min"],
    ["taskSpec.containerSpec.secrets[0].fileMode", 256, "0400"],
    ["mode.replicated.replicas", 3, 3],
    ["labels[advwell.stack]", "300s", "300s"],
  ])("%s: %j reads %j", (path, value, shown) => {
    expect(humanValue(path, value)).toBe(shown);
  });
});

describe("a change that restarts PostgreSQL says so, and for how long", () => {
  const postgres = planFor("production").services.postgres!;

  test("the estimate is derived from the plan: Swarm's gossip delay, stop and start, then one health-check interval", () => {
    const { seconds } = plannedRestart(postgres);
    // The drills measured 3.5 s for this planned restart (README drill table, docs/rehearsal.md).
    expect(seconds).toBe(3.5);
    const slower = plannedRestart({ ...postgres, health: { ...postgres.health, intervalSeconds: postgres.health.intervalSeconds + 9 } });
    expect(slower.seconds).toBe(seconds + 9);
    expect(plannedRestart(postgres).worstSeconds).toBe(seconds + postgres.stopGraceSeconds);
    expect(seconds).toBeGreaterThan(SWARM_GOSSIP_DELAY_SECONDS + postgres.health.intervalSeconds);
  });

  const service = (name: string, inputs: Record<string, unknown>) => ({ type: "docker:index/service:Service", name: `${name}-service`, protect: false, retainOnDelete: false, inputs: { name, ...inputs } });
  const diffOf = (before: Record<string, unknown>, after: Record<string, unknown>, name = "postgres"): ResourceDiff => diffResources("a", [service(name, before)], "b", [service(name, after)]);

  test.each([
    ["image", { taskSpec: { containerSpec: { image: "postgres:15.10-bookworm" } } }, { taskSpec: { containerSpec: { image: "postgres:15.11-bookworm" } } }],
    ["settings", { taskSpec: { containerSpec: { args: ["-c", "work_mem=4MB"] } } }, { taskSpec: { containerSpec: { args: ["-c", "work_mem=8MB"] } } }],
    ["CPU and memory", { taskSpec: { resources: { limits: { nanoCpus: 1e9 } } } }, { taskSpec: { resources: { limits: { nanoCpus: 2e9 } } } }],
  ])("%s: a restart of about N s, N from the plan", (what, before, after) => {
    expect(postgresRestartNote(diffOf(before, after), postgres)).toMatch(new RegExp(`^PostgreSQL restarts \\(about ${plannedRestart(postgres).seconds} s unavailable.*\\(${what}\\)$`));
  });

  test("no restart for the service's own settings, or for another service's task spec", () => {
    expect(postgresRestartNote(diffOf({ updateConfig: { delay: "10s" } }, { updateConfig: { delay: "20s" } }), postgres)).toBeUndefined();
    expect(postgresRestartNote(diffOf({ taskSpec: { containerSpec: { image: "a:1" } } }, { taskSpec: { containerSpec: { image: "a:2" } } }, "backend"), postgres)).toBeUndefined();
  });
});

describe("a tier that needs more nodes than listed: one error with the count and what is short", () => {
  const nodeErrors = (sets: string[]) => resolve("production", sets).findings.filter((f) => f.level === "error" && f.key === "advwell:nodes");
  const summaries = tierSummaries(stackConfig("production"));

  test("scale on the seed's one node: one error, the node count the tier table gives, the CPU short derived from the reservations", () => {
    const errors = nodeErrors(["advwell:tier=scale"]);
    expect(errors).toHaveLength(1);
    const scale = summaries.find((t) => t.name === "scale")!;
    expect(errors[0].message).toContain(`the scale tier needs ${scale.seedNodesNeeded} nodes like vps-1 (4 CPU, 16 GiB); advwell:nodes lists 1`);
    // Everything the tier reserves on one node, less the node's 4 CPUs (memory fits: 16 GiB).
    const short = Math.round((scale.cpuReserved - 4) * 100) / 100;
    expect(short).toBeGreaterThan(0);
    expect(errors[0].message).toContain(`: ${short} CPU short of what the listed nodes have unreserved`);
    expect(errors[0].message).not.toContain("of memory short");
    // The per-service detail is kept under it, one line per service.
    expect(errors[0].details!.length).toBeGreaterThan(3);
    expect(errors[0].details!.every((d) => / fits? on no node: /.test(d))).toBe(true);
  });

  test("enterprise on one node: the count matches the tier table's, memory short too", () => {
    const enterprise = summaries.find((t) => t.name === "enterprise")!;
    const [summary] = nodeErrors(["advwell:tier=enterprise"]).filter((f) => f.details);
    expect(summary.message).toContain(`needs ${enterprise.seedNodesNeeded} nodes like vps-1`);
    expect(summary.message).toMatch(/ CPU and [\d.]+ GiB of memory short/);
  });

  test("enough nodes: no such error", () => {
    expect(nodeErrors(["advwell:tier=scale", `advwell:nodes=${JSON.stringify(["name=a,cpus=4,memory=16GiB,role=manager", "name=b,cpus=4,memory=16GiB,role=worker"])}`])).toEqual([]);
  });
});

describe("the password rotation command", () => {
  const urn = (stack: string) => `urn:pulumi:${stack}::advwell::advwell:stack:AdvWell$random:index/randomPassword:RandomPassword::advwell-postgres-app-password`;
  const resources = (stack: string) => [{ type: "random:index/randomPassword:RandomPassword", name: "advwell-postgres-app-password", urn: urn(stack) }];

  test("is pulumi up --replace of the password's URN, single-quoted (the URN holds $)", () => {
    expect(rotationCommand("production", resources("production"), "app-password")).toEqual({ urn: urn("production"), command: `pulumi up --stack production --replace '${urn("production")}'` });
  });
  test("refuses the superuser's password, with the reason, and names what is allowed", () => {
    const refused = rotationCommand("production", resources("production"), "superuser-password");
    expect(refused).toEqual({ refused: expect.stringMatching(/initdb sets the superuser's password once.*allowed: app-password/) });
    expect(rotationCommand("production", resources("production"), "monitor-password")).toEqual({ refused: expect.stringContaining("has no postgres-monitor-password resource") });
  });
});

describe("what the command may repeat of --set", () => {
  test.each([
    ["advwell:postgresSuperuserPassword=hunter2", "advwell:postgresSuperuserPassword=[secret]"],
    ["postgresSuperuserPassword=hunter2", "postgresSuperuserPassword=[secret]"],
    ["advwell:alertWebhookUrl=https://hooks.slack.com/x", "advwell:alertWebhookUrl=[secret]"],
    ["aws:secretKey=abc", "aws:secretKey=[secret]"],
    ["docker:registryAuth[0].password=abc", "docker:registryAuth[0].password=[secret]"],
    ["advwell:tier=scale", "advwell:tier=scale"],
    ["advwell:nodes[0]=name=a,cpus=4,memory=16GiB,role=manager", "advwell:nodes[0]=name=a,cpus=4,memory=16GiB,role=manager"],
  ])("%s -> %s", (assignment, shown) => {
    expect(shownAssignment(assignment)).toBe(shown);
  });
  test("a key the stack file holds as secure: is a credential whatever its name", () => {
    expect(isHiddenKey("advwell:appEnvironmentSecret", [])).toBe(true);
    expect(isHiddenKey("advwell:backendImage", ["advwell:backendImage"])).toBe(true);
    expect(isHiddenKey("advwell:backendImage", [])).toBe(false);
  });
});

test("a URN without its stack is the engine's key within a stack", () => {
  expect(urnInStack("urn:pulumi:staging::advwell::advwell:stack:AdvWell$docker:index/volume:Volume::postgres-data")).toBe("advwell:stack:AdvWell$docker:index/volume:Volume::postgres-data");
});
