/** A finding raised while validating settings or resolving the plan. Errors refuse the deploy. */
export interface Finding {
  readonly level: "error" | "warning";
  /** The config key to change, e.g. `advwell:tier` or `advwell:overrides[backend.replicas]`. */
  readonly key: string;
  readonly message: string;
  /** Lines that back the message up (one per service that fits nowhere), printed under it. */
  readonly details?: readonly string[];
}

export const error = (key: string, message: string, details?: readonly string[]): Finding => ({ level: "error", key, message, ...(details ? { details } : {}) });
export const warning = (key: string, message: string): Finding => ({ level: "warning", key, message });

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.level === "error");
}

/** One line per finding, e.g. `error advwell:tier: got "huge"; allowed: starter, growth`. */
export function formatFindings(findings: readonly Finding[]): string {
  return findings.map((f) => [`${f.level} ${f.key}: ${f.message}`, ...(f.details ?? []).map((d) => `  - ${d}`)].join("\n")).join("\n");
}

/** Thrown by the program before any resource exists when the plan has errors. */
export class PlanError extends Error {
  constructor(readonly findings: readonly Finding[]) {
    super(`the plan has errors; nothing was deployed:\n${formatFindings(findings.filter((f) => f.level === "error"))}`);
    this.name = "PlanError";
  }
}
