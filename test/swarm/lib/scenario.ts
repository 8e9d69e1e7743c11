/**
 * The checks every deployed stack gets (issue 12, "Assertions on the running stack"), as one jest
 * suite per stack/tier. A stack that cannot be deployed fails every test with the reason.
 */
import type Docker from "dockerode";
import { containerOf, exec } from "./exec";
import { STANDIN_IMAGES } from "./images";
import { convergenceProblems, inspectProblems, labelProblems, missingImageProblems, plannedServices, postgresSettingProblems, serviceState, storedSpecProblems } from "./checks";
import { Deployment, deploy, deployConfig, destroy, objectsOf, PROBE_SERVICE, probeSecretPath, rehearsalDocker, S3_HOST, setAvailability, StackConfig } from "./rehearsal";
import { recordTiming, say, timed } from "./report";

const STANDIN_REFS: ReadonlySet<string> = new Set(Object.values(STANDIN_IMAGES).map((i) => i.ref));

export interface ScenarioOptions {
  readonly stack: string;
  readonly tier?: string;
  /** Extra checks for this tier (PgBouncer on business). */
  readonly extra?: (ctx: ScenarioContext) => void;
}

export interface ScenarioContext {
  readonly docker: Docker;
  deployment(): Deployment;
  /** Runs a shell script in the probe container (inside the Swarm, on every network of the stack). */
  probe(script: string, env?: Record<string, string>, timeoutMs?: number): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** The probe's path of the superuser's password secret. */
  superuserFile(): string;
}

