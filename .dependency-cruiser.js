/**
 * Import rules, checked in `npm test` (npm run lint:deps). Data flows one way:
 * config -> model (pure) -> components -> index.ts; scripts/ and test/ sit outside.
 */
module.exports = {
  forbidden: [
    { name: "no-cycles", severity: "error", comment: "No import cycle anywhere, type-only imports included.", from: {}, to: { circular: true } },
    {
      name: "model-is-pure",
      severity: "error",
      comment: "model/ decides everything and imports no Pulumi package, no component, script, test or loader, and no Node I/O.",
      from: { path: "^model/" },
      to: { path: ["^components/", "^scripts/", "^test/", "^config/", "^index\\.ts$", "^policy/", "node_modules/@pulumi/", "^(fs|child_process|net|http|https)$"] },
    },
    {
      name: "components-do-not-reach-out",
      severity: "error",
      comment: "Components map the plan onto resources; they never import developer commands or tests.",
      from: { path: "^components/" },
      to: { path: ["^scripts/", "^test/", "^policy/"] },
    },
    {
      name: "only-tests-import-tests",
      severity: "error",
      comment: "Nothing outside test/ imports from test/.",
      from: { pathNot: "^test/" },
      to: { path: "^test/" },
    },
    {
      name: "policy-pack-stands-alone",
      severity: "error",
      comment: "The policy pack judges resources, however the program made them: it imports nothing of the program.",
      from: { path: "^policy/" },
      to: { path: ["^model/", "^components/", "^index\\.ts$", "^config/"] },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^(node_modules|dist|coverage)/" },
  },
};
