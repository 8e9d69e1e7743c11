/**
 * Container health checks (exec form) that need nothing but what the image certainly has:
 * the backend is a Node.js image, so node itself probes /health; no curl or wget required.
 */
export function nodeHttpProbe(port: number, path: string): string[] {
  const url = `http://127.0.0.1:${port}${path}`;
  const script = `require("http").get(${JSON.stringify(url)}, (r) => process.exit(r.statusCode >= 200 && r.statusCode < 300 ? 0 : 1)).on("error", () => process.exit(1))`;
  return ["CMD", "node", "-e", script];
}

/** nginx:alpine (and any busybox image) ships wget. */
export function wgetProbe(port: number, path: string): string[] {
  return ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${port}${path}`];
}
