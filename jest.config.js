/** Unit and program tests run in `npm test`; integration tests start real PostgreSQL, PgBouncer and S3. */
const base = {
  preset: "ts-jest",
  testEnvironment: "node",
};
module.exports = {
  testTimeout: 120000,
  projects: [
    { ...base, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts", "<rootDir>/test/components/**/*.test.ts", "<rootDir>/test/program/**/*.test.ts"] },
    { ...base, displayName: "integration", testMatch: ["<rootDir>/test/integration/**/*.test.ts"] },
    // The real-Swarm rehearsal: run it with `npm run test:swarm` (test/swarm/run.ts starts the daemon first).
    { ...base, displayName: "swarm", testMatch: ["<rootDir>/test/swarm/**/*.test.ts"] },
  ],
};
