/**
 * containers/backup/*.sh as the integration tests run them: asynchronously (s3rver lives on the
 * test process's event loop), with the service's environment, and secrets as files the way Swarm
 * mounts them.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BACKUP_SECRET_FILES } from "../../../model";
import { SUPERUSER_PASSWORD } from "./pgCluster";
import { S3RVER_KEY, S3RVER_SECRET } from "./s3";

export const BACKUP_SCRIPTS_DIR = path.join(__dirname, "..", "..", "..", "containers", "backup");

export interface ScriptRun {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs containers/backup/<script>; killed after timeoutMs. */
export function runBackupScript(script: string, args: string[], env: Record<string, string>, timeoutMs = 50000): Promise<ScriptRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [path.join(BACKUP_SCRIPTS_DIR, script), ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** The backup service's secret files in dir: the database password (the superuser's unless given), s3rver's keys, a passphrase. */
export function writeBackupSecrets(dir: string, values: { password?: string; passphrase?: string } = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, BACKUP_SECRET_FILES.databasePassword), `${values.password ?? SUPERUSER_PASSWORD}\n`, { mode: 0o400 });
  fs.writeFileSync(path.join(dir, BACKUP_SECRET_FILES.accessKeyId), S3RVER_KEY, { mode: 0o400 });
  fs.writeFileSync(path.join(dir, BACKUP_SECRET_FILES.secretAccessKey), S3RVER_SECRET, { mode: 0o400 });
  if (values.passphrase) fs.writeFileSync(path.join(dir, BACKUP_SECRET_FILES.passphrase), values.passphrase, { mode: 0o400 });
  return dir;
}
