/**
 * Grafana's stand-in for the edge suite: an HTTP server on Grafana's port (3000) with its
 * /api/health answer and a login page, so Traefik routes the Grafana host and gets its certificate.
 * Grafana itself (provisioning, dashboards, login) is not exercised.
 */
const http = require("http");
const os = require("os");

const server = http.createServer((req, res) => {
  const path = (req.url || "/").split("?")[0];
  if (path === "/api/health") {
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(JSON.stringify({ database: "ok", version: "standin", task: os.hostname() }) + "\n");
  }
  if (path === "/login") {
    res.writeHead(200, { "content-type": "text/html" });
    return res.end("<html><body>Grafana stand-in: login</body></html>\n");
  }
  res.writeHead(302, { location: "/login" });
  res.end();
});
server.listen(3000, "0.0.0.0");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
