import { plannedRestart } from "../../model";
import { main } from "../../scripts/plan";
import { planFor } from "../support/stacks";

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const o = jest.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true));
  const e = jest.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(args), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe("npm run plan", () => {
  test("--json prints the stable shape", async () => {
    const { code, out } = await run(["--stack", "production", "--json"]);
    expect(code).toBe(0);
    const plan = JSON.parse(out);
    expect(plan).toMatchObject({ stack: "production", tier: "growth" });
    // From the budget: budget + headroom + 3 superuser slots (issue 13), not the seed's 300.
    expect(plan.connections.maxConnections).toBe(plan.connections.budget + plan.connections.headroom + 3);
    expect(plan.services.backend).toMatchObject({ replicas: 3, cpuLimit: 1, memoryLimitMiB: 1024, cpuReservation: 0.5, memoryReservationMiB: 512 });
    expect(plan.nodes[0]).toMatchObject({ cpus: 4, memoryMiB: 16384 });
    expect(typeof plan.nodes[0].cpuReserved).toBe("number");
    expect(typeof plan.postgres.settings.shared_buffers).toBe("string");
    expect(Array.isArray(plan.findings)).toBe(true);
  });
  test("the readable form shows services, node use in percent, settings, budget and findings", async () => {
    const { out } = await run(["--stack", "production"]);
    for (const heading of ["Services", "Nodes", "PostgreSQL 15 settings", "Connections: budget", "Findings"]) expect(out).toContain(heading);
    expect(out).toMatch(/\(\d+(\.\d)?%\)/);
  });
  test("--set previews another tier without editing a file", async () => {
    const { out } = await run(["--stack", "production", "--json", "--set", "advwell:tier=starter"]);
    expect(JSON.parse(out).services.backend.replicas).toBe(2);
  });
  test("exits non-zero on errors and names the key", async () => {
    const { code, err } = await run(["--stack", "production", "--set", "advwell:tier=scale"]);
    expect(code).toBe(1);
    expect(err).toContain("advwell:nodes");
  });
  test("an invalid value exits non-zero with the key, the value and what is allowed", async () => {
    const { code, out, err } = await run(["--stack", "production", "--set", "advwell:tier=huge"]);
    expect(code).toBe(1);
    expect(out).toContain('got "huge"; allowed: starter');
    expect(err).toContain("advwell:tier");
  });
  test("--tiers --json lists every tier, smallest first, with its company range", async () => {
    const { out } = await run(["--tiers", "--json"]);
    const tiers = JSON.parse(out);
    expect(tiers.map((t: { name: string }) => t.name)).toEqual(["starter", "growth", "scale", "business", "enterprise"]);
    expect(tiers.map((t: { companies: string }) => t.companies)).toEqual(["1-20", "21-50", "51-100", "101-200", "201+"]);
    expect(tiers.filter((t: { fitsOneSeedNode: boolean }) => t.fitsOneSeedNode).map((t: { name: string }) => t.name)).toEqual(["starter", "growth"]);
  });
});

describe("npm run plan, resource modes (the real program under mocks)", () => {
  test("--resources --json adds a resources array with type, name, parent, inputs and protection; secrets print as [secret]", async () => {
    const { code, out } = await run(["--stack", "production", "--resources", "--json"]);
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result.tier).toBe("growth");
    const volume = result.resources.find((r: { name: string }) => r.name === "postgres-data");
    expect(volume).toMatchObject({ type: "docker:index/volume:Volume", parent: "postgres", protect: true, retainOnDelete: true });
    // URNs as the engine forms them: the parents' types, then the name.
    expect(volume.urn).toBe("urn:pulumi:production::advwell::advwell:stack:AdvWell$advwell:postgres:Postgres$docker:index/volume:Volume::postgres-data");
    expect(volume.parentUrn).toBe("urn:pulumi:production::advwell::advwell:stack:AdvWell$advwell:postgres:Postgres::postgres");
    const secret = result.resources.find((r: { name: string }) => r.name === "postgres-superuser-password");
    expect(secret.inputs.data).toBe("[secret]");
    expect(result.outputs.databaseUrl).toBe("[secret]");
    expect(out).not.toMatch(/mock-pw-/);
  }, 60000);
  test("--diff --set shows the tier change property by property, in human units, and says PostgreSQL restarts and for how long", async () => {
    const { code, out } = await run(["--stack", "production", "--diff", "--set", "advwell:tier=starter"]);
    expect(code).toBe(0);
    expect(out).toContain("~ docker:index/service:Service backend-service");
    expect(out).toContain("mode.replicated.replicas: 3 => 2");
    expect(out).not.toContain("STATEFUL");
    // Issue 24 item 10 (d): CPUs, MiB/GiB and durations, never nano-CPUs or bytes.
    expect(out).toContain("taskSpec.resources.limits.nanoCpus: 2 CPU => 1 CPU");
    expect(out).toContain("taskSpec.resources.reservation.nanoCpus: 1 CPU => 0.5 CPU");
    expect(out).toContain("taskSpec.resources.limits.memoryBytes: 3 GiB => 2 GiB");
    expect(out).not.toMatch(/\b\d{7,}\b/);
    // (e): the starter tier's settings and resources change PostgreSQL's task spec; N from the new plan.
    const { seconds } = plannedRestart(planFor("production", ["advwell:tier=starter"]).services.postgres!);
    expect(out.split("\n")[1]).toBe(`!!! PostgreSQL restarts (about ${seconds} s unavailable; up to ${seconds + 120} s if its shutdown takes the whole 120 s stop grace): its task spec changes (settings, mounts, CPU and memory)`);
  }, 60000);
  test("--diff of a change that leaves PostgreSQL's spec alone does not say it restarts", async () => {
    const { code, out } = await run(["--stack", "production", "--diff", "--set", "advwell:apiDomain=api2.advwell.pro"]);
    expect(code).toBe(0);
    expect(out).toContain("api2.advwell.pro");
    expect(out).not.toContain("PostgreSQL restarts");
  }, 60000);
  test("--stack staging --diff production --markdown matches every resource and flags only the stateful ones that change (issue 24 item 9)", async () => {
    const { code, out } = await run(["--stack", "staging", "--diff", "production", "--markdown"]);
    expect(code).toBe(0);
    expect(out).toMatch(/\*\*0 added, 0 removed, \d+ changed\*\*/);
    // The backup bucket differs by stack (its prefix, protection); the Postgres volume does not.
    expect(out).toContain("#### ✏️ `aws:s3/bucket:Bucket` backup-bucket ⚠️ STATEFUL");
    expect(out).not.toContain("postgres-data");
  }, 60000);
  test("--rotate app-password prints the one pulumi up --replace command, with the stack's URN from the program run", async () => {
    const { code, out, err } = await run(["--stack", "staging", "--rotate", "app-password"]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toBe("pulumi up --stack staging --replace 'urn:pulumi:staging::advwell::advwell:stack:AdvWell$random:index/randomPassword:RandomPassword::advwell-postgres-app-password'\n");
  }, 60000);
});

