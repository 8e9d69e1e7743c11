/**
 * Stand-in images, built from Debian packages with no registry:
 *
 * 1. One base root filesystem (`mmdebstrap`) holding every package any stand-in needs, cached as a
 *    tarball named by a hash of its recipe (BASE_RECIPE), so a second run on the machine skips it.
 * 2. One small layer with our files (the stand-in entrypoints and servers in test/swarm/standins,
 *    plus the `pg` and `s3rver` packages copied from the project's node_modules), made each run.
 * 3. One `docker load` archive in which every stand-in image is the same two layers with its own
 *    image config (entrypoint, command, user, environment, stop signal). The daemon stores the
 *    layers once; with the vfs driver a layer per image would be a full copy each.
 *
 * Image names pass the plan's validation: pinned tags, never `latest`, and the postgres tag starts
 * with the major (postgresMajor reads it for the backup image and the plan).
 */
import { createHash } from "crypto";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type Docker from "dockerode";

const STANDINS = path.resolve(__dirname, "..", "standins");
const PROJECT_ROOT = path.resolve(__dirname, "..", "..", "..");

const PG_BIN = "/usr/lib/postgresql/15/bin";
const PATH_ENV = `PATH=${PG_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

/**
 * The base root filesystem. Every field goes into the cache key. Hooks run on the host with the
 * root filesystem as "$1" (mmdebstrap's hook interface).
 */
export const BASE_RECIPE = {
  suite: "bookworm",
  variant: "apt",
  packages: [
    // postgres and the backup job: server, client tools (pg_dump, pg_isready), gosu as the official image has
    "postgresql-15",
    "gosu",
    "locales",
    // pgbouncer
    "pgbouncer",
    // backend and s3rver: Node.js (bookworm's 18)
    "nodejs",
    // frontend: nginx, and GNU wget for the stack's `wget -q -O /dev/null` health checks
    "nginx-light",
    "wget",
    // backup job (siemens/postgres-backup-s3 = postgres-alpine + aws CLI + gnupg) and the probe
    "awscli",
    "gnupg",
    "curl",
    "ca-certificates",
    "procps",
    // the edge suite: HAProxy for the Docker API proxy's stand-in (tecnativa/docker-socket-proxy is
    // HAProxy too), openssl for its TLS checks (s_client/s_server)
    "haproxy",
    "openssl",
    // monitoring
    "prometheus",
    "prometheus-alertmanager",
    "prometheus-node-exporter",
    "prometheus-postgres-exporter",
  ],
  dpkgOptions: [
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    // 214 MB of time zone data for Prometheus's web UI, which the rehearsal never opens.
    "path-exclude=/usr/share/javascript/moment-timezone/*",
  ],
  essentialHooks: [
    // The official postgres image's user and group are 999:999; create them before
    // postgresql-common's postinst would pick another id. uid/gid 70 is edoburu/pgbouncer's user.
    'echo "postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/bash" >> "$1/etc/passwd"',
    'echo "postgres:x:999:" >> "$1/etc/group"',
    'if [ -f "$1/etc/shadow" ]; then echo "postgres:*:19000:0:99999:7:::" >> "$1/etc/shadow"; fi',
    'if [ -f "$1/etc/gshadow" ]; then echo "postgres:!::" >> "$1/etc/gshadow"; fi',
    'echo "pgbouncer:x:70:70:PgBouncer (edoburu image uid):/var/lib/pgbouncer:/usr/sbin/nologin" >> "$1/etc/passwd"',
    'echo "pgbouncer:x:70:" >> "$1/etc/group"',
    // No cluster at install time: the entrypoint creates one in PGDATA.
    'mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" > "$1/etc/postgresql-common/createcluster.d/00-rehearsal.conf"',
  ],
  customizeHooks: [
    // As the official image: en_US.UTF-8, listen_addresses='*' in the sample config initdb copies,
    // PGDATA and the socket directory owned by postgres, the init folder present.
    'echo "en_US.UTF-8 UTF-8" > "$1/etc/locale.gen" && chroot "$1" locale-gen',
    `sed -ri "s!^#?(listen_addresses)\\s*=\\s*\\S+.*!\\1 = '*'!" "$1/usr/share/postgresql/15/postgresql.conf.sample"`,
    'mkdir -p "$1/var/lib/postgresql/data" "$1/var/run/postgresql" "$1/docker-entrypoint-initdb.d"',
    'chroot "$1" chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql',
    'chmod 1777 "$1/var/lib/postgresql/data" && chmod 3777 "$1/var/run/postgresql"',
    // Prometheus and Alertmanager images run as nobody with their data folders owned by it, so a
    // fresh named volume mounted there is copied up with that owner.
    'mkdir -p "$1/prometheus" "$1/alertmanager" "$1/var/lib/s3rver" && chroot "$1" chown nobody:nogroup /prometheus /alertmanager',
    'rm -rf "$1/var/cache/apt/archives"/*.deb "$1/var/lib/apt/lists"/*',
  ],
  /** Bump to force a rebuild when something outside this object changes the result. */
  revision: 1,
} as const;

export function baseRecipeHash(): string {
  return createHash("sha256").update(JSON.stringify(BASE_RECIPE)).digest("hex").slice(0, 16);
}

export function cacheDir(): string {
  return process.env.ADVWELL_REHEARSAL_CACHE ?? "/var/cache/advwell-rehearsal";
}

export interface BaseRootfs {
  readonly file: string;
  readonly cached: boolean;
  readonly bytes: number;
}

/** The base tarball: from the cache, or built with mmdebstrap (about 45 s on this machine). */
export function baseRootfs(log: (line: string) => void = () => undefined): BaseRootfs {
  const dir = cacheDir();
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `base-${baseRecipeHash()}.tar`);
  if (fs.existsSync(file)) return { file, cached: true, bytes: fs.statSync(file).size };
  // mmdebstrap picks its output format from the name: keep `.tar` at the end.
  const tmp = `${file.replace(/\.tar$/, "")}.tmp-${process.pid}.tar`;
  const args = [
    `--variant=${BASE_RECIPE.variant}`,
    "--quiet",
    `--include=${BASE_RECIPE.packages.join(",")}`,
    ...BASE_RECIPE.dpkgOptions.map((o) => `--dpkgopt=${o}`),
    ...BASE_RECIPE.essentialHooks.map((h) => `--essential-hook=${h}`),
    ...BASE_RECIPE.customizeHooks.map((h) => `--customize-hook=${h}`),
    BASE_RECIPE.suite,
    tmp,
  ];
  log(`mmdebstrap ${BASE_RECIPE.suite} with ${BASE_RECIPE.packages.length} packages -> ${file}`);
  try {
    execFileSync("mmdebstrap", args, { stdio: ["ignore", "inherit", "inherit"] });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  // Older tarballs of other recipes would only fill the disk.
  for (const f of fs.readdirSync(dir)) if (/^base-[0-9a-f]{16}\.tar$/.test(f) && path.join(dir, f) !== file) fs.rmSync(path.join(dir, f));
  return { file, cached: false, bytes: fs.statSync(file).size };
}

/** A package and every package it requires, as paths relative to the project's node_modules. */
export function packageClosure(names: readonly string[], root = path.join(PROJECT_ROOT, "node_modules")): string[] {
  const found = new Set<string>();
  const visit = (name: string, fromDir: string) => {
    // Node's resolution: the nearest node_modules/<name> from the requiring package up to the root.
    let dir = fromDir;
    let pkgDir: string | undefined;
    for (;;) {
      const candidate = path.join(dir, "node_modules", name);
      if (fs.existsSync(path.join(candidate, "package.json"))) {
        pkgDir = candidate;
        break;
      }
      if (path.resolve(dir) === path.resolve(root, "..")) break;
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    if (!pkgDir) throw new Error(`cannot resolve ${name} from ${fromDir} in the project's node_modules`);
    const rel = path.relative(root, pkgDir);
    if (found.has(rel)) return;
    found.add(rel);
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, pkgDir);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
      try {
        visit(dep, pkgDir);
      } catch {
        // optional and not installed
      }
    }
  };
  for (const n of names) visit(n, path.resolve(root, ".."));
  return [...found].sort();
}

