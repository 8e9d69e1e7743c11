/**
 * Loopback ports for the servers that tests and benchmarks start (PostgreSQL, PgBouncer, s3rver,
 * exporters), safe when two jest workers, or test runs in other checkouts, start servers at once.
 */
import * as crypto from "crypto";
import * as net from "net";

/**
 * Ports for the servers the tests start. Below the kernel's ephemeral range (32768-60999 by
 * default): the local port of an outgoing connection (the tests open hundreds) can never take one
 * between our check and the server's bind, as a port the kernel handed out for `listen(0)` could.
 */
const PORT_RANGE = { first: 20000, last: 32000 };
/** Reservations held by this process; the kernel drops them when it exits, however it exits. */
const reservations: net.Server[] = [];

/**
 * Reserves `port` among all test processes on the machine (jest workers, parallel test runs in
 * other checkouts): a Unix socket in Linux's abstract namespace named after the port. Only one live
 * process can hold a name; it vanishes with its process, so there is nothing to clean up or go stale.
 */
function reserve(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const lock = net.createServer();
    lock.once("error", () => resolve(false));
    lock.listen({ path: `\0advwell-test-port-${port}` }, () => {
      lock.unref();
      reservations.push(lock);
      resolve(true);
    });
  });
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port for a test server that no other test process will be given: reserved for this
 * process until it exits, and free now (nothing else has it bound).
 */
export async function freePort(): Promise<number> {
  const span = PORT_RANGE.last - PORT_RANGE.first + 1;
  // Each jest worker starts in its own eighth of the range, so the workers of one run do not even
  // contend for a reservation; the reservations keep apart parallel runs.
  const block = Math.floor(span / 8);
  const worker = Number(process.env.JEST_WORKER_ID ?? 1) - 1;
  const offset = (worker % 8) * block + crypto.randomInt(block);
  for (let i = 0; i < span; i++) {
    const port = PORT_RANGE.first + ((offset + i) % span);
    if ((await reserve(port)) && (await bindable(port))) return port;
  }
  throw new Error(`no free port between ${PORT_RANGE.first} and ${PORT_RANGE.last}`);
}
