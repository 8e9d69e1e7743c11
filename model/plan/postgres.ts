/** Stage 4: PostgreSQL settings, derived from the container, overrides on top, then checked against the container. */
import { configKey, overrideKey } from "../config/keys";
import { postgresMajor } from "../config/references";
import type { Settings } from "../config/settings";
import { error, Finding, warning } from "../findings";
import { derivePostgresSettings, settingKiB, shmSizeMiB, worstCaseMemory } from "../postgres/tuning";
import { formatMiB } from "../units";
import { HBA_FILE, pgHbaLines } from "../render/postgres";
import { DATA_MOUNT_PATH, PGDATA, REPLICATION_USER, replicationHbaLine } from "../replication";
import type { PostgresPlan, ServicePlans, Staged } from "./types";

/** The volume the stack creates for PostgreSQL's data when it adopts none. */
export const DATA_VOLUME = "advwell-postgres-data";

export function planPostgres(settings: Settings, services: ServicePlans, maxConnections: number): Staged<PostgresPlan> {
  const o = settings.overrides;
  const findings: Finding[] = [];
  const postgresService = services.postgres!;
  const derived = derivePostgresSettings({
    memoryLimitMiB: postgresService.memoryLimitMiB,
    cpuLimit: postgresService.cpuLimit,
    maxConnections,
    replicationSlots: services["postgres-replica"]?.replicas ?? 0,
  });
  // The stack owns pg_hba.conf: a config it renders (below), so a taken-over cluster's own file and a
  // replica tier's replication line never depend on what initdb once wrote into PGDATA.
  const pgSettings: Record<string, string> = { ...derived, hba_file: HBA_FILE, ...o.postgresSettings };
  if (o.postgresSettings.max_connections !== undefined) {
    findings.push(error(overrideKey("postgres.settings.max_connections"), `got "${o.postgresSettings.max_connections}"; set postgres.maxConnections instead so the connection budget uses it`));
  }
  const worst = worstCaseMemory(pgSettings);
  const settingsKey = Object.keys(o.postgresSettings).length > 0 ? overrideKey(`postgres.settings.${Object.keys(o.postgresSettings)[0]}`) : undefined;
  if (!worst) {
    findings.push(error(settingsKey ?? configKey("tier"), "a PostgreSQL memory setting is not a size PostgreSQL accepts (e.g. 16MB, 2621kB, 1GB)"));
  } else if (worst.totalMiB > postgresService.memoryLimitMiB) {
    const key = settingsKey ?? (o.maxConnections ? overrideKey("postgres.maxConnections") : o.services.postgres?.memoryLimitMiB ? overrideKey("postgres.memoryLimit") : configKey("tier"));
    const parts = Object.entries(worst.parts).map(([k, v]) => `${k} ${Math.round(v)} MiB`).join(" + ");
    findings.push(error(key, `PostgreSQL can use ${worst.totalMiB} MiB at worst (${parts}) but its container is limited to ${postgresService.memoryLimitMiB} MiB: the kernel would OOM-kill the database under load`));
  }
  const cacheKiB = settingKiB(pgSettings, "effective_cache_size", 4 * 1024 * 1024);
  if (cacheKiB !== undefined && cacheKiB / 1024 > postgresService.memoryLimitMiB) {
    findings.push(warning(overrideKey("postgres.settings.effective_cache_size"), `effective_cache_size ${pgSettings.effective_cache_size} is more than the container's ${formatMiB(postgresService.memoryLimitMiB)}: the cgroup charges page cache to the container, so the planner would count on cache that cannot exist (the seed's 4GB in 3 GB)`));
  }
  return {
    value: {
      majorVersion: postgresMajor(settings.images.postgresImage) ?? 0,
      settings: pgSettings,
      memoryLimitMiB: postgresService.memoryLimitMiB,
      worstCaseMemoryMiB: worst?.totalMiB ?? 0,
      readReplicas: services["postgres-replica"]?.replicas ?? 0,
      shmSizeMiB: shmSizeMiB(pgSettings),
      dataVolume: settings.adoption?.volume ?? DATA_VOLUME,
      adopted: settings.adoption !== undefined,
      // The official image keeps PGDATA at the volume's root; the stack's own volume uses a subdirectory.
      pgdata: settings.adoption ? DATA_MOUNT_PATH : PGDATA,
      hba: pgHbaLines((services["postgres-replica"]?.replicas ?? 0) > 0 ? [replicationHbaLine(REPLICATION_USER)] : []),
    },
    findings,
  };
}
