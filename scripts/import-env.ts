/**
 * Takeover step 0: `npm run -s import-env -- --stack production --from advtom [--out takeover-env]`
 * reads the old stack's services (<from>_backend, <from>_frontend, <from>_postgres) through the
 * Docker API of the stack's docker:host (or --docker-host), and prints the `pulumi config set`
 * commands that carry their image tags, their environment and the adoption keys into the stack.
 * Which variables are secret is decided by name (model/config/appEnv.ts CREDENTIAL_NAME) or by a
 * password inside a URL, and said next to the commands. Secret values go into files under --out
 * (0700 folder, 0600 files), read by `pulumi config set --secret <key> < <file>`: no secret is
 * printed or put in argv. Delete the folder once the commands ran.
 */
import * as fs from "fs";
import * as path from "path";
import { loadStackConfig } from "../config/stackConfig";
import { argValue, dockerFor } from "./lib/dockerEndpoint";
import { importCommands, LiveService } from "./lib/importEnv";

async function inspect(docker: ReturnType<typeof dockerFor>, name: string): Promise<LiveService | undefined> {
  try {
    const s: any = await docker.getService(name).inspect();
    const c = s.Spec?.TaskTemplate?.ContainerSpec ?? {};
    return {
      name,
      image: String(c.Image ?? ""),
      env: (c.Env ?? []) as string[],
      volumes: ((c.Mounts ?? []) as any[]).filter((m) => m.Type === "volume").map((m) => ({ source: String(m.Source), target: String(m.Target) })),
    };
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
}

async function main(argv: string[]): Promise<number> {
  const from = argValue(argv, "--from") ?? "advtom";
  const out = argValue(argv, "--out") ?? "takeover-env";
  const stack = argValue(argv, "--stack");
  const host = argValue(argv, "--docker-host") ?? (stack ? loadStackConfig(stack).config["docker:host"] : process.env.DOCKER_HOST);
  const docker = dockerFor(host);
  const [backend, frontend, postgres] = await Promise.all(["backend", "frontend", "postgres"].map((s) => inspect(docker, `${from}_${s}`)));
  if (!backend && !frontend && !postgres) {
    process.stderr.write(`import-env: no service ${from}_backend, ${from}_frontend or ${from}_postgres on ${host ?? "the local daemon"}\n`);
    return 1;
  }
  const result = importCommands({ backend, frontend, postgres }, out);
  if (Object.keys(result.files).length > 0) {
    fs.mkdirSync(out, { recursive: true, mode: 0o700 });
    fs.chmodSync(out, 0o700);
    for (const [file, content] of Object.entries(result.files)) {
      fs.writeFileSync(file, content, { mode: 0o600 });
      fs.chmodSync(file, 0o600);
    }
    result.lines.push(`# then: rm -r ${path.normalize(out)}`);
  }
  process.stdout.write(`${result.lines.join("\n")}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`import-env: ${e.message}\n`);
    process.exit(2);
  },
);
