/** PostgreSQL settings as `-c` flags or a postgresql.conf fragment. The integration tests start real PostgreSQL with these. Pure. */
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
