"use strict";
/**
 * The drills' traffic, run inside the Swarm (in the rehearsal's probe container) while a
 * re-deploy or a restart happens. Until the stop file appears it keeps these loops going, each
 * one request at a time, about every INTERVAL_MS:
 *
 * - backend: GET /health on one of the backend's task addresses (`tasks.backend`, looked up
 *   before every request, taken in turn), on a new connection each time;
 * - frontend: GET / on `tasks.frontend`, the same way;
 * - postgres: a new connection to `postgres` (the service name Swarm publishes once the task is
 *   healthy), `SELECT 1`, close, as the superuser; PG_LOOPS (4) such loops, started a quarter of
 *   PG_TIMEOUT_MS apart, so an outage's end is seen within about 150 ms.
 *
 * Every attempt is one JSON line in OUT: {t (start, ms epoch), ms, target, ok, ip?, connected?
 * (HTTP: the TCP connection was made), status?, error? (the client's code or PostgreSQL's
 * message), body? (the start of a failed response)}. A PostgreSQL attempt gives up after
 * PG_TIMEOUT_MS (500 ms): a connection to the address of a task that is gone is never refused,
 * only unanswered, and a shorter wait measures the outage more finely.
 * The rehearsal reads the file and sorts the failures (lib/traffic.ts).
 */
const dns = require("dns");
const fs = require("fs");
const http = require("http");
const { Client } = require("pg");

const env = process.env;
const OUT = env.OUT || "/tmp/traffic.jsonl";
const STOP = env.STOP || "/tmp/traffic.stop";
const INTERVAL_MS = Number(env.INTERVAL_MS || 100);
const TIMEOUT_MS = Number(env.TIMEOUT_MS || 3000);
const PG_TIMEOUT_MS = Number(env.PG_TIMEOUT_MS || 500);
const PG_LOOPS = Number(env.PG_LOOPS || 4);
const out = fs.openSync(OUT, "a");
const record = (r) => fs.writeSync(out, `${JSON.stringify(r)}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stopped = () => fs.existsSync(STOP);

/** connected: whether the TCP connection was made (a timeout after it is a slow answer, not a missing task). */
function get(ip, port, path) {
  return new Promise((resolve) => {
    let connected = false;
    const req = http.get({ host: ip, port, path, agent: false, timeout: TIMEOUT_MS, headers: { connection: "close" } }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c.toString("utf8")));
      res.on("end", () => resolve({ status: res.statusCode, body, connected }));
      res.on("error", (e) => resolve({ error: e.code || e.message, connected }));
    });
    req.on("socket", (s) => s.on("connect", () => (connected = true)));
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
    req.on("error", (e) => resolve({ error: e.code || e.message, connected }));
  });
}

async function httpLoop(target, name, port, path) {
  let turn = 0;
  while (!stopped()) {
    const t = Date.now();
    let r;
    let ip;
    try {
      const addrs = (await dns.promises.lookup(name, { all: true, family: 4 })).map((a) => a.address).sort();
      ip = addrs[turn++ % addrs.length];
      r = await get(ip, port, path);
    } catch (e) {
      r = { error: e.code || e.message };
    }
    const ok = r.status >= 200 && r.status < 300;
    record({ t, ms: Date.now() - t, target, ok, ip, connected: r.connected, status: r.status, error: r.error, body: ok ? undefined : (r.body || "").slice(0, 200) });
    await sleep(Math.max(0, INTERVAL_MS - (Date.now() - t)));
  }
}

async function postgresLoop(password, offsetMs) {
  await sleep(offsetMs);
  while (!stopped()) {
    const t = Date.now();
    const client = new Client({ host: "postgres", port: 5432, user: "postgres", password, database: env.PGDATABASE || "postgres", application_name: "rehearsal-traffic", connectionTimeoutMillis: PG_TIMEOUT_MS });
    client.on("error", () => undefined);
    let error;
    try {
      await client.connect();
      await client.query("SELECT 1");
    } catch (e) {
      error = e.code && e.message ? `${e.code}: ${e.message}` : e.code || e.message;
    }
    await client.end().catch(() => undefined);
    record({ t, ms: Date.now() - t, target: "postgres", ok: !error, error });
    await sleep(Math.max(0, INTERVAL_MS - (Date.now() - t)));
  }
}

const password = fs.readFileSync(env.PGPASSWORD_FILE, "utf8").trim();
Promise.all([
  httpLoop("backend", "tasks.backend", Number(env.BACKEND_PORT || 3000), "/health"),
  httpLoop("frontend", "tasks.frontend", Number(env.FRONTEND_PORT || 80), "/"),
  // Several staggered loops: a failed attempt waits out its timeout, and the others keep probing.
  ...Array.from({ length: PG_LOOPS }, (_, i) => postgresLoop(password, Math.round((i * PG_TIMEOUT_MS) / PG_LOOPS))),
]).then(
  () => {
    fs.closeSync(out);
    process.exit(0);
  },
  (e) => {
    process.stderr.write(`traffic: ${e.message}\n`);
    process.exit(1);
  },
);
