/**
 * Every bad input an outside check fed the plan (issue 14), fed again: each is refused with the key
 * that caused it named, the value it got and what is allowed, or (the private registry) works.
 */
import { error } from "../../model";
import { resolve, seedNodes } from "../support/stacks";

/** The error findings a change to the production stack produces. */
function errorsOf(sets: string[], stack = "production") {
  return resolve(stack, sets).findings.filter((f) => f.level === "error");
}
const overrides = (...entries: string[]) => `advwell:overrides=${JSON.stringify(entries)}`;

describe("limits beyond any node, or outside Docker's range", () => {
  test.each([
    ["postgres.memoryLimit=1TiB", "advwell:overrides[postgres.memoryLimit]", /largest node in advwell:nodes has 16 GiB/],
    ["backend.cpuLimit=8", "advwell:overrides[backend.cpuLimit]", /limited to 8 CPUs but the largest node in advwell:nodes has 4/],
    ["frontend.memoryLimit=99999999TiB", "advwell:overrides[frontend.memoryLimit]", /a size from 6 MiB to 16384 GiB/],
    ["frontend.memoryLimit=1KiB", "advwell:overrides[frontend.memoryLimit]", /a size from 6 MiB/],
    ["backend.cpuLimit=0.0001", "advwell:overrides[backend.cpuLimit]", /at least 0\.001/],
  ])("%s is refused under %s", (entry, key, message) => {
    const errors = errorsOf([overrides(entry)]);
    expect(errors.map((f) => f.key)).toContain(key);
    expect(errors.find((f) => f.key === key)!.message).toMatch(message);
  });
});

describe("collisions", () => {
  test("apiDomain equal to appDomain: two routers on one host", () => {
    const [f] = errorsOf(["advwell:apiDomain=app.advwell.pro"]);
    expect(f).toMatchObject({ key: "advwell:appDomain" });
    expect(f.message).toMatch(/advwell:apiDomain is already app\.advwell\.pro/);
  });
  test.each([
    ["advwell:databaseUser=postgres", "advwell:databaseUser"],
    ["advwell:databaseUser=pg_monitor", "advwell:databaseUser"],
    ["advwell:databaseUser=replicator", "advwell:databaseUser"],
    ["advwell:databaseName=template1", "advwell:databaseName"],
    ["advwell:databaseName=postgres", "advwell:databaseName"],
  ])("%s clashes with what PostgreSQL or the stack already has", (set, key) => {
    expect(errorsOf([set]).map((f) => f.key)).toEqual([key]);
  });
  test("Grafana on the hosts of an API or the dashboard is refused", () => {
    expect(errorsOf(["advwell:grafanaDomain=traefik.advwell.pro"]).map((f) => f.key)).toEqual(["advwell:grafanaDomain"]);
  });
});

describe("wrong settings for the environment", () => {
  test("Let's Encrypt for *.localhost hosts is refused, naming the host's key and the way out", () => {
    const errors = errorsOf(["advwell:certificates=letsencrypt"], "dev");
    expect(errors.map((f) => f.key)).toEqual(["advwell:apiDomain", "advwell:appDomain", "advwell:dashboardDomain", "advwell:grafanaDomain"]);
    expect(errors[0].message).toContain("advwell:certificates=default");
  });
  test("the dev stack uses Traefik's default certificate, so it plans", () => {
    expect(errorsOf([], "dev")).toEqual([]);
  });
});