describe("npm run plan never prints a stack trace (issue 14)", () => {
  const noTrace = (text: string) => expect(text).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/);

  test.each([
    [["--tiers", "--stack", "nope"], /--stack: no stack "nope"/],
    [["--stack", "production", "--diff", "nope"], /--diff: no stack "nope"/],
    [["--stack", "production", "--diff-from", "/no/such/file.json"], /--diff-from: cannot read \/no\/such\/file\.json: ENOENT/],
    [["--stack", "production", "--json", "--markdown", "--diff", "staging"], /--json and --markdown both choose the output format/],
    [["--stack", "production", "--markdown"], /--markdown formats a diff/],
    [["--tiers", "--resources"], /--tiers prints the tier table/],
    [["--stack", "production", "--resources", "--diff", "staging"], /--resources prints one stack's resources and --diff compares two/],
    [["--stack", "production", "--set", "no-equals-sign"], /--set expects key=value/],
    [["--stack", "production", "--bogus"], /Unknown option '--bogus'/],
    [["--stack", "production", "--rotate", "superuser-password"], /--rotate: got "superuser-password": initdb sets the superuser's password once/],
    [["--stack", "production", "--rotate", "app-password", "--resources"], /--rotate prints one command/],
    [["--stack", "production", "--cwd", "/no/such/dir"], /--cwd: no Pulumi.yaml in \/no\/such\/dir/],
  ])("%j exits 2 with one clear message", async (args, message) => {
    const { code, out, err } = await run(args as string[]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toMatch(message);
    noTrace(err);
  });

  test.each([
    ["not JSON", "{ not json", /is not JSON/],
    ["an empty object", "{}", /is not a resource capture/],
  ])("--diff-from with %s exits 2 and says what the file should be", async (_what, text, message) => {
    const file = require("path").join(require("os").tmpdir(), `advwell-capture-${process.pid}-${Math.random()}.json`);
    require("fs").writeFileSync(file, text);
    const { code, err } = await run(["--stack", "production", "--diff-from", file]).finally(() => require("fs").rmSync(file, { force: true }));
    expect(code).toBe(2);
    expect(err).toMatch(message);
    noTrace(err);
  });

  test("the stderr summary names each key once, with a count", async () => {
    const { code, err } = await run(["--stack", "production", "--set", "advwell:tier=enterprise"]);
    expect(code).toBe(1);
    expect(err).toMatch(/^plan has errors: advwell:nodes \(\d+\)\n$/);
  });

  test("a reader that closes the pipe early (| head -1) ends the command quietly", async () => {
    const { spawn } = require("child_process") as typeof import("child_process");
    const child = spawn(process.execPath, ["bin/advwell-plan", "--stack", "production", "--json"], { cwd: require("path").resolve(__dirname, "../.."), stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    const code = await new Promise((r) => child.on("close", r));
    expect(code).toBe(0);
    expect(err).toBe("");
  }, 30000);
});

describe("a change the plan refuses still shows what it would do (issue 14)", () => {
  test("--diff --set tier=scale on one node prints the diff and then the errors that block it, exit 1", async () => {
    const { code, out, err } = await run(["--stack", "production", "--diff", "--set", "advwell:tier=scale"]);
    expect(code).toBe(1);
    expect(out).toContain("mode.replicated.replicas: 3 => 5");
    const diffAt = out.indexOf("mode.replicated.replicas");
    const blockedAt = out.indexOf("This change cannot be deployed: the plan has errors");
    expect(blockedAt).toBeGreaterThan(diffAt);
    expect(out.slice(blockedAt)).toContain("ERROR advwell:nodes");
    expect(err).toMatch(/plan has errors: advwell:nodes/);
  }, 60000);
  test("in Markdown (the PR comment) \"cannot be deployed\" comes first, led by how many nodes the tier needs", async () => {
    const { code, out } = await run(["--stack", "production", "--diff", "--set", "advwell:tier=scale", "--markdown"]);
    expect(code).toBe(1);
    expect(out.startsWith("> **This change cannot be deployed: the plan has errors.**\n\n- `advwell:nodes`: the scale tier needs 2 nodes like vps-1")).toBe(true);
    expect(out.indexOf("### Infrastructure diff")).toBeGreaterThan(out.indexOf("  - frontend: task 3 of 3"));
    expect(out.match(/^- `advwell:nodes`/gm)).toHaveLength(1);
  }, 60000);
});