/** The services whose image is one of ours, and those left with the stack's own (absent) image. */
export function splitByStandin(d: Deployment): { withStandin: string[]; without: string[] } {
  const services = objectsOf(d, "service");
  const image = (o: (typeof services)[number]) => String(o.inputs.taskSpec?.containerSpec?.image ?? "");
  return {
    withStandin: services.filter((o) => STANDIN_REFS.has(image(o))).map((o) => o.dockerName),
    without: services.filter((o) => !STANDIN_REFS.has(image(o))).map((o) => o.dockerName),
  };
}

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function describeDeployedStack(title: string, options: ScenarioOptions): void {
  describe(title, () => {
    const docker = rehearsalDocker();
    let d: Deployment | undefined;
    let stack: StackConfig | undefined;
    let setupError: Error | undefined;
    let convergence: Awaited<ReturnType<typeof convergenceProblems>> | undefined;
    let probeContainer = "";
    const label = `${options.stack}${options.tier ? `/${options.tier}` : ""}`;

    const deployment = (): Deployment => {
      if (setupError) throw setupError;
      if (!d) throw new Error("no deployment");
      return d;
    };
    const probe = async (script: string, env: Record<string, string> = {}, timeoutMs = 60_000) => {
      deployment();
      return exec(docker, probeContainer, ["bash", "-c", script], { env: Object.entries(env).map(([k, v]) => `${k}=${v}`), timeoutMs });
    };
    /** The superuser's password file, as the postgres service mounts it (POSTGRES_PASSWORD_FILE). */
    const superuserFile = () => probeSecretPath(deployment(), "postgres", "postgres-superuser-password");
    const ctx: ScenarioContext = { docker, deployment, probe, superuserFile };

    beforeAll(async () => {
      try {
        await setAvailability(docker, "active");
        stack = await deployConfig(docker, options.stack, options.tier);
        const errors = stack.resolved.findings.filter((f) => f.level === "error");
        if (errors.length > 0) throw new Error(`the plan for ${label} with the rehearsal's config has errors: ${errors.map((f) => `${f.key}: ${f.message}`).join("; ")}`);
        const started = Date.now();
        d = await deploy(docker, stack, (fn) => jest.isolateModulesAsync(fn), { log: (l) => say(`${label}: ${l}`) });
        const parts = Object.entries(d.timings).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(", ");
        recordTiming(`${label}: program run, objects created`, Date.now() - started, `${d.objects.length} docker objects; ${parts}`);
        if (d.result.programError) throw d.result.programError;
        if (d.result.failures.length > 0) throw new Error(`the deploy failed, as \`pulumi up\` would: ${d.result.failures.map((f) => `${f.resourceName}: ${f.message}`).join("; ")}`);
        probeContainer = await containerOf(docker, PROBE_SERVICE);
        const { withStandin } = splitByStandin(d);
        const planned = plannedServices(stack.resolved.plan!);
        const services = objectsOf(d, "service")
          .filter((o) => withStandin.includes(o.dockerName))
          .map((o) => ({ id: o.id, dockerName: o.dockerName, expected: planned.get(o.dockerName)?.global ? 1 : (o.inputs.mode?.replicated?.replicas ?? 1) }));
        convergence = await timed(`${label}: convergence of the services with a stand-in`, () => convergenceProblems(docker, services, { timeoutMs: 300_000, stableMs: 30_000, log: (l) => say(`${label}: ${l}`) }), (c) =>
          c.problems.length ? `${c.problems.length} problem(s) after ${(c.convergedAfterMs / 1000).toFixed(0)} s` : `all running and healthy after ${(c.convergedAfterMs / 1000).toFixed(0)} s, then 30 s without a restart`,
        );
      } catch (error) {
        setupError = error as Error;
        say(`${label}: setup failed: ${setupError.message}`);
      }
    });

    afterAll(async () => {
      const started = Date.now();
      const problems = await destroy(docker, d, (l) => say(`${label}: ${l}`));
      recordTiming(`${label}: teardown of the stack`, Date.now() - started, problems.length ? problems.join("; ") : undefined);
    });

    test("Swarm accepts every network, volume, secret, config and service the program creates", () => {
      const dep = deployment();
      expect(dep.result.failures).toEqual([]);
      const kinds = ["network", "volume", "secret", "config", "service"] as const;
      for (const kind of kinds) expect(objectsOf(dep, kind).length).toBeGreaterThan(0);
    });

    test("every service with a stand-in converges: its replicas run and are healthy, and none restarts", () => {
      deployment();
      expect(convergence?.problems ?? ["no convergence result"]).toEqual([]);
    });

    test("every service with a stand-in started cleanly: no task failed before its service converged", () => {
      deployment();
      const failed = (convergence?.states ?? []).filter((s) => s.failedTasks > 0).map((s) => `${s.dockerName}: ${s.failedTasks} task(s) failed before it converged (last: ${s.firstError || s.lastError})`);
      expect(failed).toEqual([]);
    });

    test("services without a stand-in (Traefik, Grafana, cAdvisor) are accepted, and their tasks wait for nothing but their image", async () => {
      const dep = deployment();
      const { without } = splitByStandin(dep);
      // The Docker API proxy's stand-in (HAProxy with the image's rules) runs only in the edge suite.
      expect([...without].sort()).toEqual(["cadvisor", "docker-socket-proxy", "grafana", "traefik"]);
      expect(await missingImageProblems(docker, dep, without)).toEqual([]);
    });

    test("docker service inspect shows the plan's limits, reservations, update and rollback, restart, placement, health check, stop grace and endpoint mode for every service", async () => {
      const dep = deployment();
      const planned = plannedServices(stack!.resolved.plan!);
      const problems: string[] = [];
      for (const o of objectsOf(dep, "service")) {
        const p = planned.get(o.dockerName);
        if (!p) {
          problems.push(`${o.dockerName}: the plan has no such service`);
          continue;
        }
        const inspected = await docker.getService(o.id).inspect();
        problems.push(...inspectProblems(o.dockerName, inspected.Spec, p));
      }
      expect(problems).toEqual([]);
      expect(objectsOf(dep, "service").map((o) => o.dockerName).sort()).toEqual([...planned.keys()].sort());
    });

    test("what Swarm stores does what the plan means: label descriptors, non-zero stop grace, declared volumes, placement labels the nodes carry", async () => {
      const dep = deployment();
      const services = await Promise.all(objectsOf(dep, "service").map(async (o) => ({ dockerName: o.dockerName, spec: (await docker.getService(o.id).inspect()).Spec })));
      const volumes = new Set(objectsOf(dep, "volume").map((v) => v.dockerName));
      expect(storedSpecProblems(services, volumes)).toEqual([]);
      const nodes = ((await docker.listNodes()) as any[]).map((n) => (n.Spec.Labels ?? {}) as Record<string, string>);
      expect(labelProblems(services, nodes)).toEqual([]);
    });

    test("PostgreSQL's settings equal the plan's for the tier, every one from the command line", async () => {
      const dep = deployment();
      expect(await postgresSettingProblems(probe, superuserFile(), stack!.resolved.settings!.databaseName, stack!.resolved.plan!.postgres.settings)).toEqual([]);
      expect(dep.objects.length).toBeGreaterThan(0);
    });

    test("the app role logs in over the network with the password in its Swarm secret, and a wrong password is refused", async () => {
      deployment();
      const s = stack!.resolved.settings!;
      const login = (password: string) =>
        probe(`PGPASSWORD=${password} psql -h postgres -U ${sh(s.databaseUser)} -d ${sh(s.databaseName)} -At -c 'SELECT current_user, current_database()'`);
      // The app role's password as the secret postgres-reconcile applies it from.
      const good = await login(`"$(cat ${probeSecretPath(deployment(), "postgres-reconcile", "postgres-app-password")})"`);
      expect({ exit: good.exitCode, out: good.stdout.trim(), err: good.stderr.trim() }).toEqual({ exit: 0, out: `${s.databaseUser}|${s.databaseName}`, err: "" });
      const bad = await login("not-the-password");
      expect(bad.exitCode).not.toBe(0);
      expect(bad.stderr).toContain(`password authentication failed for user "${s.databaseUser}"`);
    });

    test("the backend reaches PostgreSQL with the URL from its Swarm secret: /health answers 200 on every task, inside the Swarm", async () => {
      const dep = deployment();
      const replicas = objectsOf(dep, "service").find((o) => o.dockerName === "backend")!.inputs.mode.replicated.replicas as number;
      const port = stack!.resolved.plan!.backend.port;
      const out = await probe(`set -e; ips=$(getent ahostsv4 tasks.backend | awk '{print $1}' | sort -u); for ip in $ips; do echo "$ip $(curl -s -m 10 -o /tmp/h -w '%{http_code}' http://$ip:${port}/health) $(cat /tmp/h)"; done`);
      const lines = out.stdout.trim().split("\n").filter(Boolean);
      expect(lines).toHaveLength(replicas);
      for (const line of lines) {
        const [, code, ...body] = line.split(" ");
        expect({ line, code }).toEqual({ line, code: "200" });
        const health = JSON.parse(body.join(" ")) as { ok: boolean; database: string; pgbouncer: boolean };
        const host = stack!.resolved.plan!.backend.databaseHost;
        expect(health).toMatchObject({ ok: true, pgbouncer: host === "pgbouncer" });
        expect(health.database.startsWith(`${host}:`)).toBe(true);
      }
      const migrated = await probe(
        `PGPASSWORD="$(cat ${superuserFile()})" psql -h postgres -U postgres -d ${sh(stack!.resolved.settings!.databaseName)} -At -c "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL; SELECT count(*) > 0 FROM standin_health"`,
      );
      expect(migrated.stdout.trim().split("\n")).toEqual(["0001_standin", "t"]);
    });

    test("a backup run lands a verified object in s3rver: the size and sha256 it recorded, a pg_restore-readable dump of the app's tables", async () => {
      const dep = deployment();
      const backup = stack!.resolved.plan!.backup!;
      const container = await containerOf(docker, "backup");
      const run = await exec(docker, container, ["bash", "/opt/advwell-backup/backup.sh", "run"], { timeoutMs: 300_000 });
      expect({ exit: run.exitCode, stderr: run.stderr.trim() }).toEqual({ exit: 0, stderr: "" });
      const key = /key=s3:\/\/[^/]+\/(\S+)/.exec(run.stdout)?.[1];
      expect(run.stdout).toContain("advwell-backup: ok");
      expect(key?.startsWith(`${backup.prefix}/${backup.stack}/`)).toBe(true);
      const env = { AWS_ACCESS_KEY_ID: dep.aws.accessKeyId, AWS_SECRET_ACCESS_KEY: dep.aws.secretAccessKey, AWS_DEFAULT_REGION: "sa-east-1" };
      const s3 = `aws --endpoint-url http://${S3_HOST}:5000`;
      const check = await probe(
        `set -e; ${s3} s3api head-object --bucket ${dep.aws.bucket} --key ${key} --query '[ContentLength, Metadata.sha256]' --output text; ${s3} s3 cp --only-show-errors s3://${dep.aws.bucket}/${key} /tmp/dump; wc -c < /tmp/dump; sha256sum /tmp/dump | cut -d' ' -f1; if head -c 5 /tmp/dump | grep -q PGDMP; then echo plaintext; else echo ciphertext; fi`,
        env,
        120_000,
      );
      expect(check.stderr).toBe("");
      const [head, size, sha, magic] = check.stdout.trim().split("\n");
      const [remoteSize, remoteSha] = head.split(/\s+/);
      // The object is ciphertext (pg_dump streams into gpg with the stack's key): no dump's PGDMP magic.
      expect({ remoteSize, remoteSha, magic }).toEqual({ remoteSize: size.trim(), remoteSha: sha.trim(), magic: "ciphertext" });
      // Decrypted with the stack's key (the backup container's BACKUP_PASSPHRASE_FILE), it is a dump of the app's tables.
      const restorable = await exec(
        docker,
        container,
        ["bash", "-c", `set -o pipefail; export GNUPGHOME=$(mktemp -d); ${s3} s3 cp --only-show-errors s3://${dep.aws.bucket}/${key} - | gpg --batch --quiet --pinentry-mode loopback --passphrase-file "$BACKUP_PASSPHRASE_FILE" --decrypt | pg_restore --list | grep -c 'TABLE DATA public standin_rows'`],
        { env: Object.entries(env).map(([k, v]) => `${k}=${v}`), timeoutMs: 120_000 },
      );
      expect({ exit: restorable.exitCode, tables: restorable.stdout.trim() }).toEqual({ exit: 0, tables: "1" });
    });

    test("Prometheus scrapes its targets and reports them up where a stand-in runs; postgres-exporter logs in, node-exporter reads the backup metric", async () => {
      const dep = deployment();
      const mplan = stack!.resolved.plan!.monitoring!;
      const { withStandin } = splitByStandin(dep);
      const jobs = mplan.scrapeJobs.filter((j) => withStandin.includes(j.dockerName)).map((j) => j.job);
      const container = await containerOf(docker, "prometheus");
      const get = async (p: string) => JSON.parse((await exec(docker, container, ["wget", "-qO-", `http://127.0.0.1:9090${p}`])).stdout);
      const deadline = Date.now() + 180_000;
      let report: Record<string, string[]> = {};
      for (;;) {
        const targets = (await get("/api/v1/targets")).data.activeTargets as { labels: { job: string }; health: string; lastError: string; scrapeUrl: string }[];
        report = Object.fromEntries(["prometheus", ...jobs].map((job) => [job, targets.filter((t) => t.labels.job === job).map((t) => `${t.health}${t.lastError ? ` (${t.lastError})` : ""}`)]));
        if (Object.values(report).every((list) => list.length > 0 && list.every((h) => h === "up"))) break;
        if (Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 5000));
      }
      const notUp = Object.entries(report).filter(([, list]) => list.length === 0 || list.some((h) => h !== "up"));
      expect(notUp).toEqual([]);
      const pgUp = (await get(`/api/v1/query?query=${encodeURIComponent("pg_up")}`)).data.result.map((r: { value: [number, string] }) => r.value[1]);
      expect(pgUp).toEqual(["1"]);
      // The backup job writes its last-success metric into the textfile volume node-exporter reads.
      const deadline2 = Date.now() + 90_000;
      let backupMetric: unknown[] = [];
      while (backupMetric.length === 0 && Date.now() < deadline2) {
        backupMetric = (await get(`/api/v1/query?query=${encodeURIComponent("advwell_backup_last_success_timestamp_seconds")}`)).data.result;
        if (backupMetric.length === 0) await new Promise((r) => setTimeout(r, 5000));
      }
      expect(backupMetric).toHaveLength(1);
    });

    options.extra?.(ctx);

    test("no service with a stand-in restarted during the checks", async () => {
      const dep = deployment();
      const before = convergence!.states;
      const problems: string[] = [];
      for (const s of before) {
        const o = objectsOf(dep, "service").find((x) => x.dockerName === s.dockerName)!;
        const now = await serviceState(docker, o.id, s.dockerName, s.expected);
        if (now.failedTasks > s.failedTasks || JSON.stringify(now.runningTaskIds) !== JSON.stringify(s.runningTaskIds)) {
          problems.push(`${s.dockerName}: ${s.failedTasks} -> ${now.failedTasks} failed tasks since convergence (${now.lastError})`);
        }
      }
      expect(problems).toEqual([]);
    });
  });
}