interface FileEntry {
  readonly from: string;
  readonly to: string;
  readonly mode: number;
}

const OUR_FILES: FileEntry[] = [
  { from: "postgres/docker-entrypoint.sh", to: "usr/local/bin/docker-entrypoint.sh", mode: 0o755 },
  { from: "pgbouncer/entrypoint.sh", to: "usr/local/bin/pgbouncer-entrypoint.sh", mode: 0o755 },
  { from: "backend/server.js", to: "standin/backend/server.js", mode: 0o644 },
  { from: "s3rver/server.js", to: "standin/s3rver/server.js", mode: 0o644 },
  { from: "frontend/nginx.conf", to: "etc/nginx/nginx.conf", mode: 0o644 },
  { from: "frontend/index.html", to: "var/www/standin/index.html", mode: 0o644 },
  { from: "probe/traffic.js", to: "standin/probe/traffic.js", mode: 0o644 },
  { from: "docker-socket-proxy/entrypoint.sh", to: "usr/local/bin/docker-socket-proxy-entrypoint.sh", mode: 0o755 },
  { from: "grafana/server.js", to: "standin/grafana/server.js", mode: 0o644 },
  { from: "probe/edge-load.js", to: "standin/probe/edge-load.js", mode: 0o644 },
];

/**
 * Go programs built from the wrappers under tools/ (scripts/build-tools.sh, cached by each folder's
 * hash): Traefik for its stand-in, Pebble and its DNS test server for the edge suite's ACME.
 */
