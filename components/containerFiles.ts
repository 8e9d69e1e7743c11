/**
 * The files containers run or read, kept in containers/ and mounted as Swarm configs: one table of
 * where each lives in the repository and where it is mounted, and one way to read them. Values
 * reach these files through the service's environment or other mounted files, never by editing
 * their text.
 */
import * as fs from "fs";
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";
import { projectDir } from "../config/stackConfig";
import { BACKUP_SCRIPT_DIR } from "../model/backup/contract";
import type * as docker from "@pulumi/docker";
import { configMount, textConfig } from "./swarm";

export interface ContainerFile {
  /** Path under containers/. */
  readonly source: string;
  /** Where the service mounts it. */
  readonly mountPath: string;
  /** 0555 for scripts the image executes, 0444 for files it reads. */
  readonly mode: number;
}

export const CONTAINER_FILES = {
  /** Copies every NAME_FILE into NAME before Node starts the app (NODE_OPTIONS=--require). */
  secretsEnv: { source: "backend/secrets-env.js", mountPath: "/run/advwell/secrets-env.js", mode: 0o444 },
  /** The postgres-reconcile service's command: roles, ownership and slots, converged on every deploy. */
  reconcile: { source: "postgres/reconcile.sh", mountPath: "/usr/local/bin/advwell-reconcile.sh", mode: 0o555 },
  replicaEntrypoint: { source: "postgres/replica-entrypoint.sh", mountPath: "/usr/local/bin/advwell-replica-entrypoint.sh", mode: 0o555 },
  backup: { source: "backup/backup.sh", mountPath: `${BACKUP_SCRIPT_DIR}/backup.sh`, mode: 0o555 },
  restore: { source: "backup/restore.sh", mountPath: `${BACKUP_SCRIPT_DIR}/restore.sh`, mode: 0o555 },
  restoreDrill: { source: "backup/restore-drill.sh", mountPath: `${BACKUP_SCRIPT_DIR}/restore-drill.sh`, mode: 0o555 },
  /** Point-in-time recovery: init, full, list, restore into a new directory, verify, metrics. */
  pitr: { source: "backup/pitr.sh", mountPath: `${BACKUP_SCRIPT_DIR}/pitr.sh`, mode: 0o555 },
} as const satisfies Record<string, ContainerFile>;

export type ContainerFileName = keyof typeof CONTAINER_FILES;

/** The absolute path of a container file in this checkout (tests run the same file). */
export function containerFilePath(name: ContainerFileName): string {
  return path.join(projectDir(), "containers", CONTAINER_FILES[name].source);
}

/** The text of a container file, exactly as the service mounts it. */
export function readContainerFile(name: ContainerFileName): string {
  return fs.readFileSync(containerFilePath(name), "utf8");
}

/**
 * A container file as a Swarm config (content-named, so an edit makes a new config) and its mount
 * at the table's path and mode. `resourceName` is the config's Pulumi name.
 */
export function containerFileMount(resourceName: string, name: ContainerFileName, parent: pulumi.Resource): docker.types.input.ServiceTaskSpecContainerSpecConfig {
  const file = CONTAINER_FILES[name];
  return configMount(textConfig(resourceName, readContainerFile(name), parent), file.mountPath, file.mode);
}
