/**
 * The policy pack (policy/) over what index.ts really registers, for every stack and every tier, through
 * @pulumi/policy's own request handlers (test/support/policyEngine.ts): zero violations. Then every
 * rule over deliberately bad resources, made by breaking one property of a real one.
 */
import { makePolicies, POLICY_NAMES, stackEnvironmentFromEnv } from "../../policy/policies";
import { bucketGuardViolations } from "../../policy/rules/bucket";
import { ResourceLike, TYPES, wireSecret } from "../../policy/rules/common";
import { writerPolicyViolations } from "../../policy/rules/iam";
import { imagePinViolations, parseImageReference } from "../../policy/rules/image";
import { protectionViolations } from "../../policy/rules/protection";
import { configCredentialViolations, configText, findCredentials, secretMarkViolations } from "../../policy/rules/secrets";
import { swarmServiceViolations } from "../../policy/rules/service";
import { CapturedResource, ProgramRun, runProgram } from "../support/program";
import { engineResource, EngineResource, policyEngine, urnOf } from "../support/policyEngine";
import { seedNodes } from "../support/stacks";

// Every stack on every tier (three seed-sized nodes, so each tier fits), and every stack on its own
// config: 18 program runs, each with its own @pulumi/pulumi instance and exit listeners.
process.setMaxListeners(64);

const TIERS = ["starter", "growth", "scale", "business", "enterprise"] as const;
const STACKS = ["production", "staging", "dev"] as const;
const CASES: [stack: string, tier: string | undefined][] = STACKS.flatMap((stack) => [
  [stack, undefined] as [string, undefined],
  ...TIERS.map((t): [string, string] => [stack, t]),
]);
const caseKey = (stack: string, tier: string | undefined) => `${stack}/${tier ?? "own config"}`;
const runs = new Map<string, ProgramRun>();

beforeAll(async () => {
  for (const [stack, tier] of CASES) runs.set(caseKey(stack, tier), await runProgram(stack, tier ? [`advwell:tier=${tier}`, seedNodes(3)] : []));
}, 60000);

const run = (key: string) => runs.get(key)!;
const resourcesOf = (key: string, type: string) => run(key).resources.filter((r) => r.type === type);
const one = (key: string, type: string, pick: (r: CapturedResource) => boolean = () => true) => {
  const found = resourcesOf(key, type).find(pick);
  if (!found) throw new Error(`no ${type} in ${key}`);
  return found;
};
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

describe.each(CASES.map(([s, t]) => [caseKey(s, t)]))("%s: every resource index.ts registers", (key) => {
  test("passes every policy, remediation pass included, with nothing remediated", async () => {
    const program = run(key);
    expect(program.error).toBeUndefined();
    const stack = key.split("/")[0];
    const engine = policyEngine(makePolicies({ stackEnvironment: { production: "production", staging: "staging", dev: "development" }[stack] }));
    const resources = program.resources.map((r) => engineResource(stack, r));
    const found = [];
    let remediated = 0;
    for (const r of resources) {
      const { diagnostics, remediations } = await engine.register(r);
      found.push(...diagnostics);
      remediated += remediations;
    }
    found.push(...(await engine.stack(resources)));
    expect(found).toEqual([]);
    expect(remediated).toBe(0);
    // The rules had something to check.
    expect(resourcesOf(key, TYPES.service).length).toBeGreaterThanOrEqual(10);
    expect(resourcesOf(key, TYPES.secret).length).toBeGreaterThan(0);
    expect(resourcesOf(key, TYPES.config).length).toBeGreaterThan(0);
    expect(resourcesOf(key, TYPES.volume).some((v) => v.inputs.name === "advwell-postgres-data")).toBe(true);
    expect(resourcesOf(key, TYPES.bucket).length).toBe(stack === "dev" ? 0 : 1);
    expect(resourcesOf(key, TYPES.volume).some((v) => /replica-data-\d+$/.test(v.inputs.name))).toBe(key.endsWith("enterprise"));
    expect(resourcesOf(key, TYPES.service).some((v) => v.inputs.name === "pgbouncer")).toBe(/business|enterprise/.test(key));
  });
});

