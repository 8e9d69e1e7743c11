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
import { BUILD_NUMBERED_REPOSITORIES, KNOWN_FLOATING } from "../../policy/rules/image";
import { credentialViolations, DOCKER_SOCKET_CLIENTS, exposureViolations, privilegeViolations, secretFileViolations } from "../../policy/rules/hardening";
import { networkViolations } from "../../policy/rules/networks";
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

  test.each([
    ["registry.example.com:5000/app:v1.4.2"],
    [`app@sha256:${sha}`],
    [`app:latest@sha256:${sha}`],
    [`postgres:15@sha256:${sha}`],
    ["postgres:15.10-bookworm"],
    ["traefik:v3.2.3"],
    ["tomautomations/advwell-backend:v52"],
  ])("%s is pinned", (image) =>
    expect(imagePinViolations(image)).toEqual([]),
  );
  test.each([
    ["registry.example.com:5000/app", /no tag/],
    ["app:latest", /latest/],
    ["postgres:15", /major-only tag 15/],
    ["postgres:15-alpine", /major-only tag 15-alpine/],
    ["traefik:v3", /major-only tag v3/],
    ["registry.example.com:5000/app:v1", /major-only tag v1/],
    ["nginx:stable", /moving tag stable/],
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
    ["a retention write (shorten a lock)", { Effect: "Allow", Action: "s3:PutObjectRetention" }, /includes s3:PutObjectRetention/],
    ["BypassGovernanceRetention", { Effect: "Allow", Action: "s3:BypassGovernanceRetention" }, /includes s3:BypassGovernanceRetention/],
    ["s3:PutBucket* (every bucket-configuration write)", { Effect: "Allow", Action: "s3:PutBucket*" }, /includes s3:PutBucketVersioning, s3:PutBucketPolicy, s3:PutBucketObjectLockConfiguration/],
    ["a bucket ACL write", { Effect: "Allow", Action: "s3:PutBucketAcl" }, /includes s3:PutBucketAcl:/],
    ["a bucket-configuration write the list does not know", { Effect: "Allow", Action: "s3:PutBucketSomethingNew" }, /includes s3:PutBucketSomethingNew:/],
  ])("rejects %s", (_, statement, message) => {
    const found = writerPolicyViolations(TYPES.userPolicy, withStatement(statement));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });
  test("accepts a Deny of deletes", () => expect(writerPolicyViolations(TYPES.userPolicy, withStatement({ Effect: "Deny", Action: "s3:Delete*" }))).toEqual([]));
  test("rejects a policy that is not JSON", () => expect(writerPolicyViolations(TYPES.userPolicy, { policy: "{not json" })).toEqual(["the policy is not a readable JSON policy document"]));
  test.each(["aws:iam/rolePolicy:RolePolicy", "aws:iam/groupPolicy:GroupPolicy", "aws:iam/policy:Policy"])("applies to %s too", (type) => {
    expect(writerPolicyViolations(type, withStatement({ Effect: "Allow", Action: "s3:*" }))).toHaveLength(1);
  });
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

describe("floating tags", () => {
  test("the exceptions are exactly the application's build-numbered images and the backup job's derived default", () => {
    expect(Object.keys(BUILD_NUMBERED_REPOSITORIES)).toEqual(["tomautomations/advwell-backend", "tomautomations/advwell-frontend"]);
    expect(Object.keys(KNOWN_FLOATING)).toEqual(["siemens/postgres-backup-s3"]);
  });
  test("a service on postgres:15 fails swarm-service-guards", () => {
    const s = backend();
    s.taskSpec.containerSpec.image = "postgres:15";
    expect(swarmServiceViolations(TYPES.service, s)).toEqual([expect.stringMatching(/backend: image "postgres:15" uses the major-only tag 15/)]);
  });
});

