/**
 * `npm run plan` prints, byte for byte, what the committed snapshot holds for every stack and tier.
 * Taken before the service-table refactor (issue 11); regenerated only for intended changes, with
 * `npx ts-node scripts/plan-snapshot.ts`, and the commit that does so says why.
 */
import * as fs from "fs";
import * as path from "path";
import { capturePlanCommand, snapshotCases, SNAPSHOT_DIR } from "../../scripts/plan-snapshot";

describe("plan output equals the committed snapshot", () => {
  test.each(snapshotCases().map((c) => [c.file, c.args] as const))("%s", async (file, args) => {
    const expected = fs.readFileSync(path.join(SNAPSHOT_DIR, file), "utf8");
    expect(await capturePlanCommand([...args])).toBe(expected);
  });
});
