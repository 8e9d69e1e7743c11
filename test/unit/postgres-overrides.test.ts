/**
 * `postgres.settings.*` overrides against PostgreSQL 15's own parameter table (issue 13): unknown
 * names, wrong types, out-of-range values, unknown enum values and the settings the stack owns are
 * refused with the key named; a weaker password_encryption is a warning; good values are taken.
 */
import { ACCEPTED_OVERRIDES, REFUSED_OVERRIDES } from "../fixtures/postgres-overrides";
import { resolve } from "../support/stacks";

const withOverride = (name: string, value: string) => resolve("production", [`advwell:overrides=${JSON.stringify([`postgres.settings.${name}=${value}`])}`]);

test.each(REFUSED_OVERRIDES.map(([n, v, says]) => [n, v, says] as const))("postgres.settings.%s=%s is refused, naming the key, the value and what is allowed", (name, value, says) => {
  const { findings, plan } = withOverride(name, value);
  const errors = findings.filter((f) => f.level === "error");
  expect(errors.map((f) => f.key)).toContain(`advwell:overrides[postgres.settings.${name}]`);
  const f = errors.find((x) => x.key === `advwell:overrides[postgres.settings.${name}]`)!;
  expect(f.message).toContain(JSON.stringify(value));
  expect(f.message).toMatch(says);
  // A refused value never reaches the settings the database would start with.
  if (name !== "max_connections") expect(plan?.postgres.settings[name]).not.toBe(value);
});

test.each(ACCEPTED_OVERRIDES.map(([n, v]) => [n, v] as const))("postgres.settings.%s=%s is taken as given", (name, value) => {
  const { findings, plan } = withOverride(name, value);
  expect(findings.filter((f) => f.level === "error")).toEqual([]);
  expect(plan!.postgres.settings[name]).toBe(value);
});

test("password_encryption=md5 is taken with a warning that it is weaker", () => {
  const { findings, plan } = withOverride("password_encryption", "md5");
  expect(findings.filter((f) => f.level === "error")).toEqual([]);
  expect(findings).toContainEqual(expect.objectContaining({ level: "warning", key: "advwell:overrides[postgres.settings.password_encryption]", message: expect.stringContaining("weaker than scram-sha-256") }));
  expect(plan!.postgres.settings.password_encryption).toBe("md5");
});

test("an override that replaces a departure removes it from the departures shown", () => {
  const { plan } = withOverride("work_mem", "16MB");
  expect(plan!.postgres.departures.map((d) => d.setting)).not.toContain("work_mem");
});

test.each([
  ["fsync", "off"],
  ["fsync", "false"],
  ["fsync", "0"],
  ["fsync", "of"],
  ["full_page_writes", "no"],
])("postgres.settings.%s=%s (crash-unsafe) is refused, naming the key and why", (name, value) => {
  const { findings, plan } = withOverride(name, value);
  const f = findings.find((x) => x.level === "error" && x.key === `advwell:overrides[postgres.settings.${name}]`);
  expect(f?.message).toContain(JSON.stringify(value));
  expect(f?.message).toMatch(/allowed: on \(the default\): .*(corrupt|torn)/);
  expect(plan?.postgres.settings[name]).not.toBe(value);
});

test.each([["fsync", "on"], ["full_page_writes", "true"]])("postgres.settings.%s=%s is taken without a finding", (name, value) => {
  const { findings, plan } = withOverride(name, value);
  expect(findings.filter((f) => f.key === `advwell:overrides[postgres.settings.${name}]`)).toEqual([]);
  expect(plan!.postgres.settings[name]).toBe(value);
});

test.each([["synchronous_commit", "off"], ["synchronous_commit", "false"]])("postgres.settings.%s=%s is taken with a warning that a crash loses the last commits", (name, value) => {
  const { findings, plan } = withOverride(name, value);
  expect(findings.filter((f) => f.level === "error")).toEqual([]);
  expect(findings).toContainEqual(expect.objectContaining({ level: "warning", key: `advwell:overrides[postgres.settings.${name}]`, message: expect.stringMatching(/crash loses the commits/) }));
  expect(plan!.postgres.settings[name]).toBe(value);
});

test("synchronous_commit=local keeps commits durable on this server: no warning", () => {
  const { findings } = withOverride("synchronous_commit", "local");
  expect(findings.filter((f) => f.key === "advwell:overrides[postgres.settings.synchronous_commit]")).toEqual([]);
});
