/**
 * A dry run of the takeover against the real server, before the window (docs/cutover.md step 0):
 *
 *   npm run -s preflight -- --stack production [--json] [--from advtom] [--replacing <service> ...]
 *                           [--superuser-password-file <file>] [--config-json <file>] [--set key=value ...]
 *
 * Reads the stack's docker:host (unix://, tcp://, ssh://) through the Docker API and checks what the
 * plan needs: Swarm state, the nodes against advwell:nodes and their labels (with the exact
 * `docker node update --label-add` commands), who publishes 80/443, the old services' environment
 * and images against the config, the volume to adopt (PG_VERSION, the live image's C library and
 * the databases' collation provider), the superuser's password over TCP, free disk, every image
 * present or pullable, and the DNS of every host. Exit 0 when nothing is to fix, 1 with the list,
 * 2 when the command itself cannot run.
 *
 * --config-json takes `pulumi config --json --show-secrets` output (secure values decrypted by the
 * CLI, so the names in backendSecretEnv can be checked); --superuser-password-file the file
 * `npm run import-env` wrote. Neither value is ever printed or passed on as an argument.
 */
import * as fs from "fs";
import { applySet, loadStackConfig } from "../config/stackConfig";
import { resolveStack } from "../model/plan/resolve";
import { dockerFor } from "./lib/dockerEndpoint";
import { preflightChecks, preflightText } from "./lib/preflightFindings";
import { inspectServer } from "./lib/preflightInspect";

/** The image runbook step 4 checks the backend with. */
export const RUNBOOK_IMAGES = ["curlimages/curl:8.11.0"];

const USAGE = "usage: npm run -s preflight -- --stack <name> [--json] [--from advtom] [--replacing <service> ...] [--superuser-password-file <file>] [--config-json <file>] [--set key=value ...]";

class UsageError extends Error {}

interface Args {
  stack?: string;
  json: boolean;
  from: string;
  replacing: string[];
  passwordFile?: string;
  configJson?: string;
  set: string[];
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { json: false, from: "advtom", replacing: [], set: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === "--stack") a.stack = value();
    else if (flag === "--json") a.json = true;
    else if (flag === "--from") a.from = value();
    else if (flag === "--replacing") a.replacing.push(value());
    else if (flag === "--superuser-password-file") a.passwordFile = value();
    else if (flag === "--config-json") a.configJson = value();
    else if (flag === "--set") a.set.push(value());
    else throw new UsageError(`unknown argument ${JSON.stringify(flag)}`);
  }
  if (!a.stack) throw new UsageError("--stack is required");
  return a;
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  const loaded = loadStackConfig(args.stack!);
  let secureKeys = loaded.secureKeys;
  if (args.configJson) {
    // `pulumi config --json --show-secrets`: {"advwell:tier": {"value": "growth", "secret": false}, ...}
    const doc = JSON.parse(fs.readFileSync(args.configJson, "utf8")) as Record<string, { value?: unknown; objectValue?: unknown; secret?: boolean }>;
    for (const [key, entry] of Object.entries(doc)) {
      const value = entry.objectValue ?? entry.value;
      if (value === undefined) continue;
      loaded.config[key] = typeof value === "string" ? value : JSON.stringify(value);
      // A value the CLI decrypted stays a secret key (as index.ts tells the plan under `pulumi up`):
      // the plan refuses a credential that is not one.
      secureKeys = entry.secret === true ? [...new Set([...secureKeys, key])] : secureKeys.filter((k) => k !== key);
    }
  }
  for (const s of args.set) applySet(loaded.config, s, loaded.project);
  const { settings, plan, findings } = resolveStack(loaded.config, args.stack!, secureKeys);
  const errors = findings.filter((f) => f.level === "error");
  if (!settings || !plan || errors.length > 0) {
    process.stderr.write(`preflight: the stack's config has errors (npm run plan -- --stack ${args.stack} lists them):\n${errors.map((f) => `  ${f.key}: ${f.message}`).join("\n")}\n`);
    return 2;
  }
  const password = args.passwordFile ? fs.readFileSync(args.passwordFile, "utf8").replace(/\r?\n$/, "") : undefined;
  const dockerHost = loaded.config["docker:host"];
  const docker = dockerFor(dockerHost);
  const inspection = await inspectServer(docker, settings, plan, { from: args.from, password, extraImages: RUNBOOK_IMAGES, dockerHost });
  const stackServices = new Set(Object.values(plan.services).map((s) => s!.name));
  const checks = preflightChecks(inspection, settings, plan, stackServices, { replacing: args.replacing, from: args.from, passwordGiven: password !== undefined });
  const failed = checks.filter((c) => !c.ok);
  if (args.json) process.stdout.write(`${JSON.stringify({ stack: args.stack, dockerHost: dockerHost ?? null, ok: failed.length === 0, toFix: failed, checks }, null, 2)}\n`);
  else process.stdout.write(preflightText(checks));
  return failed.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(e instanceof UsageError ? `preflight: ${e.message}\n${USAGE}\n` : `preflight: ${e.message.split("\n")[0]}\n`);
      process.exit(2);
    },
  );
}
