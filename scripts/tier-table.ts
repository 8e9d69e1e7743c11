/** Prints the README's tier table from the code: `npx ts-node --transpile-only scripts/tier-table.ts`. */
import { loadStackConfig } from "../config/stackConfig";
import { tierSummaries, tierTableMarkdown } from "../model";

process.stdout.write(`${tierTableMarkdown(tierSummaries(loadStackConfig("production").config))}\n`);
