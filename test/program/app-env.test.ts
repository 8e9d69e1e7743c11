/** The app's own environment under Pulumi mocks: plain variables in the spec, each secret one its own Swarm secret behind NAME_FILE. */
import { isSecretWrapper } from "../../scripts/lib/mockProgram";
import { byType, runProgram, service } from "../support/program";

const JWT = "jwt-signing-key-never-in-a-spec";
const SMTP = "smtp-password-never-in-a-spec";

test("backend: plain variables in the env, each secret variable a Swarm secret mounted as env-<NAME> with NAME_FILE; the stack's own variables win", async () => {
  const run = await runProgram("production", [
    `advwell:backendEnv=["MAIL_HOST=smtp.example.com","STORAGE_BUCKET=advwell-files"]`,
    `advwell:backendSecretEnv=# from import-env\nJWT_SECRET=${JWT}\nSMTP_PASSWORD=${SMTP}\n`,
    `advwell:frontendEnv=["PUBLIC_SENTRY_ENV=production"]`,
  ], ["advwell:backendSecretEnv"]); // set with --secret, as the key requires
  expect(run.error).toBeUndefined();
  const spec = service(run, "backend").inputs.taskSpec.containerSpec;
  expect(spec.env).toMatchObject({
    MAIL_HOST: "smtp.example.com",
    STORAGE_BUCKET: "advwell-files",
    JWT_SECRET_FILE: "/run/secrets/env-JWT_SECRET",
    SMTP_PASSWORD_FILE: "/run/secrets/env-SMTP_PASSWORD",
    NODE_ENV: "production",
    DATABASE_URL_FILE: "/run/secrets/database-url",
  });
  expect(spec.env.JWT_SECRET).toBeUndefined();
  expect(spec.secrets.map((s: { fileName: string }) => s.fileName)).toEqual(expect.arrayContaining(["env-JWT_SECRET", "env-SMTP_PASSWORD"]));
  const secrets = byType(run, "docker:index/secret:Secret");
  const text = (name: string) => {
    const s = secrets.find((r) => r.name === name)!;
    expect(isSecretWrapper(s.rawInputs.data)).toBe(true);
    return Buffer.from(s.inputs.data, "base64").toString("utf8");
  };
  expect([text("advwell-backend-env-JWT_SECRET"), text("advwell-backend-env-SMTP_PASSWORD")]).toEqual([JWT, SMTP]);
  // No secret value anywhere outside a secret wrapper.
  const plain = JSON.stringify(run.resources.filter((r) => r.type !== "docker:index/secret:Secret").map((r) => r.inputs));
  expect(plain).not.toContain(JWT);
  expect(plain).not.toContain(SMTP);
  const frontend = service(run, "frontend").inputs.taskSpec.containerSpec;
  expect(frontend.env).toEqual({ PUBLIC_SENTRY_ENV: "production", API_URL: "https://api.advwell.pro" });
});

test("without the keys, the backend's spec is what it was: no env-* secrets", async () => {
  const run = await runProgram("production");
  const spec = service(run, "backend").inputs.taskSpec.containerSpec;
  expect(spec.secrets.map((s: { fileName: string }) => s.fileName).filter((f: string) => f.startsWith("env-"))).toEqual([]);
});
