/** checkSetting and friends against PostgreSQL 15's rules (the integration test runs the same cases on a real server). */
import {
  canonicalSettingName,
  checkSetting,
  parsePgBool,
  parseSettingNumber,
  PG15_CATALOG,
  rint,
  settingKiB,
  STACK_OWNED_SETTINGS,
  stackOwnedReason,
  strtod,
  weakerPasswordEncryption,
} from "../../model/postgres/catalog";

describe("the catalog", () => {
  it("is PostgreSQL 15's pg_settings, sorted, with the stack's parameters in it", () => {
    expect(PG15_CATALOG.serverVersionNum).toBeGreaterThanOrEqual(150000);
    expect(PG15_CATALOG.serverVersionNum).toBeLessThan(160000);
    expect(PG15_CATALOG.settings.length).toBeGreaterThan(300);
    const names = PG15_CATALOG.settings.map((s) => s.name);
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const name of ["shared_buffers", "work_mem", "max_connections", "wal_compression", "jit", "huge_pages", "hash_mem_multiplier"]) expect(canonicalSettingName(name)).toBe(name);
  });
});

describe("checkSetting", () => {
  it("refuses an unknown name and suggests the nearest one", () => {
    const p = checkSetting("foo_bar", "1");
    expect(p).toMatchObject({ kind: "unknown", name: "foo_bar" });
    expect(p!.message).toMatch(/"foo_bar" is not a PostgreSQL 15 parameter; did you mean "/);
    expect(checkSetting("shared_bufers", "1GB")).toMatchObject({ kind: "unknown", suggestion: "shared_buffers" });
    expect(checkSetting("work_men", "16MB")?.suggestion).toBe("work_mem");
  });

  it("accepts names in any case, the old names sort_mem and vacuum_mem, and custom prefix.name placeholders", () => {
    expect(checkSetting("SHARED_BUFFERS", "1GB")).toBeUndefined();
    expect(canonicalSettingName("timezone")).toBe("TimeZone");
    expect(canonicalSettingName("sort_mem")).toBe("work_mem");
    expect(checkSetting("sort_mem", "16MB")).toBeUndefined();
    expect(checkSetting("foo.bar", "anything")).toBeUndefined();
    expect(checkSetting("1foo.bar", "1")?.kind).toBe("unknown");
    expect(checkSetting("foo.", "1")?.kind).toBe("unknown");
  });

  it("Booleans: PostgreSQL's spellings and unique prefixes, nothing else", () => {
    for (const ok of ["on", "off", "of", "true", "t", "TRUE", "tr", "false", "f", "yes", "y", "no", "n", "1", "0"]) expect(checkSetting("log_connections", ok)).toBeUndefined();
    for (const bad of ["banana", "o", "01", "", " on", "on ", "truex", "2"]) expect(checkSetting("log_connections", bad)).toMatchObject({ kind: "type" });
    expect(checkSetting("log_connections", "banana")!.message).toMatch(/"log_connections" = "banana" is not a valid value; allowed: a Boolean: on, off, true, false, yes, no, 1, 0/);
    expect([parsePgBool("of"), parsePgBool("Ye"), parsePgBool("o")]).toEqual([false, true, undefined]);
  });

  it("memory: units, 8kB blocks, rounding and the range", () => {
    expect(checkSetting("work_mem", "16MB")).toBeUndefined();
    expect(checkSetting("work_mem", "2621kB")).toBeUndefined();
    // shared_buffers counts 8kB blocks: 1 block is below the minimum of 16 (128kB).
    expect(checkSetting("shared_buffers", "1")).toMatchObject({ kind: "range" });
    expect(checkSetting("shared_buffers", "1")!.message).toMatch(/from 16 to 1073741823 8kB blocks \(128kB to/);
    expect(checkSetting("shared_buffers", "16")).toBeUndefined();
    expect(checkSetting("shared_buffers", "128kB")).toBeUndefined();
    // 127kB = 15.875 blocks, rounded to 16; 120kB = 15 blocks.
    expect(checkSetting("shared_buffers", "127kB")).toBeUndefined();
    expect(checkSetting("shared_buffers", "120kB")).toMatchObject({ kind: "range" });
    // Units are case-sensitive; a unit on a unitless parameter is refused.
    expect(checkSetting("work_mem", "64kb")).toMatchObject({ kind: "unit" });
    expect(checkSetting("work_mem", "16 MB")).toBeUndefined();
    expect(checkSetting("max_connections", "16MB")).toMatchObject({ kind: "type" });
    // strtod numbers: fractions, exponents and hex; rint rounds half to even.
    expect(parseSettingNumber("work_mem", "1e3")).toBe(1000);
    expect(parseSettingNumber("work_mem", "0x100")).toBe(256);
    expect(parseSettingNumber("work_mem", "64.5kB")).toBe(64);
    expect(parseSettingNumber("work_mem", "1.5MB")).toBe(1536);
    expect(checkSetting("work_mem", "2.5")).toMatchObject({ kind: "range" });
    expect(checkSetting("work_mem", "inf")).toMatchObject({ kind: "type" });
    expect(checkSetting("work_mem", "3000000000")).toMatchObject({ kind: "type" });
  });

  it("time units, reals and enums", () => {
    expect(parseSettingNumber("statement_timeout", "1.5s")).toBe(1500);
    expect(parseSettingNumber("statement_timeout", "1min")).toBe(60000);
    expect(parseSettingNumber("autovacuum_naptime", "1500ms")).toBe(2);
    expect(checkSetting("statement_timeout", "1 fortnight")).toMatchObject({ kind: "unit" });
    expect(checkSetting("random_page_cost", "1.1")).toBeUndefined();
    expect(checkSetting("random_page_cost", "-1")).toMatchObject({ kind: "range" });
    expect(checkSetting("checkpoint_completion_target", "1.5")).toMatchObject({ kind: "range" });
    expect(checkSetting("wal_compression", "lz4")).toBeUndefined();
    expect(checkSetting("wal_compression", "LZ4")).toBeUndefined();
    expect(checkSetting("wal_compression", "brotli")).toMatchObject({ kind: "enum", allowed: "pglz, lz4, zstd, on, off" });
    // Hidden spellings the server accepts.
    expect(checkSetting("synchronous_commit", "true")).toBeUndefined();
    expect(checkSetting("wal_level", "hot_standby")).toBeUndefined();
    expect(checkSetting("password_encryption", "on")).toMatchObject({ kind: "enum" });
  });

  it("internal parameters cannot be set", () => {
    expect(checkSetting("block_size", "8192")).toMatchObject({ kind: "internal" });
    expect(checkSetting("shared_memory_size", "100")).toMatchObject({ kind: "internal" });
  });
});

describe("what PostgreSQL checks beyond one value's syntax", () => {
  it("the backend slots: max_connections + autovacuum workers + 1 + worker processes + WAL senders <= 262143", () => {
    // Defaults: 3 + 1 + 8 + 10 = 22 beside max_connections.
    expect(checkSetting("max_connections", "262121")).toBeUndefined();
    expect(checkSetting("max_connections", "262122")).toMatchObject({ kind: "range" });
    expect(checkSetting("max_connections", "262100", { max_worker_processes: "100" })).toMatchObject({ kind: "range" });
  });

  it("parameters pg_settings hides, as PostgreSQL 15 parses them at server start", () => {
    expect(checkSetting("role", "none")).toBeUndefined();
    expect(checkSetting("role", "postgres")).toMatchObject({ kind: "type" });
    expect(checkSetting("seed", "0.5")).toBeUndefined();
    expect(checkSetting("seed", "2")).toMatchObject({ kind: "range" });
    expect(checkSetting("default_with_oids", "on")).toMatchObject({ kind: "type" });
    expect(checkSetting("session_authorization", "postgres")).toMatchObject({ kind: "type" });
    expect(checkSetting("is_superuser", "on")).toMatchObject({ kind: "internal" });
  });
});

describe("settingKiB", () => {
  it("reads memory settings in kB as PostgreSQL does", () => {
    expect(settingKiB("shared_buffers", "16384")).toBe(131072);
    expect(settingKiB("shared_buffers", "1GB")).toBe(1048576);
    expect(settingKiB("wal_buffers", "16MB")).toBe(16384);
    expect(settingKiB("wal_buffers", "-1")).toBe(-1);
    expect(settingKiB("work_mem", "2621kB")).toBe(2621);
    expect(settingKiB("log_autovacuum_min_duration", "1s")).toBeUndefined();
    expect(settingKiB("work_mem", "banana")).toBeUndefined();
  });
});

describe("C number parsing", () => {
  it("strtod and rint behave as in C", () => {
    expect(strtod("  12abc")).toEqual({ value: 12, rest: "abc" });
    expect(strtod("1e")).toEqual({ value: 1, rest: "e" });
    expect(strtod("0x1p4")).toEqual({ value: 16, rest: "" });
    expect(strtod("abc")).toBeUndefined();
    expect(strtod("1e999")).toBeUndefined();
    expect([rint(0.5), rint(1.5), rint(2.5), rint(-2.5), rint(2.4999)]).toEqual([0, 2, 2, -2, 2]);
  });
});

describe("settings the stack owns", () => {
  it("names each with a reason, in any spelling PostgreSQL accepts", () => {
    for (const name of ["listen_addresses", "port", "data_directory", "hba_file", "ident_file", "config_file", "unix_socket_directories", "external_pid_file", "max_connections", "wal_level"]) {
      expect(STACK_OWNED_SETTINGS[name]).toEqual(expect.any(String));
      expect(canonicalSettingName(name)).toBe(name);
    }
    expect(stackOwnedReason("max_connections")).toMatch(/postgres\.maxConnections/);
    expect(stackOwnedReason("LISTEN_ADDRESSES")).toMatch(/overlay network/);
    expect(stackOwnedReason("work_mem")).toBeUndefined();
  });

  it("flags password_encryption=md5 as weaker than scram-sha-256", () => {
    expect(weakerPasswordEncryption("md5")).toMatch(/weaker than scram-sha-256/);
    expect(weakerPasswordEncryption("MD5")).toMatch(/weaker/);
    expect(weakerPasswordEncryption("scram-sha-256")).toBeUndefined();
    expect(checkSetting("password_encryption", "md5")).toBeUndefined();
  });
});
