/**
 * The integration tests run in two jest workers, and other checkouts may run theirs at the same
 * time: the ports their servers take must never be handed to two of them (support/pgCluster.ts).
 */
import { spawn } from "child_process";
import * as net from "net";
import { freePort } from "./support/pgCluster";

/** Tries to take a port's reservation from another process: the error code it got, or "taken". */
function reserveElsewhere(port: number): Promise<string> {
  const script = `require("net").createServer().once("error", (e) => { console.log(e.code); process.exit(0); }).listen({ path: "\\0advwell-test-port-${port}" }, () => { console.log("taken"); process.exit(0); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", () => resolve(out.trim()));
  });
}

test("ports are distinct, free, and below the kernel's ephemeral range", async () => {
  const ports: number[] = [];
  for (let i = 0; i < 40; i++) ports.push(await freePort());
  expect(new Set(ports).size).toBe(ports.length);
  for (const p of ports) {
    expect(p).toBeGreaterThanOrEqual(20000);
    expect(p).toBeLessThan(32768);
  }
  // Free to bind for the server it is meant for.
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(ports[0], "127.0.0.1", resolve));
  await new Promise((r) => server.close(r));
});

test("another process cannot reserve a port this one holds", async () => {
  const port = await freePort();
  expect(await reserveElsewhere(port)).toBe("EADDRINUSE");
});

test("a reservation ends with its process, however it ends: nothing is left behind to go stale", async () => {
  let port = 32000;
  while ((await reserveElsewhere(port)) !== "taken") port--; // skip the ones this process holds
  expect(await reserveElsewhere(port)).toBe("taken");
});