const BASE = "production/enterprise";
const backend = () => clone(one(BASE, TYPES.service, (r) => r.inputs.name === "backend").inputs);

describe("swarm-service-guards rejects a service", () => {
  test.each<[string, (s: any) => void, RegExp]>([
    ["without a CPU limit", (s) => delete s.taskSpec.resources.limits.nanoCpus, /no CPU limit/],
    ["without a memory limit", (s) => delete s.taskSpec.resources.limits.memoryBytes, /no memory limit/],
    ["without a CPU reservation", (s) => delete s.taskSpec.resources.reservation.nanoCpus, /no CPU reservation/],
    ["without a memory reservation", (s) => (s.taskSpec.resources.reservation.memoryBytes = 0), /no memory reservation/],
    ["without a health check", (s) => delete s.taskSpec.containerSpec.healthcheck, /no health check/],
    ["whose health check is NONE", (s) => (s.taskSpec.containerSpec.healthcheck = { tests: ["NONE"] }), /no health check/],
    ["whose update pauses on failure", (s) => (s.updateConfig.failureAction = "pause"), /failureAction is "pause", not "rollback"/],
    ["without an update config", (s) => delete s.updateConfig, /failureAction is null/],
    ["without a rollback config", (s) => delete s.rollbackConfig, /no rollbackConfig/],
    ["with an untagged image", (s) => (s.taskSpec.containerSpec.image = "tomautomations/advwell-backend"), /has no tag/],
    ["with the latest tag", (s) => (s.taskSpec.containerSpec.image = "tomautomations/advwell-backend:latest"), /moving tag latest/],
    ["with an invalid image reference", (s) => (s.taskSpec.containerSpec.image = "TomAutomations/Backend:v1"), /not a valid image reference/],
  ])("%s", (_, breakIt, message) => {
    const good = backend();
    expect(swarmServiceViolations(TYPES.service, good)).toEqual([]);
    breakIt(good);
    const found = swarmServiceViolations(TYPES.service, good);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });
});

describe("image references follow Docker's grammar", () => {
  const sha = "a".repeat(64);
  test.each([
    ["registry.example.com:5000/app:v1", { name: "registry.example.com:5000/app", tag: "v1" }],
    ["localhost:5000/team/app:1.2", { name: "localhost:5000/team/app", tag: "1.2" }],
    ["[::1]:5000/app:v1", { name: "[::1]:5000/app", tag: "v1" }],
    ["gcr.io/cadvisor/cadvisor:v0.49.1", { name: "gcr.io/cadvisor/cadvisor", tag: "v0.49.1" }],
    [`postgres@sha256:${sha}`, { name: "postgres", digest: `sha256:${sha}` }],
    [`postgres:latest@sha256:${sha}`, { name: "postgres", tag: "latest", digest: `sha256:${sha}` }],
    ["registry.example.com:5000/app", { name: "registry.example.com:5000/app" }],
  ])("%s parses", (image, parts) => expect(parseImageReference(image)).toEqual(parts));

  test.each([["registry.example.com:5000/app:v1"], [`app@sha256:${sha}`], [`app:latest@sha256:${sha}`], ["postgres:15.10-bookworm"]])("%s is pinned", (image) =>
    expect(imagePinViolations(image)).toEqual([]),
  );
  test.each([
    ["registry.example.com:5000/app", /no tag/],
    ["app:latest", /latest/],
    ["app@sha256:abc123", /not a valid image reference/],
    [`app@sha256:${"a".repeat(40)}`, /sha256 digest has 64 hex digits, not 40/],
    ["App:v1", /not a valid image reference/],
    ["app:", /not a valid image reference/],
    [":v1", /not a valid image reference/],
    ["", /has no image/],
  ])("%s is not pinned", (image, message) => expect(imagePinViolations(image).join()).toMatch(message));
});

