/** Config maps for tests, loaded exactly as the CLI would load them, with `--set`-style overrides. */
import { applySet, loadStackConfig } from "../../config/stackConfig";
import { Plan, resolveStack, Resolved } from "../../model";

export function stackConfig(stack: string, sets: readonly string[] = []): Record<string, string> {
  const { config, project } = loadStackConfig(stack);
  for (const s of sets) applySet(config, s, project);
  return config;
}

/** `secrets`: keys set as `pulumi config set --secret` would (decrypted, as the engine hands them over). */
export function resolve(stack: string, sets: readonly string[] = [], secrets: readonly string[] = []): Resolved {
  return resolveStack(stackConfig(stack, sets), stack, secrets);
}

export function planFor(stack: string, sets: readonly string[] = [], secrets: readonly string[] = []): Plan {
  const { plan, findings } = resolve(stack, sets, secrets);
  if (!plan) throw new Error(`no plan: ${JSON.stringify(findings)}`);
  return plan;
}

/** n nodes of the seed's size, the first a manager. */
export function seedNodes(count: number): string {
  const nodes = Array.from({ length: count }, (_, i) => `name=vps-${i + 1},cpus=4,memory=16GiB,role=${i === 0 ? "manager" : "worker"}`);
  return `advwell:nodes=${JSON.stringify(nodes)}`;
}
