/**
 * The edge suite's HTTPS client, run in the probe container (Node 18): requests to Traefik by host
 * name, with the address taken from a file the suite keeps pointing at Traefik's current task
 * (re-read before every request, so a restarted Traefik is followed at once), TLS verified against
 * the ACME server's root for the host name (SNI).
 *
 *   node edge-load.js burst  '{"host":..,"path":..,"count":N,"concurrency":C,"auth":"user:pw"}'
 *       N requests as fast as C connections allow; prints one JSON summary line.
 *   node edge-load.js steady '{"name":..,"targets":[{"host":..,"path":..}],"ratePerSecond":R}'
 *       R requests a second to each target until /tmp/edge-load-<name>.stop exists; appends one JSON
 *       line per request to /tmp/edge-load-<name>.jsonl (t: start ms, ms: latency, status, error, task).
 */
const fs = require("fs");
const https = require("https");

const TARGET_FILE = "/tmp/edge-target";
const CA_FILE = "/tmp/edge-ca.pem";
/** A browser waits far longer; 10 s tells a slow answer (counted, with its latency) from none. */
const TIMEOUT_MS = 10_000;
const [mode, json] = process.argv.slice(2);
const options = JSON.parse(json || "{}");
const ca = fs.readFileSync(CA_FILE);

function request(host, path, auth, agent) {
  const started = Date.now();
  return new Promise((resolve) => {
    let address;
    try {
      address = fs.readFileSync(TARGET_FILE, "utf8").trim();
    } catch (error) {
      return resolve({ t: started, ms: 0, host, error: `no target: ${error.message}` });
    }
    const req = https.request(
      { host: address, port: 443, path, method: "GET", servername: host, headers: { host }, ca, agent, auth, timeout: TIMEOUT_MS },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c.length < 4096 ? c : ""));
        res.on("end", () => {
          let task;
          try {
            task = JSON.parse(body).task;
          } catch {
            task = undefined;
          }
          resolve({ t: started, ms: Date.now() - started, host, status: res.statusCode, task });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on("error", (error) => resolve({ t: started, ms: Date.now() - started, host, error: error.code || error.message }));
    req.end();
  });
}

async function burst() {
  const agent = new https.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const started = Date.now();
  const statuses = {};
  let next = 0;
  const worker = async () => {
    while (next < options.count) {
      next++;
      const r = await request(options.host, options.path, options.auth, agent);
      const key = r.status ?? r.error;
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ statuses, seconds: (Date.now() - started) / 1000 })}\n`);
}

async function steady() {
  const stopFile = `/tmp/edge-load-${options.name}.stop`;
  const out = fs.openSync(`/tmp/edge-load-${options.name}.jsonl`, "w");
  const agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
  const interval = 1000 / options.ratePerSecond;
  const pending = new Set();
  const loop = async (target, offset) => {
    await new Promise((r) => setTimeout(r, offset));
    for (let due = Date.now(); !fs.existsSync(stopFile); due += interval) {
      const p = request(target.host, target.path, undefined, agent).then((r) => {
        fs.writeSync(out, `${JSON.stringify(r)}\n`);
        pending.delete(p);
      });
      pending.add(p);
      const wait = due + interval - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
  await Promise.all(options.targets.map((t, i) => loop(t, (i * interval) / options.targets.length)));
  await Promise.all([...pending]);
  fs.closeSync(out);
  agent.destroy();
}

(mode === "burst" ? burst() : steady()).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  },
);
