/**
 * How the day-2 drills read their evidence (lib/traffic.ts, lib/pglog.ts): outage windows from the
 * traffic's records, the cause of each failed request, and who caused each FATAL in PostgreSQL's
 * log. No daemon needed; it runs with `npm run test:swarm`.
 */
import { causeOf, fatals, probeFatals } from "./lib/pglog";
import { classify, databaseFailuresOutsideOutages, outageWindows, summarise, TrafficRecord } from "./lib/traffic";

const pg = (t: number, ok: boolean, ms = 10, error?: string): TrafficRecord => ({ t, ms, target: "postgres", ok, error: ok ? undefined : (error ?? "timeout expired") });

describe("PostgreSQL's outage windows from the traffic's connections", () => {
  test("a run of failures is one window, from the end of the last success to the start of the next", () => {
    const windows = outageWindows([pg(0, true), pg(100, true, 20), pg(200, false, 500), pg(700, false, 500), pg(1200, true), pg(1300, true)]);
    expect(windows).toEqual([{ from: 120, to: 1200, seconds: 1.08, failures: 2, firstError: "timeout expired" }]);
  });

  test("failures still going at the end make a window with no end; no failure, no window", () => {
    expect(outageWindows([pg(0, true), pg(100, false)])).toMatchObject([{ from: 10, to: undefined, seconds: undefined, failures: 1 }]);
    expect(outageWindows([pg(0, true), pg(100, true)])).toEqual([]);
  });

  test("concurrent probes: a failure overlapped by answered attempts on both sides is no outage", () => {
    // Loop A fails 100-600; loop B succeeds 50-700 and 650-660: the database answered throughout.
    expect(outageWindows([pg(0, true), pg(50, true, 650), pg(100, false, 500), pg(650, true)])).toEqual([]);
  });

  test("records out of order are sorted by start first", () => {
    expect(outageWindows([pg(1200, true), pg(200, false), pg(0, true)])).toMatchObject([{ from: 10, to: 1200, failures: 1 }]);
  });
});

describe("why a request failed", () => {
  const backend = (over: Partial<TrafficRecord>): TrafficRecord => ({ t: 0, ms: 5, target: "backend", ok: false, ...over });

  test("no connection is routing (a task gone or not ready); a connection with no answer is stalled", () => {
    expect(classify(backend({ error: "ECONNREFUSED", connected: false }))).toBe("routing");
    expect(classify(backend({ error: "TIMEOUT", connected: true }))).toBe("stalled");
    expect(classify(backend({ ok: true, status: 200 }))).toBeUndefined();
  });

  test("the backend's 503 with its database error is the database's; any other status is http", () => {
    expect(classify(backend({ status: 503, body: '{"ok":false,"error":"Connection terminated"}' }))).toBe("database");
    expect(classify(backend({ status: 500, body: '{"ok":false,"error":"broken release"}' }))).toBe("http");
    expect(classify({ ...backend({ status: 503, body: '{"error":"x"}' }), target: "frontend" })).toBe("http");
  });

  test("database failures outside every outage window (± slack) are reported; inside they are not", () => {
    const windows = outageWindows([pg(0, true), pg(1000, false), pg(3000, true)]);
    const inside = backend({ t: 1500, status: 503, body: '{"error":"x"}' });
    const outside = backend({ t: 9000, status: 503, body: '{"error":"x"}' });
    const stalledOutside = backend({ t: 9000, error: "TIMEOUT", connected: true });
    expect(databaseFailuresOutsideOutages([inside, outside, stalledOutside], windows, 1000)).toEqual([outside, stalledOutside]);
  });

  test("summaries count requests made and failed per target, by cause", () => {
    const s = summarise([backend({ ok: true, status: 200 }), backend({ error: "EHOSTUNREACH" }), backend({ status: 503, body: '{"error":"x"}' })], "backend");
    expect(s).toMatchObject({ made: 3, failed: 2, byClass: { routing: 1, database: 1 } });
  });
});

describe("FATAL lines in PostgreSQL's log and who caused them", () => {
  const log = [
    "2026-11-29 02:21:54.100 UTC [40] LOG:  connection received: host=10.0.2.9 port=40000",
    "2026-11-29 02:21:54.101 UTC [40] LOG:  connection authorized: user=replicator database=replicator application_name=walreceiver",
    '2026-11-29 02:21:54.102 UTC [40] FATAL:  database "replicator" does not exist',
    "2026-11-29 02:21:54.200 UTC [41] LOG:  connection received: host=[local]",
    '2026-11-29 02:21:54.201 UTC [41] FATAL:  role "root" does not exist',
    "2026-11-29 02:21:54.300 UTC [42] LOG:  connection received: host=10.0.2.8 port=50000",
    "2026-11-29 02:21:54.301 UTC [42] FATAL:  the database system is shutting down",
    "2026-11-29 02:21:54.400 UTC [43] LOG:  connection received: host=10.0.2.6 port=50001",
    "2026-11-29 02:21:54.401 UTC [43] LOG:  connection authorized: user=postgres database=postgres application_name=postgres_exporter",
    "2026-11-29 02:21:54.402 UTC [43] FATAL:  terminating connection due to administrator command",
  ].join("\n");
  const services: Record<string, string> = { "10.0.2.9": "postgres-replica", "10.0.2.8": "rehearsal-probe", "10.0.2.6": "postgres-exporter" };

  test("each FATAL is matched to its connection's client, role and database", () => {
    const all = fatals([{ container: "c1", text: log }], (ip) => services[ip]);
    expect(all.map((f) => [f.pid, f.service, f.cause])).toEqual([
      [40, "postgres-replica", "client"],
      [41, "[local]", "client"],
      [42, "rehearsal-probe", "restart-window"],
      [43, "postgres-exporter", "shutdown"],
    ]);
    expect(all[0].client).toBe("10.0.2.9 (postgres-replica) as replicator/replicator (walreceiver)");
  });

  test("the stack's own probes' FATALs are kept, except a shutdown ending their session; the rehearsal's clients are not the stack's", () => {
    const all = fatals([{ container: "c1", text: log }], (ip) => services[ip]);
    expect(probeFatals(all).map((f) => f.pid)).toEqual([40, 41]);
  });

  test("causes: shutdown, restart window, client", () => {
    expect(causeOf("terminating connection due to administrator command")).toBe("shutdown");
    expect(causeOf("the database system is starting up")).toBe("restart-window");
    expect(causeOf('password authentication failed for user "advwell"')).toBe("client");
  });
});