describe("stateful-resources-protected", () => {
  const volume = (pick: (r: CapturedResource) => boolean) => clone(one(BASE, TYPES.volume, pick).inputs);
  test.each<[string, () => any, RegExp]>([
    ["the primary's data volume", () => volume((v) => v.inputs.name === "advwell-postgres-data"), /advwell-postgres-data.*not protected/],
    ["a replica's data volume", () => volume((v) => v.inputs.name === "advwell-postgres-replica-data-1"), /replica-data-1.*not protected/],
    ["any volume labelled advwell.stateful=true", () => ({ name: "orders-archive", labels: [{ label: "advwell.stateful", value: "true" }] }), /orders-archive.*not protected/],
  ])("rejects %s unprotected", (_, props, message) => {
    expect(protectionViolations(TYPES.volume, props(), { protect: true })).toEqual([]);
    expect(protectionViolations(TYPES.volume, props(), { protect: false }).join()).toMatch(message);
  });
  test("leaves other volumes alone (Traefik's certificates, Grafana's data)", () => {
    for (const v of resourcesOf(BASE, TYPES.volume).filter((r) => !r.protect)) expect(protectionViolations(TYPES.volume, v.inputs, { protect: false })).toEqual([]);
  });

  const bucket = (key: string) => clone(one(key, TYPES.bucket).inputs);
  test("rejects the production bucket unprotected", () => {
    expect(protectionViolations(TYPES.bucket, bucket("production/growth"), { protect: false }).join()).toMatch(/production backup bucket .* is not protected/);
  });
  test("rejects a bucket that says nothing about its environment (unknown counts as production)", () => {
    const b = bucket("production/growth");
    delete b.tags.environment;
    expect(protectionViolations(TYPES.bucket, b, { protect: false })).toHaveLength(1);
  });
  test("rejects an unprotected bucket tagged staging in a stack whose config says production", () => {
    expect(protectionViolations(TYPES.bucket, bucket("staging/own config"), { protect: false }, { stackEnvironment: "production" })).toHaveLength(1);
  });
  test("accepts the staging bucket unprotected, as the program intends (plan.backup.protect is production only)", () => {
    const staging = one("staging/own config", TYPES.bucket);
    expect(staging.protect).toBe(false);
    expect(protectionViolations(TYPES.bucket, staging.inputs, { protect: false }, { stackEnvironment: "staging" })).toEqual([]);
  });
});

