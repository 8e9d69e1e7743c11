import { stringify } from "yaml";

/** A YAML document with a header saying where it comes from. */
export const renderYaml = (doc: unknown, header: string): string => `# ${header}\n# Rendered by the AdvWell plan; do not edit by hand.\n${stringify(doc, { lineWidth: 0 })}`;
