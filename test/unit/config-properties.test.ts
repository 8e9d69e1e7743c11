/**
 * Property-based tests over generated stack configs (issue 14): for every key Pulumi.yaml declares,
 * valid values, boundary values and junk (wrong types, huge numbers, unicode, empty strings).
 *  - The plan never throws; every problem is a finding that names a key.
 *  - Every config the plan accepts runs the program under mocks with every number Docker and Swarm
 *    read inside their valid ranges, and no two routers share a rule.
 * CI runs a fixed seed; locally the seed is random (fast-check prints it on a failure, and
 * FC_SEED=<n> replays it).
 */
import * as fc from "fast-check";
import { applySet, listStacks, MAX_SET_INDEX, SetError } from "../../config/stackConfig";
import { CONFIG_KEY_NAMES, CONFIG_KEYS, ConfigKey, MAX_REPLICAS, resolveStack, SERVICE_NAMES, TIER_NAMES } from "../../model";
import { runProgram } from "../support/program";
import { planFor, stackConfig } from "../support/stacks";

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : process.env.CI ? 20261128 : undefined;
/** FC_RUNS=<factor> multiplies every property's runs, for a longer hunt than npm test's. */
const settings = (numRuns: number) => ({ seed: SEED, numRuns: Math.round(numRuns * Number(process.env.FC_RUNS ?? 1)) });

/** Junk any key may receive. */
const junk = fc.oneof(
  fc.constantFrom("", " ", "null", "undefined", "NaN", "-1", "0", "0x10", "3e3", "1.5", "9".repeat(40), "true", "[]", "{}", "[\"a\"]", "ünïcödé", "🚀", "a\nb", "latest", ":latest"),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 8 }),
);

const size = fc.oneof(
  fc.constantFrom("1KiB", "5MiB", "6MiB", "64MiB", "512MiB", "1GiB", "3GiB", "16GiB", "17GiB", "1TiB", "99999999TiB", "0MiB", "lots", "1.5GiB"),
  fc.integer({ min: 1, max: 70000 }).map((n) => `${n}MiB`),
);
const cpus = fc.oneof(fc.constantFrom("0.0001", "0.001", "0.01", "0.25", "0.5", "1", "2", "4", "8", "64", "0x10", "1e1", "-1"), fc.double({ min: 0.001, max: 16, noNaN: true }).map((n) => n.toFixed(3)));
const replicas = fc.oneof(fc.constantFrom("0", "1", "2", "3", "100", "101", "130000", "1".repeat(23), "-3", "2.5"), fc.integer({ min: 1, max: 12 }).map(String));

const node = (i: number) =>
  fc.record({ cpus, memory: size, role: fc.constantFrom("manager", "worker", "boss") }).map((n) => `name=node-${i},cpus=${n.cpus},memory=${n.memory},role=${i === 0 ? "manager" : n.role}`);
const nodes = fc.oneof(
  fc.integer({ min: 1, max: 4 }).chain((count) => fc.tuple(...Array.from({ length: count }, (_, i) => node(i)))).map((list) => JSON.stringify(list)),
  fc.constantFrom("[]", "not json", JSON.stringify(["name=a,cpus=4,memory=16GiB,role=manager", "name=a,cpus=4,memory=16GiB,role=worker"]), JSON.stringify([1, 2])),
);
const override = fc.oneof(
  fc.tuple(fc.constantFrom(...SERVICE_NAMES, "nosuch"), fc.constantFrom("replicas", "cpuLimit", "memoryLimit", "cpuReservation", "memoryReservation", "bogus"), fc.oneof(replicas, cpus, size)).map(([s, f, v]) => `${s}.${f}=${v}`),
  fc.constantFrom("backend.nodeHeap=768MiB", "backend.nodeHeap=2GiB", "backend.connectionLimit=0", "backend.connectionLimit=5", "postgres.maxConnections=40", "postgres.maxConnections=2", "pgbouncer.poolSize=10", "=", "novalue"),
);
const overrides = fc.array(override, { maxLength: 4 }).map((list) => JSON.stringify(list));

/** Valid values for a key, by what the key is. */
function valid(key: ConfigKey): fc.Arbitrary<string> {
  const spec = CONFIG_KEYS[key];
  if (key === "tier") return fc.constantFrom(...TIER_NAMES);
  if (key === "nodes") return nodes;
  if (key === "overrides") return overrides;
  if (key.endsWith("Image")) return fc.constantFrom(String(spec.default), "registry.example.com:5000/app:v1", "localhost:5000/x:1.0", "img@sha256:" + "a".repeat(64), "app:latest", "app");
  if (key.endsWith("Domain")) return fc.constantFrom(String(spec.default), "api.advwell.pro", "app.advwell.pro", "x.example.com", "Upper.Case.pro", "api.advwell.localhost");
  if (spec.type === "integer") return fc.oneof(fc.integer({ min: -2, max: 70000 }).map(String), fc.constantFrom(String(spec.default), "1", "65535", "65536", "100000", "100001"));
  if (spec.type === "boolean") return fc.constantFrom("true", "false");
  return fc.constant(typeof spec.default === "string" ? spec.default : JSON.stringify(spec.default));
}

