import { spawn } from "child_process";
import * as http from "http";
import { AddressInfo } from "net";
import { nodeHttpProbe } from "../../model";

/** Runs the probe exactly as Docker would (exec form, minus "CMD") and returns its exit code. */
function runProbe(command: string[]): Promise<number | null> {
  const [, bin, ...args] = command;
  return new Promise((resolve) => spawn(bin === "node" ? process.execPath : bin, args, { stdio: "ignore" }).on("close", resolve));
}

describe("the backend's container health check, run by real node against a real server", () => {
  let server: http.Server;
  let port: number;
  let status = 200;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.statusCode = req.url === "/health" ? status : 404;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test("is healthy when /health answers 200", async () => {
    status = 200;
    expect(await runProbe(nodeHttpProbe(port, "/health"))).toBe(0);
  });
  test("is unhealthy when /health answers 503", async () => {
    status = 503;
    expect(await runProbe(nodeHttpProbe(port, "/health"))).toBe(1);
  });
  test("is unhealthy when nothing listens", async () => {
    expect(await runProbe(nodeHttpProbe(1, "/health"))).toBe(1);
  });
});
