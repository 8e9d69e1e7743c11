/** Prints the README's config-key table from the code: `npx ts-node scripts/config-table.ts`. */
import { loadStackConfig } from "../config/stackConfig";
import { configTableMarkdown } from "../model";

process.stdout.write(`${configTableMarkdown(loadStackConfig("production").config)}\n`);