describe("bucket-guards rejects a bucket", () => {
  const stackOf = (key: string): ResourceLike[] =>
    run(key).resources.map((r) => {
      const e = engineResource(key.split("/")[0], r);
      return { type: e.type, name: e.name, urn: e.urn, props: clone(e.outputs!), protect: e.protect };
    });
  const guard = (rs: ResourceLike[], type: string) => rs.find((r) => r.type === type)!;
  const policyDoc = (rs: ResourceLike[]) => JSON.parse(guard(rs, TYPES.bucketPolicy).props.policy);

  test("the program's bucket passes", () => expect(bucketGuardViolations(stackOf("production/growth"))).toEqual([]));
  test.each<[string, (rs: ResourceLike[]) => ResourceLike[], RegExp]>([
    ["with one public-access flag off", (rs) => (guard(rs, TYPES.publicAccessBlock).props.restrictPublicBuckets = false, rs), /not fully blocked \(not true: restrictPublicBuckets\)/],
    ["without a public access block", (rs) => rs.filter((r) => r.type !== TYPES.publicAccessBlock), /no BucketPublicAccessBlock/],
    ["without default encryption", (rs) => rs.filter((r) => r.type !== TYPES.encryption), /no default encryption/],
    ["whose versioning is suspended", (rs) => (guard(rs, TYPES.versioning).props.versioningConfiguration.status = "Suspended", rs), /versioning is not Enabled/],
    ["whose guards name another bucket", (rs) => (guard(rs, TYPES.versioning).props.bucket = "someone-elses-bucket", rs), /versioning is not Enabled/],
    [
      "whose policy does not deny plain HTTP",
      (rs) => {
        const doc = policyDoc(rs);
        doc.Statement[0].Condition.Bool["aws:SecureTransport"] = "true";
        guard(rs, TYPES.bucketPolicy).props.policy = JSON.stringify(doc);
        return rs;
      },
      /does not deny non-TLS access/,
    ],
    [
      "whose TLS deny covers the bucket but not its objects",
      (rs) => {
        const doc = policyDoc(rs);
        doc.Statement[0].Resource = doc.Statement[0].Resource[0];
        guard(rs, TYPES.bucketPolicy).props.policy = JSON.stringify(doc);
        return rs;
      },
      /does not deny non-TLS access/,
    ],
    ["without a bucket policy", (rs) => rs.filter((r) => r.type !== TYPES.bucketPolicy), /does not deny non-TLS access/],
  ])("%s", (_, breakIt, message) => {
    const found = bucketGuardViolations(breakIt(stackOf("production/growth")));
    expect(found).toHaveLength(1);
    expect(found[0].message).toMatch(message);
    expect(found[0].urn).toBe(urnOf("production", TYPES.bucket, "backup-bucket"));
  });
  test("finds guards by property dependency while the bucket's id is unknown (a first preview)", () => {
    const rs = stackOf("production/growth");
    const b = guard(rs, TYPES.bucket);
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const linked = rs.map((r) => (r.props.bucket === b.props.id ? { ...r, props: { ...r.props, bucket: unknown }, propertyDependencies: { bucket: [b.urn] } } : r));
    expect(bucketGuardViolations(linked)).toEqual([]);
    expect(bucketGuardViolations(linked.map((r) => ({ ...r, propertyDependencies: undefined })))).toHaveLength(4);
  });
});

describe("backup-writer-cannot-delete", () => {
  const writer = () => clone(one("production/growth", TYPES.userPolicy).inputs);
  const withStatement = (statement: Record<string, unknown>) => {
    const w = writer();
    const doc = JSON.parse(w.policy);
    doc.Statement.push({ Sid: "Added", Resource: "*", ...statement });
    return { ...w, policy: JSON.stringify(doc) };
  };
  test("the program's writer passes", () => expect(writerPolicyViolations(TYPES.userPolicy, writer())).toEqual([]));
  test.each<[string, Record<string, unknown>, RegExp]>([
    ["s3:DeleteObject", { Effect: "Allow", Action: "s3:DeleteObject" }, /includes s3:DeleteObject/],
    ["s3:Delete*", { Effect: "Allow", Action: ["s3:Delete*"] }, /includes s3:DeleteObject, s3:DeleteObjectVersion/],
    ["s3:*", { Effect: "Allow", Action: "s3:*" }, /includes s3:DeleteObject/],
    ["*", { Effect: "Allow", Action: "*" }, /includes s3:DeleteObject/],
    ["a wildcard that includes a delete (s3:*Object)", { Effect: "Allow", Action: "s3:*Object" }, /includes s3:DeleteObject/],
    ["a delete spelled in lower case", { Effect: "Allow", Action: "s3:deleteobjectversion" }, /which includes s3:DeleteObjectVersion:/],
    ["a delete action the list does not know", { Effect: "Allow", Action: "s3:DeleteSomethingNew" }, /which includes s3:DeleteSomethingNew:/],
    ["an Allow with NotAction", { Effect: "Allow", NotAction: ["s3:GetObject"] }, /NotAction .* includes s3:DeleteObject/],
    ["a lifecycle write (expire everything)", { Effect: "Allow", Action: "s3:PutLifecycleConfiguration" }, /includes s3:PutLifecycleConfiguration/],
  ])("rejects %s", (_, statement, message) => {
    const found = writerPolicyViolations(TYPES.userPolicy, withStatement(statement));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });
  test("accepts a Deny of deletes", () => expect(writerPolicyViolations(TYPES.userPolicy, withStatement({ Effect: "Deny", Action: "s3:Delete*" }))).toEqual([]));
  test("rejects a policy that is not JSON", () => expect(writerPolicyViolations(TYPES.userPolicy, { policy: "{not json" })).toEqual(["the policy is not a readable JSON policy document"]));
});