describe("values nobody checked", () => {
  test.each([
    ["advwell:replicaDockerHost=not a url", "advwell:replicaDockerHost"],
    ['advwell:nodes=["name=vps-1,cpus=0x10,memory=16GiB,role=manager"]', "advwell:nodes[0]"],
    ["advwell:backendPort=0xBB8", "advwell:backendPort"],
    ["advwell:backendPort=3e3", "advwell:backendPort"],
    ['advwell:nodes=["name=vps-1,cpus=4,memory=99999TiB,role=manager"]', "advwell:nodes[0]"],
    ['advwell:acmeEmail=o"ps@advwell.pro', "advwell:acmeEmail"],
  ])("%s is refused under %s", (set, key) => {
    const errors = errorsOf([set]);
    expect(errors.map((f) => f.key)).toEqual([key]);
  });

  test("two entries for backend.replicas: refused, not last-wins", () => {
    const errors = errorsOf([overrides("backend.replicas=4", "backend.replicas=5")]);
    expect(errors).toEqual([expect.objectContaining({ key: "advwell:overrides[backend.replicas]", message: expect.stringContaining("set twice") })]);
  });

  test("a tier stored as a secure: value cannot be read by the plan and is refused, not silently starter", () => {
    const { findings } = resolve("production", []);
    expect(findings.filter((f) => f.level === "error")).toEqual([]);
    const { resolveStack } = require("../../model") as typeof import("../../model");
    const { stackConfig } = require("../support/stacks") as typeof import("../support/stacks");
    const config = stackConfig("production");
    delete config["advwell:tier"];
    const secured = resolveStack(config, "production", ["advwell:tier"]).findings.filter((f) => f.level === "error");
    expect(secured).toEqual([expect.objectContaining({ key: "advwell:tier", message: expect.stringContaining("secure:") })]);
  });

  test("a typo in the namespace is refused with the nearest key", () => {
    const [f] = errorsOf(["advwel:tier=scale"]);
    expect(f.key).toBe("advwel:tier");
    expect(f.message).toContain("did you mean advwell:tier?");
  });

  test("a stack without aws:region is refused by the plan, as the program refuses it", () => {
    const { stackConfig } = require("../support/stacks") as typeof import("../support/stacks");
    const { resolveStack } = require("../../model") as typeof import("../../model");
    const config = stackConfig("production");
    delete config["aws:region"];
    expect(resolveStack(config, "production").findings.filter((f) => f.level === "error")).toEqual([expect.objectContaining({ key: "aws:region" })]);
  });

  test.each(["registry.example.com:5000/advwell-backend:v52", "localhost:5000/advwell-backend:v52", "[::1]:5000/advwell-backend:v52".replace("[::1]", "10.0.0.5")])("a private registry with a port is a valid image: %s", (image) => {
    expect(errorsOf([`advwell:backendImage=${image}`])).toEqual([]);
  });
});

describe("sizes that used to crash the plan", () => {
  test.each(["130000", "100000", "1".repeat(23)])("backend.replicas=%s is refused with the cap, in one finding", (count) => {
    const errors = errorsOf([overrides(`backend.replicas=${count}`)]);
    expect(errors).toEqual([expect.objectContaining({ key: "advwell:overrides[backend.replicas]", message: expect.stringContaining("up to 100") })]);
  });

  test("100 backend replicas on one node: one finding for the tasks that do not fit, with their count", () => {
    const errors = errorsOf([overrides("backend.replicas=100")]).filter((f) => f.message.startsWith("backend:"));
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/^backend: \d+ of its 100 tasks/);
  });

  test("the key of a service's node-fit miss is that service's own override", () => {
    const errors = errorsOf([overrides("backend.replicas=9"), seedNodes(1)]).filter((f) => f.message.startsWith("backend:"));
    expect(errors.map((f) => f.key)).toEqual(["advwell:overrides[backend.replicas]"]);
  });

  test("a backend CPU limit beyond the nodes names backend.cpuLimit, not the tier", () => {
    const keys = errorsOf([overrides("backend.cpuLimit=64")]).map((f) => f.key);
    expect(keys).toContain("advwell:overrides[backend.cpuLimit]");
    expect(keys).not.toContain("advwell:tier");
  });
});

test("error() builds the finding shape the plan uses", () => {
  expect(error("advwell:tier", "x")).toEqual({ level: "error", key: "advwell:tier", message: "x" });
});
