/** The Docker API proxy alone under mocks: the plan's docker-api network, the socket, read sections only. */
import type { DockerSocketProxy as ProxyType } from "../../components/dockerSocketProxy";
import { buildComponent, ComponentRun } from "../support/component";
import { planFor } from "../support/stacks";

const plan = planFor("production").services["docker-socket-proxy"]!;
let run: ComponentRun<ProxyType>;

beforeAll(async () => {
  run = await buildComponent(() => {
    const { DockerSocketProxy } = require("../../components/dockerSocketProxy") as typeof import("../../components/dockerSocketProxy");
    return new DockerSocketProxy("docker-socket-proxy", { plan, network: { id: "docker-api-id", name: "advwell-docker-api" } });
  });
});

const service = () => run.one("docker:index/service:Service").inputs;

test("it joins only the docker-api network the plan names (internal; Traefik is its only other member), on a manager, with the socket bound in", () => {
  expect(plan.networks).toEqual(["docker-api"]);
  expect(planFor("production").networks.find((n) => n.name === "docker-api")).toMatchObject({ internal: true, services: ["traefik", "docker-socket-proxy"] });
  expect(service().taskSpec.networksAdvanceds).toEqual([{ id: "docker-api-id" }]);
  expect(service().taskSpec.placement.constraints).toEqual(["node.role==manager"]);
  expect(service().taskSpec.containerSpec.mounts).toEqual([{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }]);
});

test("it opens only the read sections Traefik's Swarm provider calls, and no method but GET/HEAD", () => {
  const env = service().taskSpec.containerSpec.env as Record<string, string>;
  expect(Object.keys(env).filter((k) => env[k] === "1").sort()).toEqual(["NETWORKS", "PING", "SERVICES", "TASKS", "VERSION"]);
  expect(env.POST).toBe("0");
  // Sections that would let a caller start, exec or read secrets stay at the image's default (closed).
  for (const k of ["CONTAINERS", "EXEC", "SECRETS", "CONFIGS", "IMAGES", "BUILD", "VOLUMES", "NODES", "SWARM", "ALLOW_START", "ALLOW_RESTARTS"]) expect(env[k]).toBeUndefined();
  expect(env.EVENTS).toBe("0");
});
