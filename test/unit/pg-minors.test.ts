/**
 * The settings catalog knows its minor, and model/postgres/minors.ts what other 15.x minors lack:
 * the catalog as at another minor, and what the plan says about a postgres image of another minor.
 */
import { CATALOG_MINOR, CONFIG_KEYS, PG15_CATALOG, catalogAtMinor, imageMinorNote, minorDifference, PG15_MINOR_CHANGES, versionNumOfTag } from "../../model";
import { resolve } from "../support/stacks";

const overrides = (...entries: string[]) => `advwell:overrides=${JSON.stringify(entries)}`;

test("the postgresImage default is the catalog's minor", () => {
  expect(CATALOG_MINOR).toBe("15.20");
  expect(CONFIG_KEYS.postgresImage.default).toBe(`postgres:${CATALOG_MINOR}-bookworm`);
});

test("every parameter of the minor table is in the catalog, read absent before and present after", () => {
  const names = new Set(PG15_CATALOG.settings.map((p) => p.name));
  for (const c of PG15_MINOR_CHANGES) {
    expect({ name: c.name, inCatalog: names.has(c.name) }).toEqual({ name: c.name, inCatalog: true });
    expect(c.knownAbsentThrough).toBeLessThan(c.knownPresentFrom);
    expect(c.knownPresentFrom).toBeLessThanOrEqual(PG15_CATALOG.serverVersionNum);
  }
});

describe("the catalog as at another minor", () => {
  test("15.18 lacks composite_type_mismatch and output_plugin_libraries, and reports its own version", () => {
    const at = catalogAtMinor(150018, "15.18 (Debian 15.18-0+deb12u1)");
    const names = at.settings.map((p) => p.name);
    expect(names).not.toContain("composite_type_mismatch");
    expect(names).not.toContain("output_plugin_libraries");
    expect(names.length).toBe(PG15_CATALOG.settings.length - 2);
    expect(at.settings.find((p) => p.name === "server_version_num")).toMatchObject({ min: "150018", max: "150018", bootVal: "150018" });
    expect(at.serverVersion).toBe("15.18 (Debian 15.18-0+deb12u1)");
  });
  test("a minor nobody read (15.19) is refused, naming the parameters in doubt", () => {
    expect(() => catalogAtMinor(150019, "15.19")).toThrow(/composite_type_mismatch, output_plugin_libraries is unknown/);
    expect(minorDifference(150019)).toEqual({ absent: [], unknown: ["composite_type_mismatch", "output_plugin_libraries"] });
  });
  test("a newer minor or another major cannot be compared without regenerating", () => {
    expect(() => catalogAtMinor(150021, "15.21")).toThrow(/newer than the catalog/);
    expect(() => catalogAtMinor(160010, "16.10")).toThrow(/another major/);
  });
});

test.each([
  ["15.20-bookworm", 150020],
  ["15.10", 150010],
  ["15", undefined],
  ["15-bookworm", undefined],
  ["15.2.1", undefined],
])("image tag %s is minor %s", (tag, num) => expect(versionNumOfTag(tag)).toBe(num));

describe("the plan on a postgres image of another minor", () => {
  test("the default image plans with no postgresImage finding", () => {
    expect(resolve("production").findings.filter((f) => f.key === "advwell:postgresImage")).toEqual([]);
  });
  test.each(["postgres:15.10-bookworm", "postgres:15.18"])("%s: a warning naming the parameters that differ", (image) => {
    const findings = resolve("production", [`advwell:postgresImage=${image}`]).findings.filter((f) => f.key === "advwell:postgresImage");
    expect(findings).toEqual([expect.objectContaining({ level: "warning", message: expect.stringMatching(/parameters that differ: composite_type_mismatch, output_plugin_libraries \(in 15\.20, not in 15\.1[08]\)/) })]);
  });
  test("a tag without a minor: a warning that the parameters are not pinned", () => {
    expect(imageMinorNote("15-bookworm")).toMatch(/names no minor/);
  });
  test("an override of a parameter the image's minor lacks is refused: the server would not start", () => {
    const errors = resolve("production", ["advwell:postgresImage=postgres:15.18", overrides("postgres.settings.output_plugin_libraries=pgoutput")]).findings.filter((f) => f.level === "error");
    expect(errors).toEqual([expect.objectContaining({ key: "advwell:overrides[postgres.settings.output_plugin_libraries]", message: expect.stringContaining("PostgreSQL 15.18") })]);
    expect(resolve("production", [overrides("postgres.settings.output_plugin_libraries=pgoutput")]).findings.filter((f) => f.level === "error")).toEqual([]);
  });
});
