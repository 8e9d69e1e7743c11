import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readContainerFile } from "../../components/containerFiles";

describe("the secrets-env preload, run by real node", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-preload-"));
  const preload = path.join(dir, "secrets-env.js");
  fs.writeFileSync(preload, readContainerFile("secretsEnv"));
  const secret = path.join(dir, "database-url");
  fs.writeFileSync(secret, "postgresql://advwell:p%40ss@postgres:5432/advtom?connection_limit=3\n");
  const run = (env: Record<string, string>) =>
    execFileSync(process.execPath, ["-e", "process.stdout.write(String(process.env.DATABASE_URL))"], {
      env: { PATH: process.env.PATH ?? "", NODE_OPTIONS: `--require ${preload}`, ...env },
      encoding: "utf8",
    });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("sets DATABASE_URL from DATABASE_URL_FILE before the app runs, without the trailing newline", () => {
    expect(run({ DATABASE_URL_FILE: secret })).toBe("postgresql://advwell:p%40ss@postgres:5432/advtom?connection_limit=3");
  });
  test("an explicit DATABASE_URL wins", () => {
    expect(run({ DATABASE_URL_FILE: secret, DATABASE_URL: "explicit" })).toBe("explicit");
  });
  test("a missing file stops the process with a clear message instead of starting without a database", () => {
    expect(() => run({ DATABASE_URL_FILE: path.join(dir, "missing") })).toThrow(/secrets-env: cannot read DATABASE_URL_FILE/);
  });
});