describe("secrets and configs", () => {
  const STACK = "production";
  const secretResource = () => one(BASE, TYPES.secret, (r) => r.name === "advwell-database-url");
  const configResource = () => one(BASE, TYPES.config, (r) => r.name === "pgbouncer-ini");
  const asEngine = (r: CapturedResource, inputs: Record<string, unknown>): EngineResource => ({ ...engineResource(STACK, r), inputs, outputs: { ...inputs, id: `${r.name}-id` } });

  test("what the engine gives a pack: Analyze sees a secret as a plain value, Remediate sees it wrapped", () => {
    // The same wire Struct, deserialized the two ways @pulumi/policy's server does.
    const { deserializeProperties } = require("@pulumi/policy/deserialize");
    const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
    const { Secret } = require("@pulumi/policy");
    const { toWireForm } = require("../../policy/policies");
    const { unknownCheckingProxy } = require("@pulumi/policy/proxy");
    const wire = JSON.parse(JSON.stringify(secretResource().rawInputs));
    const analyzed = deserializeProperties(Struct.fromJavaScript(wire), false);
    const remediated = unknownCheckingProxy(deserializeProperties(Struct.fromJavaScript(wire), true));
    expect(typeof analyzed.data).toBe("string");
    expect(typeof remediated.data).toBe("string"); // property access unwraps ...
    expect(Object.getOwnPropertyDescriptor(remediated, "data")!.value).toBeInstanceOf(Secret); // ... the descriptor does not
    expect(toWireForm(remediated)).toEqual(wire);
  });

  test("a Swarm secret whose data is not marked secret is a mandatory violation", async () => {
    const r = secretResource();
    const engine = policyEngine(makePolicies());
    const marked = await engine.register(asEngine(r, r.rawInputs));
    expect(marked.diagnostics).toEqual([]);
    const plain = await engine.register(asEngine(r, { ...r.rawInputs, data: r.inputs.data }));
    expect(plain.diagnostics).toEqual([{ policy: "swarm-secrets-marked-secret", level: "mandatory", message: expect.stringMatching(/data is not marked secret/) }]);
  });
  test("without the remediation pass the secretness rule fails closed", async () => {
    const r = secretResource();
    const { diagnostics } = await policyEngine(makePolicies()).register(asEngine(r, r.rawInputs), { skipRemediation: true });
    expect(diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/could not tell which inputs are secret/)]);
  });
  test("a config that holds a value the program marked secret is a violation", async () => {
    const r = configResource();
    const { diagnostics } = await policyEngine(makePolicies()).register(asEngine(r, { ...r.rawInputs, data: wireSecret(r.inputs.data) }));
    expect(diagnostics).toEqual([{ policy: "swarm-secrets-marked-secret", level: "mandatory", message: expect.stringMatching(/\ndata holds a value the program marked secret/) }]);
  });
  test("a config whose text contains another resource's secret value is a violation (stack rule)", async () => {
    const secret = one(BASE, TYPES.secret, (r) => r.name === "postgres-reconcile-app-password");
    const config = configResource();
    const password = Buffer.from(secret.inputs.data, "base64").toString("utf8");
    const leaking = asEngine(config, { ...config.rawInputs, data: Buffer.from(`${configText(config.inputs)}\n; copied for debugging: ${password}\n`).toString("base64") });
    const engine = policyEngine(makePolicies());
    const resources = [asEngine(secret, secret.rawInputs), leaking];
    for (const r of resources) await engine.register(r);
    const found = await engine.stack(resources);
    expect(found).toEqual([
      { policy: "swarm-configs-hold-no-stack-secrets", level: "mandatory", urn: leaking.urn, message: expect.stringMatching(/contains a value that .*postgres-reconcile-app-password marks secret/) },
    ]);
  });
  test("the pure secretness rule ignores other types", () => expect(secretMarkViolations(TYPES.service, { image: "x" })).toEqual([]));

  test.each([
    ["a postgres URL with a password", "DATABASE_URL=postgresql://advwell:s3cr3tpass@postgres:5432/advtom", /line 1: a URL with a password/],
    ["a password assignment", "[db]\npassword=hunter22", /line 2: a password\/secret\/token assignment/],
    ["a YAML secret", "client_secret: 'f00b4rb4z'", /assignment/],
    ["a PEM private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIE...", /line 1: a PEM private key/],
    ["an AWS access key id", "key AKIAIOSFODNN7EXAMPLE", /an AWS access key id/],
    ["an AWS secret key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", /an AWS secret access key/],
  ])("swarm-configs-hold-no-credentials rejects %s", (_, text, message) => {
    const found = configCredentialViolations(TYPES.config, { dataRaw: text });
    expect(found.length).toBeGreaterThan(0);
    expect(found.join("\n")).toMatch(message);
    expect(found.join("\n")).not.toMatch(/s3cr3tpass|hunter22|f00b4rb4z|wJalrXUtn/);
  });
  test("swarm-configs-hold-no-credentials reads base64 data as well as dataRaw", () => {
    expect(configCredentialViolations(TYPES.config, { data: Buffer.from("password=hunter22").toString("base64") })).toHaveLength(1);
  });
  test.each([
    ['password="$(cat /run/secrets/postgres-app-password)"'],
    ["CREATE ROLE :\"app_user\" LOGIN PASSWORD :'app_password';"],
    ["DATABASE_URL_FILE=/run/secrets/database-url"],
    ["postgres://advwell@postgres:5432/advtom"],
    ["--set=app_password=\"$app_password\""],
    ["password=<secret>"],
    ["auth_file = /run/secrets/pgbouncer-userlist"],
  ])("does not mistake %s for a credential", (text) => expect(findCredentials(text)).toEqual([]));
});

