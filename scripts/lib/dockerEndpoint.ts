/**
 * A Docker API client for a `docker:host` value, as the docker provider and the docker CLI read it:
 * unix:///path, tcp://host:port (TLS from DOCKER_CERT_PATH when DOCKER_TLS_VERIFY=1 or port 2376),
 * ssh://user@host[:port] (the remote `docker system dial-stdio`, as the docker CLI does; dockerode
 * through docker-modem's ssh agent, lib/ssh.js), authenticated by the ssh agent (SSH_AUTH_SOCK) or
 * the user's default key.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Docker from "dockerode";

export function dockerFor(host: string | undefined): Docker {
  if (!host || host === "") return new Docker({ socketPath: "/var/run/docker.sock" });
  if (host.startsWith("unix://")) return new Docker({ socketPath: host.slice("unix://".length) });
  const url = new URL(host);
  if (url.protocol === "ssh:") {
    const agent = process.env.SSH_AUTH_SOCK;
    const key = agent ? undefined : ["id_ed25519", "id_ecdsa", "id_rsa"].map((k) => path.join(os.homedir(), ".ssh", k)).find((f) => fs.existsSync(f));
    return new Docker({
      protocol: "ssh",
      host: url.hostname,
      port: Number(url.port || 22),
      username: url.username || os.userInfo().username,
      sshOptions: { ...(agent ? { agent } : {}), ...(key ? { privateKey: fs.readFileSync(key) } : {}) },
    } as Docker.DockerOptions);
  }
  if (url.protocol === "tcp:") {
    const tls = process.env.DOCKER_TLS_VERIFY === "1" || url.port === "2376";
    const certs = process.env.DOCKER_CERT_PATH ?? path.join(os.homedir(), ".docker");
    return new Docker({
      protocol: tls ? "https" : "http",
      host: url.hostname,
      port: Number(url.port || (tls ? 2376 : 2375)),
      ...(tls ? { ca: fs.readFileSync(path.join(certs, "ca.pem")), cert: fs.readFileSync(path.join(certs, "cert.pem")), key: fs.readFileSync(path.join(certs, "key.pem")) } : {}),
    });
  }
  throw new Error(`docker:host ${JSON.stringify(host)} is not unix://, tcp:// or ssh://`);
}

/** Flags shared by the takeover commands: `--stack <name>` (its docker:host), or `--docker-host <url>`. */
export function argValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`${flag}=`));
  return eq?.slice(flag.length + 1);
}
