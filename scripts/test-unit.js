/**
 * `npm test`: the type check, the import rules and the unit tests, side by side instead of one
 * after the other (each alone leaves a core idle on a 2-core machine), and fails when any of them
 * fails. jest's output streams as it runs; the other two print when they are done, or say "ok".
 *
 * The type check is `tsc --noEmit --incremental` with its state in .cache/ (gitignored): after the
 * first run it re-checks what changed. A type error fails it exactly as a full check does.
 * Arguments go to jest: `npm test -- -t "plan command"`.
 */
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const bin = (name) => path.join(root, "node_modules", ".bin", name);

function run(label, command, args, { live = false } = {}) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: live ? "inherit" : ["ignore", "pipe", "pipe"] });
    let output = "";
    if (!live) {
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
    }
    child.on("error", (e) => resolve({ label, code: 127, output: `${e.message}\n`, seconds: 0 }));
    child.on("close", (code, signal) => resolve({ label, code: code ?? (signal ? 1 : 0), output, seconds: (Date.now() - started) / 1000 }));
  });
}

async function main() {
  fs.mkdirSync(path.join(root, ".cache"), { recursive: true });
  const checks = [
    run("type check (tsc --noEmit)", bin("tsc"), ["--noEmit", "--incremental", "--tsBuildInfoFile", path.join(".cache", "tsc.tsbuildinfo")]),
    run("import rules (npm run lint:deps)", "npm", ["run", "-s", "lint:deps"]),
  ];
  const jest = await run("unit tests (jest --selectProjects unit)", bin("jest"), ["--selectProjects", "unit", ...process.argv.slice(2)], { live: true });
  const results = [...(await Promise.all(checks)), jest];
  for (const r of results.slice(0, -1)) {
    const text = r.output.trim();
    process.stdout.write(`\n${r.label}: ${r.code === 0 ? "ok" : `FAILED (exit ${r.code})`}, ${r.seconds.toFixed(1)} s${text && r.code !== 0 ? `\n${text}` : ""}\n`);
  }
  const failed = results.filter((r) => r.code !== 0);
  if (failed.length > 0) process.stdout.write(`\nnpm test failed: ${failed.map((r) => r.label).join(", ")}\n`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}

main();