/** A real stack's config with a few keys replaced by valid, boundary or junk values. */
const config = fc
  .tuple(
    fc.constantFrom(...listStacks()),
    fc.array(fc.tuple(fc.constantFrom(...CONFIG_KEY_NAMES), fc.boolean()), { minLength: 0, maxLength: 5 }),
  )
  .chain(([stack, picks]) =>
    fc.tuple(fc.constant(stack), fc.tuple(...picks.map(([key, useJunk]) => (useJunk ? junk : valid(key)).map((value) => [key, value] as const)))),
  )
  .map(([stack, changes]) => {
    const base = stackConfig(stack);
    for (const [key, value] of changes) base[`advwell:${key}`] = value;
    return { stack, config: base, changes };
  });

/** Keys a finding may name: a declared key, an entry of a list key, or a provider key the program needs. */
const KEY_SHAPE = new RegExp(`^(advwell:(${CONFIG_KEY_NAMES.join("|")})(\\[[^\\]]+\\])?|aws:region)$`);

describe("the plan over generated configs", () => {
  test("never throws; every problem is a finding naming a declared key, with a message", () => {
    fc.assert(
      fc.property(config, ({ stack, config: c }) => {
        const { findings, plan } = resolveStack(c, stack);
        for (const f of findings) {
          expect(f.key).toMatch(KEY_SHAPE);
          expect(f.message.length).toBeGreaterThan(10);
        }
        if (!plan) expect(findings.some((f) => f.level === "error")).toBe(true);
      }),
      settings(250),
    );
  });

  test("an accepted plan's numbers are inside Docker's and Swarm's ranges", () => {
    fc.assert(
      fc.property(config, ({ stack, config: c }) => {
        const { plan, findings } = resolveStack(c, stack);
        fc.pre(plan !== undefined && !findings.some((f) => f.level === "error"));
        const biggest = { cpus: Math.max(...plan!.nodes.map((n) => n.cpus)), memoryMiB: Math.max(...plan!.nodes.map((n) => n.memoryMiB)) };
        for (const s of Object.values(plan!.services)) {
          expect(s!.replicas).toBeLessThanOrEqual(Math.max(MAX_REPLICAS, plan!.nodes.length));
          for (const cpu of [s!.cpuLimit, s!.cpuReservation]) expect(cpu >= 0.001 && cpu <= biggest.cpus).toBe(true);
          for (const mib of [s!.memoryLimitMiB, s!.memoryReservationMiB]) expect(mib >= 6 && mib <= biggest.memoryMiB).toBe(true);
          if (s!.port !== undefined) expect(s!.port >= 1 && s!.port <= 65535).toBe(true);
        }
      }),
      settings(120),
    );
  });
});

/** Every number Docker reads in a service's inputs, and every Traefik rule. */
function serviceNumbers(inputs: Record<string, any>): { nanoCpus: number[]; memoryBytes: number[]; replicas?: number; ports: number[]; rules: string[] } {
  const spec = inputs.taskSpec;
  const r = spec.resources;
  const labels = (inputs.labels ?? []) as { label: string; value: string }[];
  return {
    nanoCpus: [r.limits.nanoCpus, r.reservation.nanoCpus],
    memoryBytes: [r.limits.memoryBytes, r.reservation.memoryBytes],
    replicas: inputs.mode.replicated?.replicas,
    ports: [
      ...(inputs.endpointSpec?.ports ?? []).flatMap((p: { targetPort: number; publishedPort: number }) => [p.targetPort, p.publishedPort]),
      ...labels.filter((l) => l.label.endsWith(".loadbalancer.server.port")).map((l) => Number(l.value)),
    ],
    rules: labels.filter((l) => /^traefik\.http\.routers\.[^.]+\.rule$/.test(l.label)).map((l) => l.value),
  };
}

