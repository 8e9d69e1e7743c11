/**
 * The README's table of config keys, generated from the key table: type, default, what is
 * allowed, and the error a bad value actually gets (by running the validator on it). Pure.
 */
import { CONFIG_KEY_NAMES, CONFIG_KEYS, configKey, ConfigKey } from "../config/keys";
import type { RawConfig } from "../config/settings";
import type { Finding } from "../findings";
import { resolveStack } from "../plan/resolve";

/** The error the validator or the plan gives a key's `invalid` example, on top of a valid config. */
export function exampleError(base: RawConfig, key: ConfigKey): Finding | undefined {
  const name = configKey(key);
  const { findings } = resolveStack({ ...base, [name]: CONFIG_KEYS[key].invalid }, "example");
  return findings.find((f) => f.level === "error" && (f.key === name || f.key.startsWith(`${name}[`)));
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (text: string) => (text === "" ? '`""`' : text.includes("`") ? `\`\` ${text} \`\`` : `\`${cell(text)}\``);

export function configTableMarkdown(base: RawConfig): string {
  const header = "| key | type | default | allowed | a bad value, and the error it gets |\n|---|---|---|---|---|";
  const rows = CONFIG_KEY_NAMES.map((key) => {
    const spec = CONFIG_KEYS[key];
    const def = typeof spec.default === "string" ? spec.default : JSON.stringify(spec.default);
    const f = exampleError(base, key);
    const example = `${code(spec.invalid)} → ${f ? `${code(f.key)}: ${cell(f.message)}` : "(accepted)"}`;
    return `| \`${configKey(key)}\` | ${spec.type}${"secret" in spec ? ", secret" : ""} | ${code(def)} | ${cell(spec.allowed)} | ${example} |`;
  });
  return [header, ...rows].join("\n");
}
