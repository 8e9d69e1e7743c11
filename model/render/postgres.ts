/** PostgreSQL settings as `-c` flags or a postgresql.conf fragment, and pg_hba.conf. The integration tests start real PostgreSQL with these. Pure. */
/** Settings as `postgres -c name=value` arguments, in a stable order. */
export function renderPostgresArgs(settings: Readonly<Record<string, string>>): string[] {
  return Object.keys(settings)
    .sort()
    .flatMap((name) => ["-c", `${name}=${settings[name]}`]);
}

/** Settings as a postgresql.conf fragment; values are single-quoted as the file format allows. */
export function renderPostgresConf(settings: Readonly<Record<string, string>>): string {
  const lines = Object.keys(settings)
    .sort()
    .map((name) => `${name} = '${settings[name].replace(/'/g, "''")}'`);
  return `# Rendered by the AdvWell plan; do not edit by hand.\n${lines.join("\n")}\n`;
}

/** Where the primary's rendered pg_hba.conf is mounted; `hba_file` points there. */
export const HBA_FILE = "/etc/postgresql/advwell/pg_hba.conf";

/**
 * pg_hba.conf for the primary. Local and loopback connections are trusted, as the official image's
 * initdb makes them (health checks and `docker exec psql` inside the task); everything from the
 * network authenticates with SCRAM. A replication line, when the tier has replicas, comes before
 * the catch-all: pg_hba matches `replication` connections only through that keyword.
 */
export function pgHbaLines(replicationLines: readonly string[] = []): string[] {
  return [
    "local all all trust",
    "host all all 127.0.0.1/32 trust",
    "host all all ::1/128 trust",
    "local replication all trust",
    "host replication all 127.0.0.1/32 trust",
    "host replication all ::1/128 trust",
    ...replicationLines,
    "host all all all scram-sha-256",
  ];
}

export function renderPgHba(lines: readonly string[]): string {
  return `# Rendered by the AdvWell plan; do not edit by hand.\n${lines.join("\n")}\n`;
}
