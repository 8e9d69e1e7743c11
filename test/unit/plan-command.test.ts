import { main } from "../../scripts/plan";

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

  test.each([
    ["advwell:postgresSuperuserPassword[x=hunter2-mark", /--set: cannot read the path of "advwell:postgresSuperuserPassword\[x"/],
    ["=hunter2-mark", /--set expects key=value, got no key before the "="/],
  ])("a malformed --set %j names the key, never the value", async (assignment, message) => {
    const { code, out, err } = await run(["--stack", "production", "--set", assignment]);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(out + err).not.toContain("hunter2-mark");
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