describe("the pack", () => {
  test("index.ts registers every policy, mandatory by default, without starting a server", () => {
    const constructed: { name: string; args: any }[] = [];
    jest.isolateModules(() => {
      jest.doMock("@pulumi/policy", () => ({
        ...jest.requireActual("@pulumi/policy"),
        PolicyPack: class {
          constructor(name: string, args: unknown) {
            constructed.push({ name, args });
          }
        },
      }));
      require("../../policy/index");
    });
    expect(constructed).toHaveLength(1);
    const [{ name, args }] = constructed;
    expect(name).toBe("advwell");
    expect(args.enforcementLevel).toBe("mandatory");
    expect(args.policies.map((p: { name: string }) => p.name)).toEqual([...POLICY_NAMES]);
    for (const p of args.policies) {
      expect(typeof (p.validateResource ?? p.validateStack)).toBe("function");
      expect(p.enforcementLevel).toBe(p.name === "swarm-secrets-marked-secret" ? "remediate" : "mandatory");
    }
  });
  test("reads the stack's advwell:environment from the config the engine passes", () => {
    expect(stackEnvironmentFromEnv({ PULUMI_CONFIG: JSON.stringify({ "advwell:environment": "staging", "aws:region": "sa-east-1" }) })).toBe("staging");
    expect(stackEnvironmentFromEnv({})).toBeUndefined();
    expect(stackEnvironmentFromEnv({ PULUMI_CONFIG: "not json" })).toBeUndefined();
  });
});
