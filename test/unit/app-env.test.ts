import { isCredential, parsePlainEnv, parseSecretEnv, stackOwnedReason } from "../../model/config/appEnv";
import { loadStackConfig, applySet } from "../../config/stackConfig";
import { isCredentialKey, validateSettings } from "../../model";

const SECRET_VALUE = "s3cr3t-value-never-printed";

/** Credentials in `sets` are set as `pulumi config set --secret` leaves them; `secure` keys are secure values the offline plan cannot read. */
function settingsWith(sets: readonly string[], secure: readonly string[] = []) {
  const { config } = loadStackConfig("production");
  for (const s of sets) applySet(config, s, "advwell");
  for (const k of secure) delete config[k];
  const secrets = [...new Set([...secure, ...Object.keys(config).filter((k) => isCredentialKey(k))])];
  return validateSettings(config, "production", secrets);
}

describe("the app's environment keys (model/config/appEnv.ts)", () => {
  test("plain entries become variables; names the stack sets, *_FILE and ADVWELL_* names are refused with the reason", () => {
    const parsed = parsePlainEnv("backend", ["MAIL_HOST=smtp.example.com", "EMPTY=", "DATABASE_URL=x", "JWT_SECRET_FILE=/x", "ADVWELL_X=1", "NODE_ENV=staging", "1BAD=x", "NOEQUALS", "MAIL_HOST=twice"]);
    expect(Object.fromEntries(parsed.vars)).toEqual({ MAIL_HOST: "smtp.example.com", EMPTY: "" });
    expect(parsed.problems.map((p) => [p.at, p.name, p.problem])).toEqual([
      [2, "DATABASE_URL", "DATABASE_URL is set by the stack"],
      [3, "JWT_SECRET_FILE", "JWT_SECRET_FILE is a *_FILE name, which the stack uses to deliver secrets"],
      [4, "ADVWELL_X", "ADVWELL_X starts with ADVWELL_, which the stack reserves"],
      [5, "NODE_ENV", "NODE_ENV is set by the stack"],
      [6, undefined, expect.stringMatching(/not a shell variable name/)],
      [7, undefined, "an entry without ="],
      [8, "MAIL_HOST", "MAIL_HOST is given twice"],
    ]);
  });

  test("a credential in a plain key is refused by name or by a password inside a URL", () => {
    expect(isCredential("JWT_SECRET", "x")).toBe(true);
    expect(isCredential("SMTP_PASSWORD", "x")).toBe(true);
    expect(isCredential("STRIPE_API_KEY", "x")).toBe(true);
    expect(isCredential("REDIS_URL", "redis://default:hunter2@redis:6379")).toBe(true);
    expect(isCredential("MAIL_HOST", "smtp.example.com")).toBe(false);
    expect(isCredential("KEYBOARD_LAYOUT", "us")).toBe(false);
    expect(isCredential("PUBLIC_URL", "https://app.advwell.pro/x")).toBe(false);
    expect(parsePlainEnv("backend", ["AWS_SECRET_ACCESS_KEY=abc"]).problems[0].problem).toMatch(/looks like a credential.*backendSecretEnv, set with --secret/);
  });

  test("the secret env file: comments and blank lines skipped, values literal (quotes, = and # kept), a line without = refused", () => {
    const parsed = parseSecretEnv("backend", `# mail\n\nSMTP_PASSWORD="a=b#c"\n  JWT_SECRET=x y\nLONELY\nPORT=1\n`);
    expect(Object.fromEntries(parsed.vars)).toEqual({ SMTP_PASSWORD: '"a=b#c"', JWT_SECRET: "x y" });
    expect(parsed.problems).toEqual([{ at: 5, problem: "a line without =" }, { at: 6, name: "PORT", problem: "PORT is set by the stack" }]);
  });

  test("the frontend's own names: API_URL is the stack's, DATABASE_URL is not", () => {
    expect(stackOwnedReason("frontend", "API_URL")).toBeDefined();
    expect(stackOwnedReason("frontend", "DATABASE_URL")).toBeUndefined();
  });

  test("settings carry the plain variables and the secret names, never a secret value", () => {
    const { settings, findings } = settingsWith([`advwell:backendEnv=["MAIL_HOST=smtp.example.com"]`, `advwell:backendSecretEnv=JWT_SECRET=${SECRET_VALUE}\nSMTP_PASSWORD=x`]);
    expect(findings).toEqual([]);
    expect(settings!.appEnv.backend).toEqual({ env: { MAIL_HOST: "smtp.example.com" }, secretNames: ["JWT_SECRET", "SMTP_PASSWORD"], secretUnread: false });
    expect(JSON.stringify(settings)).not.toContain(SECRET_VALUE);
    expect(settings!.appEnv.frontend).toEqual({ env: {}, secretNames: [], secretUnread: false });
  });

  test("a secure: value the offline plan cannot read counts as set, names unknown until deploy", () => {
    const { settings, findings } = settingsWith([], ["advwell:backendSecretEnv"]);
    expect(findings).toEqual([]);
    expect(settings!.appEnv.backend).toMatchObject({ secretNames: [], secretUnread: true });
  });

  test.each([
    ["advwell:backendEnv", `advwell:backendEnv=["DATABASE_URL=postgresql://db/advtom"]`, /advwell:backendEnv.*entry 0 "DATABASE_URL": DATABASE_URL is set by the stack; allowed: entries NAME=value/],
    ["advwell:backendEnv", `advwell:backendEnv=["SMTP_PASSWORD=${SECRET_VALUE}"]`, /entry 0 "SMTP_PASSWORD": SMTP_PASSWORD looks like a credential/],
    ["advwell:backendSecretEnv", `advwell:backendSecretEnv=NODE_OPTIONS=${SECRET_VALUE}`, /line 1 \(NODE_OPTIONS\) \(values not shown: the key holds credentials\): NODE_OPTIONS is set by the stack/],
    ["advwell:frontendSecretEnv", `advwell:frontendSecretEnv=API_URL=${SECRET_VALUE}`, /API_URL is set by the stack/],
    ["advwell:backendSecretEnv", `advwell:backendSecretEnv=JWT=${SECRET_VALUE}`, /JWT, which advwell:backendEnv sets too/],
  ])("%s refused, the key named, no value printed: %s", (key, set, message) => {
    const sets = key === "advwell:backendSecretEnv" && set.includes("JWT=") ? [set, `advwell:backendEnv=["JWT=plain"]`] : [set];
    const { settings, findings } = settingsWith(sets);
    expect(settings).toBeUndefined();
    expect(findings.map((f) => f.key)).toContain(key);
    const text = findings.map((f) => `${f.key}: ${f.message}`).join("\n");
    expect(text).toMatch(message);
    expect(text).not.toContain(SECRET_VALUE);
  });
});
