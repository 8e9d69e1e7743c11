/**
 * A throwaway S3 for integration tests: s3rver in-process on a free loopback port, data in a temp
 * directory, plus the aws CLI environment (credentials, path-style addressing, endpoint) the
 * backup scripts need to talk to it. s3rver accepts the fixed credentials S3RVER/S3RVER.
 *
 * s3rver answers from this process's event loop: anything that talks to it must be spawned
 * asynchronously (spawnSync would block the loop and deadlock the client and the server).
 */
import { execFile, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { freePort } from "./pgCluster";

// s3rver ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const S3rver: new (options: Record<string, unknown>) => Server = require("s3rver");

interface Server {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  /** s3rver's own store: what its ListObjects answers from, without a CLI start per look. */
  store: {
    listObjects(bucket: string, options: Record<string, unknown>): Promise<{ objects: { key: string }[] }>;
    getBucket(bucket: string): Promise<unknown>;
  };
}

export const S3RVER_KEY = "S3RVER";
export const S3RVER_SECRET = "S3RVER";

/**
 * The aws CLI the tests use. Debian's awscli (v2, what `.ci/run` installs) when present, because a
 * pyenv shim earlier on PATH may be a different major; AWS_CLI_DIR overrides.
 */
export function awsCliDir(): string {
  if (process.env.AWS_CLI_DIR) return process.env.AWS_CLI_DIR;
  if (fs.existsSync("/usr/bin/aws")) return "/usr/bin";
  const found = spawnSync("sh", ["-c", "command -v aws"], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error("the aws CLI is not installed (apt-get install awscli)");
  return path.dirname(found);
}

export class FakeS3 {
  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
    readonly dir: string,
    /** An AWS_CONFIG_FILE with path-style addressing and a region. */
    readonly configFile: string,
  ) {}

  /**
   * `tls`: serve HTTPS with this key and certificate (pgBackRest talks to S3 over TLS only; s3rver
   * switches to https.createServer when given both, lib/s3rver.js).
   */
  static async start(buckets: readonly string[], tls?: { key: string; cert: string }): Promise<FakeS3> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-s3-"));
    const port = await freePort();
    const server = new S3rver({ address: "127.0.0.1", port, directory: path.join(dir, "data"), silent: true, configureBuckets: buckets.map((name) => ({ name })), ...(tls ?? {}) });
    await server.run();
    const configFile = path.join(dir, "aws-config");
    // A bucket in the host name (virtual-hosted style) cannot resolve on loopback.
    fs.writeFileSync(configFile, "[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n");
    return new FakeS3(server, `${tls ? "https" : "http"}://127.0.0.1:${port}`, dir, configFile);
  }

  /** Environment for the aws CLI: dummy credentials, our config file, no user config leaking in. */
  cliEnv(): Record<string, string> {
    return {
      AWS_CONFIG_FILE: this.configFile,
      AWS_SHARED_CREDENTIALS_FILE: path.join(this.dir, "no-credentials"),
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_PAGER: "",
    };
  }

  /** Runs the aws CLI against this server; rejects with its stderr on failure. */
  aws(args: string[]): Promise<string> {
    const env = { ...process.env, ...this.cliEnv(), AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_SECRET, AWS_DEFAULT_REGION: "us-east-1" };
    return new Promise((resolve, reject) => {
      execFile(path.join(awsCliDir(), "aws"), ["--endpoint-url", this.endpoint, ...args], { encoding: "utf8", env }, (error, stdout, stderr) => {
        if (error) reject(new Error(`aws ${args.join(" ")} failed: ${stderr || error.message}`));
        else resolve(stdout);
      });
    });
  }

  /** Every key in a bucket, sorted. */
  async keys(bucket: string): Promise<string[]> {
    const { objects } = await this.server.store.listObjects(bucket, {});
    return objects.map((o) => o.key).sort();
  }

  async bucketExists(bucket: string): Promise<boolean> {
    return Boolean(await this.server.store.getBucket(bucket));
  }

  /** Downloads an object's bytes. */
  async get(bucket: string, key: string): Promise<Buffer> {
    const file = path.join(this.dir, `get-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    await this.aws(["s3", "cp", `s3://${bucket}/${key}`, file, "--only-show-errors"]);
    const data = fs.readFileSync(file);
    fs.rmSync(file);
    return data;
  }

  async head(bucket: string, key: string): Promise<{ ContentLength: number; Metadata: Record<string, string> }> {
    return JSON.parse(await this.aws(["s3api", "head-object", "--bucket", bucket, "--key", key, "--output", "json"]));
  }

  async stop(): Promise<void> {
    await this.server.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
