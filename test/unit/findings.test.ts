import { resolve, seedNodes } from "../support/stacks";

/** The findings a config produces, as `level key` strings. */
function findingsOf(sets: string[], stack = "production") {
  return resolve(stack, sets).findings;
}
function keysOf(sets: string[], level: "error" | "warning" = "error") {
  return findingsOf(sets).filter((f) => f.level === level).map((f) => f.key);
}

describe("errors refuse the deploy and name the key", () => {
  test("an unknown tier names advwell:tier, the value and the allowed tiers", () => {
    const [f] = findingsOf(["advwell:tier=huge"]);
    expect(f).toMatchObject({ level: "error", key: "advwell:tier" });
    expect(f.message).toContain('"huge"');
    expect(f.message).toContain("starter, growth, scale, business, enterprise");
  });

  test("a replica count that is not positive", () => {
    const findings = findingsOf(['advwell:overrides=["backend.replicas=0"]']);
    expect(findings).toEqual([expect.objectContaining({ level: "error", key: "advwell:overrides[backend.replicas]" })]);
    expect(findings[0].message).toContain("positive integer");
  });

  test("a malformed size in an override", () => {
    expect(keysOf(['advwell:overrides=["backend.memoryLimit=lots"]'])).toEqual(["advwell:overrides[backend.memoryLimit]"]);
  });

  test("a malformed size in the node inventory", () => {
    const [f] = findingsOf(['advwell:nodes=["name=vps-1,cpus=4,memory=sixteen,role=manager"]']);
    expect(f.key).toBe("advwell:nodes[0]");
    expect(f.message).toContain("sixteen");
  });

  test("a misspelt config key is refused rather than ignored", () => {
    expect(keysOf(["advwell:teir=scale"])).toEqual(["advwell:teir"]);
  });

  test("an image on :latest or without a tag", () => {
    expect(keysOf(["advwell:backendImage=tomautomations/advwell-backend:latest", "advwell:frontendImage=tomautomations/advwell-frontend"])).toEqual([
      "advwell:backendImage",
      "advwell:frontendImage",
    ]);
  });

  test("an endpoint mode other than vip or dnsrr", () => {
    const [f] = findingsOf(["advwell:endpointMode=ingress"]);
    expect(f).toMatchObject({ level: "error", key: "advwell:endpointMode" });
    expect(f.message).toContain('"ingress"; allowed: vip, dnsrr');
  });

  test("a backup endpoint that is not an http(s) URL, and a backup image without a pinned tag", () => {
    expect(keysOf(["advwell:backupEndpointUrl=s3.example.com", "advwell:backupImage=local/backup:latest"])).toEqual(["advwell:backupImage", "advwell:backupEndpointUrl"]);
  });

  test("reservations that fit in total but not on any single node", () => {
    // A 1.15 CPU manager plus six 0.4 CPU workers hold 3.55 CPUs, more than growth reserves
    // (3.15), but no 0.4 CPU node can take a whole 0.5 CPU backend task.
    const workers = Array.from({ length: 6 }, (_, i) => `name=w${i},cpus=0.4,memory=4GiB,role=worker`);
    const nodes = `advwell:nodes=${JSON.stringify(["name=m,cpus=1.15,memory=8GiB,role=manager", ...workers])}`;
    const total = 1.15 + 6 * 0.4;
    expect(total).toBeGreaterThan(3.15);
    const errors = findingsOf([nodes]).filter((f) => f.level === "error");
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((f) => f.key === "advwell:nodes")).toBe(true);
    // A backend task fits on no node (and postgres' 2 CPU limit exceeds every node, a second error on the same key).
    // Folded under the one finding that says how many nodes the plan needs.
    expect(errors.some((f) => (f.details ?? []).some((d) => /^backend: .* fit on no node/.test(d)))).toBe(true);
  });

  test("the scale tier does not fit the seed's single node (the table's claim fails)", () => {
    const errors = findingsOf(["advwell:tier=scale"]).filter((f) => f.level === "error");
    expect(errors.map((f) => f.key)).toContain("advwell:nodes");
  });

  test("'200+ with a simple replica increase' is false: enterprise needs three seed-sized nodes", () => {
    expect(keysOf(["advwell:tier=enterprise", seedNodes(2)])).toContain("advwell:nodes");
    expect(keysOf(["advwell:tier=enterprise", seedNodes(3)])).toEqual([]);
  });

  test("a connection budget above max_connections minus the reserved slots", () => {
    const budget = resolve("production").plan!.connections.budget;
    const max = budget; // the budget itself, but 3 slots are the superuser's
    const [f] = findingsOf([`advwell:overrides=["postgres.maxConnections=${max}"]`]).filter((x) => x.level === "error");
    expect(f.key).toBe("advwell:overrides[postgres.maxConnections]");
    expect(f.message).toContain(`budget is ${budget}`);
    expect(f.message).toContain(`leaves ${max - 3}`);
  });

  test("a Node heap at the container's memory limit (the seed's 1024 MB in 1 GB)", () => {
    const [f] = findingsOf(['advwell:overrides=["backend.nodeHeap=1024MiB"]']);
    expect(f).toMatchObject({ level: "error", key: "advwell:overrides[backend.nodeHeap]" });
  });

  test("the seed's literal work_mem with 300 connections overflows the 3 GiB container", () => {
    const [f] = findingsOf(['advwell:overrides=["postgres.settings.work_mem=16MB","postgres.settings.shared_buffers=1GB","postgres.maxConnections=300"]']).filter((x) => x.level === "error");
    expect(f.key).toBe("advwell:overrides[postgres.settings.work_mem]");
    expect(f.message).toMatch(/can use \d+ MiB at worst/);
  });

  test("max_connections that no work_mem can fit into the container", () => {
    expect(keysOf(['advwell:overrides=["postgres.maxConnections=3000"]'])).toContain("advwell:overrides[postgres.maxConnections]");
  });

  test("a reservation larger than its limit", () => {
    expect(keysOf(['advwell:overrides=["frontend.memoryReservation=300MiB"]'])).toEqual(["advwell:overrides[frontend.memoryReservation]"]);
  });

  test("a read replica with a single node", () => {
    expect(keysOf(["advwell:tier=enterprise"])).toContain("advwell:nodes");
  });
});

describe("warnings", () => {
  test("no headroom for a start-first update", () => {
    // 3.7 CPUs: growth with monitoring and the reconciler reserves 3.39, so the steady state and a
    // third frontend (0.25) fit, but a fourth backend (0.5) does not.
    const nodes = 'advwell:nodes=["name=vps-1,cpus=3.7,memory=16GiB,role=manager"]';
    expect(resolve("production").plan!.nodes[0].cpuReserved).toBeCloseTo(3.39, 2);
    const findings = findingsOf([nodes]);
    expect(findings.filter((f) => f.level === "error")).toEqual([]);
    expect(findings.filter((f) => f.level === "warning" && /headroom/.test(f.message)).map((f) => f.message)).toEqual([expect.stringContaining("backend")]);
  });

  test("a single replica in production", () => {
    expect(keysOf(['advwell:overrides=["frontend.replicas=1"]'], "warning")).toContain("advwell:overrides[frontend.replicas]");
  });

  test("no single-replica warning outside production (staging runs one frontend)", () => {
    expect(resolve("staging").findings.filter((f) => /single replica/.test(f.message))).toEqual([]);
  });

  test("effective_cache_size above the container, as the seed had it", () => {
    expect(keysOf(['advwell:overrides=["postgres.settings.effective_cache_size=4GB"]'], "warning")).toContain("advwell:overrides[postgres.settings.effective_cache_size]");
  });
});
