#!/usr/bin/env node
/**
 * Runs several plan commands in one process, one after another, as bin/advwell-plan runs one: the
 * compiled build of the sources, `main(args)` of scripts/plan. The Pulumi SDK then loads once for
 * all of them (a program run forgets only the program's own modules: scripts/lib/resourceRun.ts),
 * where one process per command would load it again each time, and jest for each program run.
 *
 *   node test/support/plan-batch.js '<JSON array of argument lists>'
 * prints a JSON array of {code, out, err}, one per command, in order.
 */
"use strict";
const path = require("path");
const build = require(path.join(__dirname, "..", "..", "scripts", "build.js"));

async function batch(commands) {
  const plan = build.load("scripts/plan", build.projectDir());
  const stdout = process.stdout.write;
  const stderr = process.stderr.write;
  const results = [];
  for (const args of commands) {
    let out = "";
    let err = "";
    process.stdout.write = (s) => ((out += String(s)), true);
    process.stderr.write = (s) => ((err += String(s)), true);
    let code;
    try {
      code = await plan.main(args);
    } finally {
      process.stdout.write = stdout;
      process.stderr.write = stderr;
    }
    results.push({ code, out, err });
  }
  return results;
}

batch(JSON.parse(process.argv[2])).then(
  (results) => process.stdout.write(JSON.stringify(results)),
  (e) => {
    process.stderr.write(`plan-batch: ${e.message}\n`);
    process.exitCode = 2;
  },
);