describe("swarm-service-exposure rejects", () => {
  const postgres = () => clone(one(BASE, TYPES.service, (r) => r.inputs.name === "postgres").inputs);
  test("the program's services pass (only Traefik publishes)", () => {
    for (const s of resourcesOf(BASE, TYPES.service)) expect(exposureViolations(TYPES.service, s.inputs)).toEqual([]);
    expect(resourcesOf(BASE, TYPES.service).filter((s) => s.inputs.endpointSpec?.ports?.length).map((s) => s.inputs.name)).toEqual(["traefik"]);
  });
  test.each<[string, Record<string, unknown>, RegExp]>([
    ["PostgreSQL's port published", { targetPort: 5432, publishedPort: 5432, publishMode: "host" }, /postgres: publishes PostgreSQL's port 5432/],
    ["PostgreSQL's port published on another port", { targetPort: 5432, publishedPort: 15432 }, /PostgreSQL's port 5432 on every node \(published 15432\)/],
    ["any port of a service other than Traefik", { targetPort: 9187, publishedPort: 9187 }, /publishes port 9187; only traefik publishes ports/],
  ])("%s", (_, port, message) => {
    const s = postgres();
    s.endpointSpec = { ...s.endpointSpec, ports: [port] };
    expect(exposureViolations(TYPES.service, s)).toEqual([expect.stringMatching(message)]);
  });
});

describe("swarm-service-no-credentials rejects", () => {
  test("the program's services pass", () => {
    for (const key of ["production/enterprise", "dev/own config"]) for (const s of resourcesOf(key, TYPES.service)) expect(credentialViolations(TYPES.service, s.inputs)).toEqual([]);
  });
  test.each<[string, (s: any) => void, RegExp]>([
    ["a password in env", (s) => (s.taskSpec.containerSpec.env.POSTGRES_PASSWORD = "hunter2hunter2"), /env POSTGRES_PASSWORD holds a credential/],
    ["a token in env", (s) => (s.taskSpec.containerSpec.env.GITHUB_TOKEN = "ghp_abcdefabcdef"), /env GITHUB_TOKEN/],
    ["a URL with a password in env", (s) => (s.taskSpec.containerSpec.env.DATABASE_URL = "postgresql://advwell:s3cr3tpass@postgres:5432/advtom"), /env DATABASE_URL holds a credential/],
    ["--password=<literal> in args", (s) => (s.taskSpec.containerSpec.args = ["--password=hunter2hunter2"]), /argument 1 \(password\) holds a credential/],
    ["--password <literal> in args", (s) => (s.taskSpec.containerSpec.args = ["--user", "admin", "--password", "hunter2hunter2"]), /argument 3 \(password\)/],
    ["a URL with a password in args", (s) => (s.taskSpec.containerSpec.args = ["postgres://u:hunter2@db/x"]), /argument 1 \(a URL or assignment\)/],
  ])("%s", (_, breakIt, message) => {
    const s = backend();
    breakIt(s);
    const found = credentialViolations(TYPES.service, s);
    expect(found).toEqual([expect.stringMatching(message)]);
    expect(found.join()).not.toMatch(/hunter2|s3cr3t|ghp_/);
  });
  test.each([
    ["POSTGRES_PASSWORD_FILE", "/run/secrets/postgres-superuser-password"],
    ["GF_SECURITY_ADMIN_PASSWORD__FILE", "/run/secrets/grafana_admin_password"],
    ["BYPASS", "yes"],
    ["DATABASE_URL_FILE", "/run/secrets/database-url"],
  ])("accepts %s=%s (a reference, or not a credential)", (key, value) => {
    const s = backend();
    s.taskSpec.containerSpec.env[key] = value;
    expect(credentialViolations(TYPES.service, s)).toEqual([]);
  });
});

describe("swarm-service-privileges rejects", () => {
  const service = (name: string) => clone(one(BASE, TYPES.service, (r) => r.inputs.name === name).inputs);
  test("the program's services pass", () => {
    for (const s of resourcesOf(BASE, TYPES.service)) expect(privilegeViolations(TYPES.service, s.inputs)).toEqual([]);
  });
  test("the Docker socket clients are Traefik, the socket proxy and (until it reads through the proxy) cAdvisor", () => {
    expect(DOCKER_SOCKET_CLIENTS).toEqual(["traefik", "docker-socket-proxy", "cadvisor"]);
  });
  const bind = (source: string, readOnly = true) => ({ type: "bind", source, target: `/host${source}`, readOnly });
  test.each<[string, string, (s: any) => void, RegExp]>([
    ["capAdd ALL", "backend", (s) => (s.taskSpec.containerSpec.capAdds = ["ALL"]), /backend: adds capability ALL; allowed: NET_BIND_SERVICE/],
    ["capAdd SYS_ADMIN", "postgres", (s) => (s.taskSpec.containerSpec.capAdds = ["CAP_SYS_ADMIN"]), /adds capability CAP_SYS_ADMIN/],
    ["the Docker socket in the backend", "backend", (s) => (s.taskSpec.containerSpec.mounts = [bind("/var/run/docker.sock")]), /binds \/var\/run\/docker.sock, which exposes the Docker socket/],
    ["/run, which holds the socket, in Grafana", "grafana", (s) => s.taskSpec.containerSpec.mounts.push(bind("/run")), /grafana: binds \/run, which exposes the Docker socket/],
    ["/var/run in Prometheus", "prometheus", (s) => s.taskSpec.containerSpec.mounts.push(bind("/var/run/")), /binds \/var\/run\/, which exposes/],
    ["the host's / in the backend", "backend", (s) => (s.taskSpec.containerSpec.mounts = [bind("/")]), /binds the host's \/ ; only node-exporter may/],
    ["a read-write bind", "node-exporter", (s) => (s.taskSpec.containerSpec.mounts[0].readOnly = false), /node-exporter: binds \/proc read-write/],
  ])("%s", (_, name, breakIt, message) => {
    const s = service(name);
    breakIt(s);
    expect(privilegeViolations(TYPES.service, s).join("\n")).toMatch(message);
  });
  test("the host's / in the backend also counts as the Docker socket", () => {
    const s = backend();
    s.taskSpec.containerSpec.mounts = [bind("/")];
    expect(privilegeViolations(TYPES.service, s)).toHaveLength(2);
  });
});

describe("swarm-secret-files-private rejects", () => {
  test("the program's secret files pass: every one 0400", () => {
    const secrets = resourcesOf(BASE, TYPES.service).flatMap((s) => s.inputs.taskSpec.containerSpec.secrets ?? []);
    expect(secrets.length).toBeGreaterThan(5);
    for (const s of resourcesOf(BASE, TYPES.service)) expect(secretFileViolations(TYPES.service, s.inputs)).toEqual([]);
    expect(new Set(secrets.map((s: { fileMode: number }) => s.fileMode))).toEqual(new Set([0o400]));
  });
  test.each<[string, (secret: any) => void, RegExp]>([
    ["0444 (readable by every user of the container)", (x) => (x.fileMode = 0o444), /database-url is mode 0444; allowed: 0400 or 0440/],
    ["no mode (Swarm's default 0444)", (x) => delete x.fileMode, /database-url has no fileMode, so Swarm mounts it 0444/],
    ["0600 (writable)", (x) => (x.fileMode = 0o600), /mode 0600/],
  ])("%s", (_, breakIt, message) => {
    const s = backend();
    breakIt(s.taskSpec.containerSpec.secrets[0]);
    expect(secretFileViolations(TYPES.service, s)).toEqual([expect.stringMatching(message)]);
  });
});

describe("swarm-networks-segmented rejects", () => {
  const stackOf = (key: string): ResourceLike[] =>
    run(key).resources.map((r) => {
      const e = engineResource(key.split("/")[0], r);
      return { type: e.type, name: e.name, urn: e.urn, props: clone(e.outputs!), protect: e.protect };
    });
  const network = (rs: ResourceLike[], dockerName: string) => rs.find((r) => r.type === TYPES.network && r.props.name === dockerName)!;
  const svc = (rs: ResourceLike[], name: string) => rs.find((r) => r.type === TYPES.service && r.props.name === name)!;
  const join = (rs: ResourceLike[], name: string, dockerName: string) => svc(rs, name).props.taskSpec.networksAdvanceds.push({ id: network(rs, dockerName).props.id });

  test.each(["production/enterprise", "production/starter", "dev/own config"])("the program's networks pass (%s)", (key) => {
    expect(networkViolations(stackOf(key))).toEqual([]);
  });
  test.each<[string, (rs: ResourceLike[]) => void, RegExp]>([
    ["Prometheus on the edge network", (rs) => join(rs, "prometheus", "advwell-edge"), /service prometheus is on the edge network advwell-edge/],
    ["Alertmanager on the edge network", (rs) => join(rs, "alertmanager", "advwell-edge"), /service alertmanager is on the edge network/],
    ["cAdvisor on the edge network", (rs) => join(rs, "cadvisor", "advwell-edge"), /service cadvisor is on the edge network/],
    ["PostgreSQL on the edge network", (rs) => join(rs, "postgres", "advwell-edge"), /service postgres is on the edge network/],
    ["a data network that is not internal", (rs) => (network(rs, "advwell-data-encrypted").props.internal = false), /network advwell-data-encrypted carries SQL but is not internal/],
    ["a data network that is not encrypted", (rs) => delete network(rs, "advwell-data-encrypted").props.options, /network advwell-data-encrypted carries SQL unencrypted between nodes/],
    ["PostgreSQL on the (unencrypted, routable) monitoring network", (rs) => join(rs, "postgres", "advwell-monitoring"), /network advwell-monitoring carries SQL but is not internal/],
  ])("%s", (_, breakIt, message) => {
    const rs = stackOf(BASE);
    breakIt(rs);
    expect(networkViolations(rs).map((v) => v.message).join("\n")).toMatch(message);
  });
  test("finds a service's networks by property dependency while the ids are unknown (a first preview)", () => {
    const rs = stackOf(BASE);
    const edge = network(rs, "advwell-edge");
    const prometheus = svc(rs, "prometheus");
    prometheus.props.taskSpec.networksAdvanceds = [{ id: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }];
    const linked = rs.map((r) => (r === prometheus ? { ...r, propertyDependencies: { taskSpec: [edge.urn] } } : r));
    expect(networkViolations(linked).map((v) => v.message)).toEqual([expect.stringMatching(/service prometheus is on the edge network/)]);
  });
});

describe("bucket-guards rejects public grants", () => {
  const stackOf = (key: string): ResourceLike[] =>
    run(key).resources.map((r) => {
      const e = engineResource(key.split("/")[0], r);
      return { type: e.type, name: e.name, urn: e.urn, props: clone(e.outputs!), protect: e.protect };
    });
  const policyOf = (rs: ResourceLike[]) => rs.find((r) => r.type === TYPES.bucketPolicy)!;
  const withStatement = (statement: Record<string, unknown>) => {
    const rs = stackOf("production/growth");
    const doc = JSON.parse(policyOf(rs).props.policy);
    doc.Statement.push(statement);
    policyOf(rs).props.policy = JSON.stringify(doc);
    return rs;
  };
  test.each<[string, Record<string, unknown>]>([
    ["Principal *", { Sid: "Open", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*" }],
    ['Principal {"AWS": "*"}', { Sid: "Open", Effect: "Allow", Principal: { AWS: ["*"] }, Action: "s3:ListBucket", Resource: "*" }],
    ["a NotPrincipal", { Sid: "Open", Effect: "Allow", NotPrincipal: { AWS: "arn:aws:iam::1:root" }, Action: "s3:GetObject", Resource: "*" }],
  ])("a bucket policy that allows to %s", (_, statement) => {
    expect(bucketGuardViolations(withStatement(statement)).map((v) => v.message)).toEqual([expect.stringMatching(/statement Open allows .* to everyone/)]);
  });
  test.each<[string, Record<string, unknown>, RegExp]>([
    ["a public-read canned ACL", { acl: "public-read" }, /canned ACL public-read/],
    ["a READ grant to AllUsers", { accessControlPolicy: { grants: [{ grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AllUsers" }, permission: "READ" }] } }, /a READ grant to .*AllUsers/],
    ["a grant to every AWS account", { accessControlPolicy: { grants: [{ grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AuthenticatedUsers" }, permission: "WRITE" }] } }, /AuthenticatedUsers/],
  ])("an ACL with %s", (_, props, message) => {
    const rs = stackOf("production/growth");
    const bucket = rs.find((r) => r.type === TYPES.bucket)!;
    rs.push({ type: TYPES.bucketAcl, name: "backup-acl", urn: "urn:acl", props: { bucket: bucket.props.id, ...props }, protect: false });
    expect(bucketGuardViolations(rs).map((v) => v.message)).toEqual([expect.stringMatching(message)]);
  });
  test("a private ACL passes", () => {
    const rs = stackOf("production/growth");
    const bucket = rs.find((r) => r.type === TYPES.bucket)!;
    rs.push({ type: TYPES.bucketAcl, name: "backup-acl", urn: "urn:acl", props: { bucket: bucket.props.id, acl: "private" }, protect: false });
    expect(bucketGuardViolations(rs)).toEqual([]);
  });
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