export const GO_TOOLS = { traefik: "traefik", pebble: "pebble", "pebble-challtestsrv": "pebble-challtestsrv" } as const;

/** Paths of the built Go programs (building what the cache lacks: minutes the first time). */
export function goToolBinaries(log: (line: string) => void = () => undefined): Record<keyof typeof GO_TOOLS, string> {
  const out = execFileSync("bash", [path.join(PROJECT_ROOT, "scripts", "build-tools.sh"), ...Object.keys(GO_TOOLS)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const found: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^build-tools: (\S+) \((\S+)\) (built|cached) in \d+ s: (\S+)$/.exec(line);
    if (m) {
      found[m[1]] = m[4];
      log(line);
    }
  }
  for (const name of Object.keys(GO_TOOLS)) if (!found[name]) throw new Error(`scripts/build-tools.sh printed no binary for ${name}:\n${out}`);
  return found as Record<keyof typeof GO_TOOLS, string>;
}

/** Stages our files and the node packages, and tars them as a layer (root-owned). */
function buildFilesLayer(work: string, binaries: Readonly<Record<string, string>>): string {
  const stage = path.join(work, "files");
  const files = [...OUR_FILES.map((f) => ({ ...f, from: path.join(STANDINS, f.from) })), ...Object.entries(binaries).map(([name, from]) => ({ from, to: `usr/local/bin/${name}`, mode: 0o755 }))];
  for (const f of files) {
    const dest = path.join(stage, f.to);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(f.from, dest);
    fs.chmodSync(dest, f.mode);
  }
  const modules = path.join(PROJECT_ROOT, "node_modules");
  for (const rel of packageClosure(["pg", "s3rver"])) {
    fs.cpSync(path.join(modules, rel), path.join(stage, "standin", "node_modules", rel), { recursive: true, dereference: true });
  }
  const layer = path.join(work, "files.tar");
  execFileSync("tar", ["-C", stage, "--owner=0", "--group=0", "--numeric-owner", "--sort=name", "-cf", layer, "."]);
  // The official postgres image has the socket directory (its Dockerfile: /var/run/postgresql,
  // postgres-owned, mode 3777). BASE_RECIPE makes it too, but mmdebstrap empties /run when it
  // finishes, so the base lacks it. The primary's entrypoint creates it as root; the read
  // replica's (containers/postgres/replica-entrypoint.sh) runs as postgres and relies on the image.
  // /var/run is a symlink to /run in the base: the entry goes under run/, keeping the link.
  const runDir = path.join(work, "run-layer");
  fs.mkdirSync(path.join(runDir, "run", "postgresql"), { recursive: true });
  fs.chmodSync(path.join(runDir, "run", "postgresql"), 0o3777);
  execFileSync("tar", ["-C", runDir, "--owner=999", "--group=999", "--numeric-owner", "--no-recursion", "-rf", layer, "./run/postgresql"]);
  return layer;
}

function sha256File(file: string): string {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buffer = Buffer.alloc(8 * 1024 * 1024);
  try {
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

export interface StandinImage {
  readonly ref: string;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly user?: string;
  readonly workingDir?: string;
  readonly env?: readonly string[];
  readonly stopSignal?: string;
  readonly volumes?: readonly string[];
  readonly exposedPorts?: readonly string[];
  /** Which official image this stands in for, for the docs. */
  readonly standsInFor: string;
}

/** Every stand-in image: one config each over the same layers. */
export const STANDIN_IMAGES = {
  postgres: {
    ref: "advwell-standin/postgres:15-standin",
    standsInFor: "postgres:15.x-bookworm (docker-library)",
    entrypoint: ["docker-entrypoint.sh"],
    cmd: ["postgres"],
    env: ["PGDATA=/var/lib/postgresql/data", "PG_MAJOR=15", "LANG=en_US.utf8"],
    stopSignal: "SIGINT",
    volumes: ["/var/lib/postgresql/data"],
    exposedPorts: ["5432/tcp"],
  },
  pgbouncer: {
    ref: "advwell-standin/pgbouncer:1.18-standin",
    standsInFor: "edoburu/pgbouncer:1.23.x",
    entrypoint: ["/usr/local/bin/pgbouncer-entrypoint.sh"],
    cmd: ["/usr/sbin/pgbouncer", "/etc/pgbouncer/pgbouncer.ini"],
    user: "70:70",
    exposedPorts: ["6432/tcp"],
  },
  backend: {
    ref: "advwell-standin/backend:standin-1",
    standsInFor: "tomautomations/advwell-backend (a Node.js/Prisma image)",
    cmd: ["node", "/standin/backend/server.js"],
    workingDir: "/standin/backend",
    exposedPorts: ["3000/tcp"],
  },
  /** A broken release of the backend: the same server, whose /health fails (the rollback drill). */
  backendBroken: {
    ref: "advwell-standin/backend:standin-2-broken",
    standsInFor: "a backend release whose /health fails (the rollback drill)",
    cmd: ["node", "/standin/backend/server.js"],
    workingDir: "/standin/backend",
    env: ["STANDIN_BROKEN_HEALTH=1"],
    exposedPorts: ["3000/tcp"],
  },
  frontend: {
    ref: "advwell-standin/frontend:standin-1",
    standsInFor: "tomautomations/advwell-frontend (an nginx image)",
    cmd: ["nginx", "-g", "daemon off;"],
    stopSignal: "SIGQUIT",
    exposedPorts: ["80/tcp"],
  },
  backup: {
    ref: "advwell-standin/backup:15-standin",
    standsInFor: "siemens/postgres-backup-s3:15",
    cmd: ["bash"],
  },
  prometheus: {
    ref: "advwell-standin/prometheus:2.42-standin",
    standsInFor: "prom/prometheus:v2.55.1",
    entrypoint: ["/usr/bin/prometheus"],
    cmd: ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"],
    user: "nobody",
    workingDir: "/prometheus",
    exposedPorts: ["9090/tcp"],
  },
  alertmanager: {
    ref: "advwell-standin/alertmanager:0.25-standin",
    standsInFor: "prom/alertmanager:v0.27.0",
    entrypoint: ["/usr/bin/prometheus-alertmanager"],
    cmd: ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"],
    user: "nobody",
    workingDir: "/alertmanager",
    exposedPorts: ["9093/tcp"],
  },
  postgresExporter: {
    ref: "advwell-standin/postgres-exporter:0.11-standin",
    standsInFor: "prometheuscommunity/postgres-exporter:v0.16.0",
    entrypoint: ["/usr/bin/prometheus-postgres-exporter"],
    user: "nobody",
    exposedPorts: ["9187/tcp"],
  },
  nodeExporter: {
    ref: "advwell-standin/node-exporter:1.5-standin",
    standsInFor: "prom/node-exporter:v1.8.2",
    entrypoint: ["/usr/bin/prometheus-node-exporter"],
    user: "nobody",
    exposedPorts: ["9100/tcp"],
  },
  /**
   * Traefik v3.2.3 built from its Go module (tools/traefik). The official image's entrypoint
   * prepends `traefik` when the first argument is a flag; here the binary is the entrypoint.
   */
  traefik: {
    ref: "advwell-standin/traefik:v3.2.3-standin",
    standsInFor: "traefik:v3.2.3",
    entrypoint: ["/usr/local/bin/traefik"],
    exposedPorts: ["80/tcp", "443/tcp"],
  },
  /** Debian's HAProxy with the image's section rules (standins/docker-socket-proxy/entrypoint.sh). */
  dockerSocketProxy: {
    ref: "advwell-standin/docker-socket-proxy:0.3.0-standin",
    standsInFor: "tecnativa/docker-socket-proxy:0.3.0",
    entrypoint: ["/usr/local/bin/docker-socket-proxy-entrypoint.sh"],
    // The image's defaults (its Dockerfile ENV): every section closed but EVENTS, PING and VERSION.
    env: ["EVENTS=1", "PING=1", "VERSION=1", "POST=0", "SOCKET_PATH=/var/run/docker.sock"],
    exposedPorts: ["2375/tcp"],
  },
  /** An HTTP server on Grafana's port with its /api/health: routing and certificates only, no Grafana. */
  grafana: {
    ref: "advwell-standin/grafana:11-standin",
    standsInFor: "grafana/grafana:11.3.1 (its port and /api/health only)",
    cmd: ["node", "/standin/grafana/server.js"],
    user: "nobody",
    exposedPorts: ["3000/tcp"],
  },
  /** Let's Encrypt's test ACME server (tools/pebble), validating challenges for real. */
  pebble: {
    ref: "advwell-standin/pebble:2.10.3",
    standsInFor: "nothing: the edge suite's ACME server (Let's Encrypt in production)",
    entrypoint: ["/usr/local/bin/pebble"],
  },
  /** Pebble's DNS test server (tools/pebble-challtestsrv): the edge hosts' addresses for validation. */
  challtestsrv: {
    ref: "advwell-standin/pebble-challtestsrv:2.10.3",
    standsInFor: "nothing: the public DNS the ACME server's validation asks",
    entrypoint: ["/usr/local/bin/pebble-challtestsrv"],
  },
  s3rver: {
    ref: "advwell-standin/s3rver:3.7-standin",
    standsInFor: "AWS S3 (the project's s3rver package)",
    cmd: ["node", "/standin/s3rver/server.js"],
    exposedPorts: ["5000/tcp"],
  },
  probe: {
    ref: "advwell-standin/probe:standin-1",
    standsInFor: "nothing: the rehearsal's own client inside the Swarm (psql, node, curl, aws)",
    // PID 1 ignores SIGTERM unless it traps it: exit at once when the service is removed.
    cmd: ["bash", "-c", "trap 'exit 0' TERM INT; sleep infinity & wait"],
  },
} as const satisfies Record<string, StandinImage>;

export type StandinName = keyof typeof STANDIN_IMAGES;

function imageConfig(image: StandinImage, diffIds: string[]): unknown {
  const config: Record<string, unknown> = {
    Env: [PATH_ENV, ...(image.env ?? [])],
    ...(image.entrypoint ? { Entrypoint: image.entrypoint } : {}),
    ...(image.cmd ? { Cmd: image.cmd } : {}),
    ...(image.user ? { User: image.user } : {}),
    ...(image.workingDir ? { WorkingDir: image.workingDir } : {}),
    ...(image.stopSignal ? { StopSignal: image.stopSignal } : {}),
    ...(image.volumes ? { Volumes: Object.fromEntries(image.volumes.map((v) => [v, {}])) } : {}),
    ...(image.exposedPorts ? { ExposedPorts: Object.fromEntries(image.exposedPorts.map((p) => [p, {}])) } : {}),
    Labels: { "org.advwell.standin-for": image.standsInFor },
  };
  return {
    architecture: "amd64",
    os: "linux",
    created: "2026-01-01T00:00:00Z",
    config,
    rootfs: { type: "layers", diff_ids: diffIds.map((d) => `sha256:${d}`) },
    history: [{ created_by: "mmdebstrap (test/swarm/lib/images.ts BASE_RECIPE)" }, { created_by: "test/swarm/standins" }],
  };
}

/**
 * Builds the files layer and loads every stand-in image into the daemon in one `docker load`.
 * Returns the image references.
 */
export async function loadStandinImages(docker: Docker, base: BaseRootfs, binaries: Readonly<Record<string, string>>): Promise<string[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "advwell-images-"));
  try {
    const files = buildFilesLayer(work, binaries);
    const baseId = sha256File(base.file);
    const filesId = sha256File(files);
    const archive = path.join(work, "archive");
    fs.mkdirSync(path.join(archive, "base"), { recursive: true });
    fs.mkdirSync(path.join(archive, "files"), { recursive: true });
    fs.symlinkSync(base.file, path.join(archive, "base", "layer.tar"));
    fs.symlinkSync(files, path.join(archive, "files", "layer.tar"));
    const manifest = Object.entries(STANDIN_IMAGES).map(([name, image]) => {
      const config = JSON.stringify(imageConfig(image, [baseId, filesId]));
      const configFile = `${createHash("sha256").update(config).digest("hex")}.json`;
      fs.writeFileSync(path.join(archive, configFile), config);
      return { Config: configFile, RepoTags: [image.ref], Layers: ["base/layer.tar", "files/layer.tar"], name };
    });
    fs.writeFileSync(path.join(archive, "manifest.json"), JSON.stringify(manifest.map(({ name: _name, ...m }) => m)));
    // tar -h follows the symlinks, streaming the cached base tarball without copying it.
    const tar = spawn("tar", ["-C", archive, "-chf", "-", "."], { stdio: ["ignore", "pipe", "inherit"] });
    const response = await docker.loadImage(tar.stdout!);
    const output = await new Promise<string>((resolve, reject) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      response.on("end", () => resolve(text));
      response.on("error", reject);
    });
    const errors = output
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as { error?: string })
      .filter((l) => l.error);
    if (errors.length > 0) throw new Error(`docker load failed: ${errors.map((e) => e.error).join("; ")}`);
    const present = new Set((await docker.listImages()).flatMap((i) => i.RepoTags ?? []));
    const missing = Object.values(STANDIN_IMAGES).filter((i) => !present.has(i.ref));
    if (missing.length > 0) throw new Error(`docker load did not create ${missing.map((m) => m.ref).join(", ")}`);
    return Object.values(STANDIN_IMAGES).map((i) => i.ref);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
