/** Unit and program tests run in `npm test`; integration tests start real PostgreSQL, PgBouncer and S3. */
const base = {
  testEnvironment: "node",
  // TypeScript through @swc/core (types stripped; `tsc --noEmit` in npm test is the type check).
  transform: { "^.+\\.tsx?$": "<rootDir>/scripts/lib/jest-swc.js" },
  // The plan command's builds (scripts/build.js) are copies of the sources: not modules to map or watch.
  modulePathIgnorePatterns: ["<rootDir>/dist/"],
  // Every program run loads the Pulumi SDK afresh; these two packages, which it loads only for closure
  // serialisation, then load on first use instead (scripts/lib/lazy-sdk-deps.js).
  moduleNameMapper: { "^typescript$": "<rootDir>/scripts/lib/lazy/typescript.js", "^@npmcli/arborist$": "<rootDir>/scripts/lib/lazy/arborist.js" },
};
module.exports = {
  testTimeout: 120000,
  // Two workers on this 2-core machine (jest's default would be one): the files are independent, and
  // the integration tests' servers take reserved ports and their own temp folders (test/integration/support).
  maxWorkers: 2,
  projects: [
    { ...base, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts", "<rootDir>/test/components/**/*.test.ts", "<rootDir>/test/program/**/*.test.ts"] },
    { ...base, displayName: "integration", testMatch: ["<rootDir>/test/integration/**/*.test.ts"] },
    // The real-Swarm rehearsal: run it with `npm run test:swarm` (test/swarm/run.ts starts the daemon first).
    { ...base, displayName: "swarm", testMatch: ["<rootDir>/test/swarm/**/*.test.ts"] },
  ],
};