describe("the program over generated configs the plan accepts", () => {
  test("every registered number is in range and every router rule is unique", async () => {
    await fc.assert(
      fc.asyncProperty(config, async ({ stack, changes }) => {
        const sets = changes.map(([key, value]) => `advwell:${key}=${value}`);
        const { plan, findings } = resolveStack(stackConfig(stack, sets), stack);
        fc.pre(plan !== undefined && !findings.some((f) => f.level === "error"));
        const run = await runProgram(stack, sets);
        expect(run.error).toBeUndefined();
        const biggest = { nanoCpus: Math.max(...plan!.nodes.map((n) => n.cpus)) * 1e9, bytes: Math.max(...plan!.nodes.map((n) => n.memoryMiB)) * 1024 * 1024 };
        const rules: string[] = [];
        for (const s of run.resources.filter((r) => r.type === "docker:index/service:Service")) {
          const n = serviceNumbers(s.inputs);
          for (const v of n.nanoCpus) expect(v >= 1e6 && v <= biggest.nanoCpus).toBe(true);
          for (const v of n.memoryBytes) expect(v >= 4 * 1024 * 1024 && v <= biggest.bytes).toBe(true);
          if (n.replicas !== undefined) expect(n.replicas >= 1 && n.replicas <= MAX_REPLICAS).toBe(true);
          for (const p of n.ports) expect(Number.isInteger(p) && p >= 1 && p <= 65535).toBe(true);
          rules.push(...n.rules);
        }
        expect(new Set(rules).size).toBe(rules.length);
      }),
      // Each run loads the SDK and registers ~70 resources; a dozen accepted configs per test run.
      { ...settings(8), maxSkipsPerRun: 200 },
    );
  }, 120000);
});

test("no two stacks in the repository share a host name", () => {
  const owner = new Map<string, string>();
  for (const stack of listStacks()) {
    const hosts = Object.values(planFor(stack).edge.hosts).filter((h): h is string => h !== undefined);
    for (const host of hosts) {
      expect({ host, stack, alsoIn: owner.get(host) }).toEqual({ host, stack, alsoIn: undefined });
      owner.set(host, stack);
    }
  }
  expect(owner.size).toBeGreaterThanOrEqual(9);
});

describe("--set paths (issue 22 item 11)", () => {
  /** A segment of a `pulumi config set --path` style key: names, prototype keys, small and huge indexes. */
  const PROTOTYPE = ["__proto__", "constructor", "prototype"];
  const segment = fc.oneof(
    fc.constantFrom(...PROTOTYPE).chain((k) => fc.constantFrom(`.${k}`, `["${k}"]`)),
    fc.constantFrom("name", "cpus", "field", "x").map((k) => `.${k}`),
    fc.integer({ min: 0, max: 3 }).map((i) => `[${i}]`),
    fc.oneof(fc.integer({ min: MAX_SET_INDEX + 1, max: 2 ** 31 }), fc.constantFrom(99999999, 2 ** 53, MAX_SET_INDEX + 1)).map((i) => `[${i}]`),
    fc.constant("[99999999999999999999999]"),
  );
  const assignment = fc.record({
    key: fc.constantFrom("advwell:nodes", "advwell:overrides", "advwell:tier", "advwell:newkey", "advwell:__proto__", "__proto__:tier", "advwell:constructor"),
    path: fc.array(segment, { minLength: 0, maxLength: 4 }),
    value: fc.oneof(fc.constantFrom("true", "1", "polluted", "{}"), fc.string({ maxLength: 8 })),
  });
  const dangerous = (key: string, path: readonly string[]) =>
    PROTOTYPE.some((k) => key.split(":").includes(k)) ||
    path.some((p) => PROTOTYPE.some((k) => p === `.${k}` || p === `["${k}"]`) || (/^\[\d+\]$/.test(p) && Number(p.slice(1, -1)) > MAX_SET_INDEX));

  test("prototype keys and huge indexes never reach an object or run long: the parse returns an error and the config is unchanged", () => {
    const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();
    const arrayBefore = Object.getOwnPropertyNames(Array.prototype).sort();
    fc.assert(
      fc.property(assignment, ({ key, path, value }) => {
        const config = stackConfig("production");
        const before = JSON.stringify(config);
        const started = performance.now();
        let thrown: unknown;
        try {
          applySet(config, `${key}${path.join("")}=${value}`, "advwell");
        } catch (e) {
          thrown = e;
        }
        // A bound no load reaches (the refusal is microseconds); the unbounded index took seconds.
        expect(performance.now() - started).toBeLessThan(1000);
        if (dangerous(key, path)) {
          expect(thrown).toBeInstanceOf(SetError);
          expect(JSON.stringify(config)).toBe(before);
        }
        // Whatever happened, nothing reached the prototypes, and nothing grew without bound.
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoBefore);
        expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(arrayBefore);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(({} as Record<string, unknown>).name).toBeUndefined();
        expect(JSON.stringify(config).length).toBeLessThan(before.length + 20_000);
      }),
      settings(400),
    );
  });

  test("an ordinary path still works: the next index appends, an existing one replaces", () => {
    const config: Record<string, string> = { "advwell:nodes": JSON.stringify(["a"]) };
    applySet(config, "advwell:nodes[1]=b", "advwell");
    applySet(config, "advwell:nodes[0]=c", "advwell");
    expect(JSON.parse(config["advwell:nodes"])).toEqual(["c", "b"]);
    expect(() => applySet(config, "advwell:nodes[5]=d", "advwell")).toThrow(/past the end of a list of 2/);
  });
});
