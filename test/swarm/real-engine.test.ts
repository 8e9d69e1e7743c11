/**
 * The real Pulumi engine, built from Go modules (tools/pulumi, tools/language-nodejs,
 * tools/provider-random; scripts/build-tools.sh), through the deploy seam (lib/engineSeam.ts):
 * `pulumi up`, `preview --expect-no-changes`, `refresh`, a second `up` and `destroy` of a stack,
 * with a file backend and secrets under a passphrase.
 *
 * Its program is test/swarm/real-engine/index.ts: the stack's generated credentials made the way
 * components/advwell.ts makes them. The AdvWell program itself cannot run here yet: its docker
 * resources need pulumi-resource-docker, and the Go module proxy serves no version of the
 * Terraform docker provider it bridges (docs/rehearsal.md, "The real engine").
 */
import * as path from "path";
import { loadStackConfig } from "../../config/stackConfig";
import { changedCounts, EngineRun, pulumiCliEngine, StackEngine } from "./lib/engineSeam";

const PROJECT = path.join(__dirname, "real-engine");
const ROOT = path.resolve(__dirname, "..", "..");
const say = (line: string) => process.stdout.write(`${line}\n`);

async function engineWith(config: Record<string, string>): Promise<StackEngine> {
  return pulumiCliEngine({ projectDir: PROJECT, stack: "dev", config, log: () => undefined });
}

describe("the real Pulumi CLI v3.248.0 with the built language host and random provider", () => {
  let engine: StackEngine;
  let first: EngineRun;
  const passwordsOf = (state: Awaited<ReturnType<StackEngine["exportState"]>>) =>
    Object.fromEntries(state.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword").map((r) => [r.urn.split("::").pop()!, r.outputs?.result]));

  beforeAll(async () => {
    engine = await engineWith({});
    const started = Date.now();
    first = await engine.up();
    say(`real engine: first up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(first.changes)}`);
  }, 900_000);

  afterAll(async () => {
    if (!engine) return;
    try {
      await engine.destroy();
    } finally {
      await engine.dispose();
    }
  }, 300_000);

  test("pulumi up creates the stack and both credentials", () => {
    expect(first.changes).toEqual({ create: 3 }); // the stack resource and two passwords
  });

  test("right after up, pulumi preview --expect-no-changes passes", async () => {
    const preview = await engine.preview({ expectNoChanges: true });
    expect(changedCounts(preview)).toEqual({});
    expect(preview.changes.same).toBe(3);
  }, 300_000);

  test("pulumi refresh, then a preview, shows no changes", async () => {
    const refresh = await engine.refresh();
    expect(changedCounts(refresh)).toEqual({});
    const preview = await engine.preview({ expectNoChanges: true });
    expect(changedCounts(preview)).toEqual({});
  }, 300_000);

  test("a second pulumi up with nothing changed changes nothing: the same IDs and values", async () => {
    const before = await engine.exportState();
    const valuesBefore = (await engine.outputs()).results;
    const second = await engine.up();
    expect(changedCounts(second)).toEqual({});
    const after = await engine.exportState();
    // The checkpoint's order follows which operation finished first: compared as sets.
    const idsOf = (st: typeof before) => st.resources.map((r) => `${r.urn} ${r.id}`).sort();
    expect(idsOf(after)).toEqual(idsOf(before));
    expect((await engine.outputs()).results).toEqual(valuesBefore);
  }, 300_000);

  test("the generated passwords are secrets in the state: ciphertext, never the value", async () => {
    const state = await engine.exportState();
    const results = Object.values(passwordsOf(state));
    expect(results).toHaveLength(2);
    for (const r of results) expect(r).toEqual(expect.objectContaining({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: expect.any(String) }));
    // Decrypted (stack outputs with the passphrase): 32 letters and digits each, as the program asks,
    // and none of them anywhere in the checkpoint.
    const plain = Object.values((await engine.outputs()).results as Record<string, string>);
    expect(plain).toHaveLength(2);
    const checkpoint = JSON.stringify(state);
    for (const p of plain) {
      expect(p).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(checkpoint).not.toContain(p);
    }
  }, 120_000);
});

describe("a changed input through the real engine touches only what changed", () => {
  test("one more credential: one create, the others the same (values kept)", async () => {
    const engine = await engineWith({ "advwell-engine-check:passwords": "db,grafana" });
    try {
      await engine.up();
      const kept = (await engine.exportState()).resources.filter((r) => r.type.startsWith("random:")).map((r) => [r.urn, r.id]);
      const valuesBefore = (await engine.outputs()).results as Record<string, string>;
      await engine.setConfig({ "advwell-engine-check:passwords": "db,grafana,backup" });
      const changed = await engine.up();
      expect(changedCounts(changed)).toEqual({ create: 1 });
      const after = (await engine.exportState()).resources.filter((r) => r.type.startsWith("random:")).map((r) => [r.urn, r.id]);
      expect(after).toEqual(expect.arrayContaining(kept));
      expect(after).toHaveLength(3);
      const valuesAfter = (await engine.outputs()).results as Record<string, string>;
      expect(valuesAfter).toEqual(expect.objectContaining(valuesBefore));
      expect(valuesAfter.backup).toMatch(/^[A-Za-z0-9]{32}$/);
    } finally {
      await engine.destroy().catch(() => undefined);
      await engine.dispose();
    }
  }, 900_000);
});

describe("the AdvWell program under the real CLI, as far as it goes without a daemon", () => {
  // Every stack's program compiles under the CLI's own TypeScript loader (@pulumi/pulumi cmd/run), its
  // config passes the CLI's type check against Pulumi.yaml, and the built docker provider loads and
  // configures; with no daemon behind docker:host, it stops at the provider's ping.
  test.each(["dev", "staging", "production"])("pulumi preview of %s reaches the docker provider's ping", async (stack) => {
    const engine = await pulumiCliEngine({ projectDir: ROOT, stack, config: loadStackConfig(stack).config, dockerHost: "unix:///run/advwell-no-daemon.sock" });
    try {
      const error = await engine.preview().then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(error).toContain("Error pinging Docker server: Cannot connect to the Docker daemon at unix:///run/advwell-no-daemon.sock");
      // Nothing failed before it: not the program, not the config, not loading a plugin.
      expect(error).not.toMatch(/TSError|Running program .* failed|validating stack config|no resource plugin/);
    } finally {
      await engine.dispose();
    }
  }, 600_000);
});
