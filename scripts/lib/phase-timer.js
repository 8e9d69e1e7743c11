/**
 * Where a plan command's time goes, for `npm run bench:plan`: set ADVWELL_PLAN_TIMINGS=<file> and
 * bin/advwell-plan appends one JSON line to <file> as the process exits:
 *   start   ms from the process's time origin to the first line of bin/advwell-plan (node's own start)
 *   build   ms finding (or making) the build of the current sources (scripts/build.js)
 *   load    ms inside require() after that: reading, compiling and evaluating modules (ours, zod,
 *           yaml when a parse is not cached; for --resources/--diff the Pulumi SDK and providers),
 *           counted once when nested
 *   work    the rest until exit: the plan, the program runs under mocks, formatting, printing
 * Without the variable nothing here is loaded.
 */
"use strict";
const fs = require("fs");
const Module = require("module");
const { performance } = require("perf_hooks");

function install(file) {
  const start = performance.now();
  let loadMs = 0;
  let depth = 0;
  let buildDone;
  const original = Module.prototype.require;
  Module.prototype.require = function timedRequire(id) {
    if (depth > 0 || buildDone === undefined) return original.call(this, id);
    depth++;
    const t = performance.now();
    try {
      return original.call(this, id);
    } finally {
      loadMs += performance.now() - t;
      depth--;
    }
  };
  process.on("exit", () => {
    const end = performance.now();
    const build = (buildDone ?? end) - start;
    const line = { start: round(start), build: round(build), load: round(loadMs), work: round(end - start - build - loadMs), total: round(end), argv: process.argv.slice(2) };
    fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
  });
  return {
    /** Call when the build is found: requires from then on count as module load. */
    buildFound() {
      buildDone = performance.now();
    },
  };
}

const round = (ms) => Math.round(ms * 10) / 10;

module.exports = { install };
