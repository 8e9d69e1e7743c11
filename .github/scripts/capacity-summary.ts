/**
 * The capacity table of a stack's offline plan, as Markdown for a job summary ($GITHUB_STEP_SUMMARY):
 * replicas, limits and reservations per service, what each node has reserved, and the findings.
 *
 *   npm run -s plan -- --stack production --json > plan.json
 *   npx ts-node .github/scripts/capacity-summary.ts plan.json >> "$GITHUB_STEP_SUMMARY"
 *
 * Reads the JSON of `npm run plan -- --json` (planJson in scripts/plan.ts); fields it does not find
 * print as "?", so a renamed field shows in the summary instead of failing the deploy.
 */
import * as fs from "fs";

interface ServiceJson {
  readonly replicas?: number;
  readonly global?: boolean;
  readonly cpuLimit?: number;
  readonly memoryLimitMiB?: number;
  readonly cpuReservation?: number;
  readonly memoryReservationMiB?: number;
}

interface NodeJson {
  readonly name?: string;
  readonly role?: string;
  readonly cpus?: number;
  readonly memoryMiB?: number;
  readonly cpuReserved?: number;
  readonly cpuPercent?: number;
  readonly memoryReservedMiB?: number;
  readonly memoryPercent?: number;
}

export interface PlanJson {
  readonly stack?: string;
  readonly tier?: string;
  readonly companies?: string;
  readonly environment?: string;
  readonly services?: Record<string, ServiceJson | null>;
  readonly monitoring?: { readonly enabled?: boolean; readonly services?: Record<string, ServiceJson | null> } | null;
  readonly nodes?: NodeJson[];
  readonly findings?: { readonly level: string; readonly key: string; readonly message: string; readonly details?: readonly string[] }[];
}

const MAX_FINDINGS = 25;
const num = (v: unknown) => (typeof v === "number" ? String(+v.toFixed(2)) : "?");
const mib = (v: unknown) => (typeof v !== "number" ? "?" : v >= 1024 ? `${+(v / 1024).toFixed(2)} GiB` : `${v} MiB`);
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function capacityMarkdown(plan: PlanJson): string {
  const out: string[] = [];
  const errors = (plan.findings ?? []).filter((f) => f.level === "error");
  out.push(`### Capacity plan: \`${plan.stack ?? "?"}\`, tier \`${plan.tier ?? "?"}\`${plan.companies ? ` (${plan.companies} companies)` : ""}${plan.environment ? `, ${plan.environment}` : ""}`, "");
  if (errors.length > 0) out.push(`**The plan has ${errors.length} error(s): this stack is not deployed.**`, "");
  const services = { ...(plan.services ?? {}), ...(plan.monitoring?.services ?? {}) };
  const rows = Object.entries(services).filter((e): e is [string, ServiceJson] => e[1] !== null && typeof e[1] === "object");
  if (rows.length > 0) {
    out.push("| service | replicas | CPU limit | memory limit | CPU reserved | memory reserved |", "|---|---|---|---|---|---|");
    for (const [name, s] of rows) {
      out.push(`| ${name} | ${s.global ? "1 per node" : num(s.replicas)} | ${num(s.cpuLimit)} | ${mib(s.memoryLimitMiB)} | ${num(s.cpuReservation)} | ${mib(s.memoryReservationMiB)} |`);
    }
    out.push("");
  }
  if ((plan.nodes ?? []).length > 0) {
    out.push("| node | role | CPUs | memory | CPU reserved | memory reserved |", "|---|---|---|---|---|---|");
    for (const n of plan.nodes!) {
      out.push(`| ${cell(n.name ?? "?")} | ${n.role ?? "?"} | ${num(n.cpus)} | ${mib(n.memoryMiB)} | ${num(n.cpuReserved)} (${num(n.cpuPercent)}%) | ${mib(n.memoryReservedMiB)} (${num(n.memoryPercent)}%) |`);
    }
    out.push("");
  }
  const findings = plan.findings ?? [];
  if (findings.length === 0) out.push("Findings: none.");
  else {
    out.push("| level | key | finding |", "|---|---|---|");
    // A finding's details (one line per service that fits nowhere) stay in its cell, one per line.
    for (const f of findings.slice(0, MAX_FINDINGS)) out.push(`| ${f.level} | \`${f.key}\` | ${[f.message, ...(f.details ?? []).map((d) => `- ${d}`)].map(cell).join("<br>")} |`);
    if (findings.length > MAX_FINDINGS) out.push("", `... and ${findings.length - MAX_FINDINGS} more (run \`npm run plan -- --stack ${plan.stack ?? "<stack>"}\`).`);
  }
  return `${out.join("\n")}\n`;
}

export function main(argv: string[], write: (s: string) => void = (s) => process.stdout.write(s)): number {
  try {
    write(capacityMarkdown(JSON.parse(fs.readFileSync(argv[0] ?? 0, "utf8"))));
    return 0;
  } catch (e) {
    process.stderr.write(`capacity-summary: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
