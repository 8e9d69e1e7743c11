/**
 * The harness's copy of the docker provider's field mapping (lib/providerMapping.ts), rule by rule
 * on small inputs. No daemon needed; it runs with the rest of `npm run test:swarm`.
 */
import { configSpec, convergeConfig, goDurationNs, networkSpec, secretSpec, serviceSpec, UnmappedFieldError, volumeSpec } from "./lib/providerMapping";

const minimal = (containerSpec: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) => ({
  name: "svc",
  taskSpec: { containerSpec: { image: "img:1", ...containerSpec } },
  ...rest,
});

describe("Go durations, as time.ParseDuration with the error ignored", () => {
  test.each([
    ["10s", 10e9],
    ["1m30s", 90e9],
    ["500ms", 5e8],
    ["1h", 3600e9],
    ["1.5s", 1.5e9],
    ["0s", 0],
    ["", 0],
    ["10", 0],
    ["ten seconds", 0],
  ])("%p -> %p ns", (text, ns) => {
    expect(goDurationNs(text)).toBe(ns);
  });
});

describe("service spec", () => {
  test("an unset stop grace period is sent as 0, not left out (S createContainerSpec ignores the parse error)", () => {
    expect(serviceSpec(minimal()).TaskTemplate).toMatchObject({ ContainerSpec: { StopGracePeriod: 0 } });
    expect(serviceSpec(minimal({ stopGracePeriod: "120s" })).TaskTemplate).toMatchObject({ ContainerSpec: { StopGracePeriod: 120e9 } });
  });

  test("placement preferences become spread descriptors verbatim, whatever their text", () => {
    const spec = serviceSpec(minimal({}, { taskSpec: { containerSpec: { image: "i:1" }, placement: { prefs: ["spread=node.labels.a", "node.labels.b"] } } }));
    expect((spec.TaskTemplate as any).Placement.Preferences).toEqual([{ Spread: { SpreadDescriptor: "spread=node.labels.a" } }, { Spread: { SpreadDescriptor: "node.labels.b" } }]);
  });

  test("a health check is always sent: {} when unset, durations in ns and the schema's 0 defaults when set", () => {
    expect((serviceSpec(minimal()).TaskTemplate as any).ContainerSpec.Healthcheck).toEqual({});
    expect((serviceSpec(minimal({ healthcheck: { tests: ["CMD", "true"], interval: "10s" } })).TaskTemplate as any).ContainerSpec.Healthcheck).toEqual({ Test: ["CMD", "true"], Interval: 10e9 });
  });

  test("secrets and configs default to uid/gid 0 and mode 0444; env becomes K=V; Init is false on API 1.37+ and absent before", () => {
    const c = (serviceSpec(minimal({ env: { B: "2", A: "1" }, secrets: [{ secretId: "s1", secretName: "n1", fileName: "f" }], configs: [{ configId: "c1", configName: "m1", fileName: "/x", fileMode: 0o555 }] })).TaskTemplate as any).ContainerSpec;
    expect(c.Env).toEqual(["A=1", "B=2"]);
    expect(c.Secrets).toEqual([{ File: { Name: "f", UID: "0", GID: "0", Mode: 0o444 }, SecretID: "s1", SecretName: "n1" }]);
    expect(c.Configs).toEqual([{ File: { Name: "/x", UID: "0", GID: "0", Mode: 0o555 }, ConfigID: "c1", ConfigName: "m1" }]);
    expect(c.Init).toBe(false);
    expect(c.Isolation).toBe("default");
    expect(c.DNSConfig).toEqual({});
    expect((serviceSpec(minimal(), "1.36").TaskTemplate as any).ContainerSpec.Init).toBeUndefined();
  });

  test("restart policy pointers are sent even when unset inside a set block; update config takes the schema's defaults", () => {
    const spec = serviceSpec(minimal({}, { taskSpec: { containerSpec: { image: "i:1" }, restartPolicy: { condition: "any" } }, updateConfig: { order: "start-first" } }));
    expect((spec.TaskTemplate as any).RestartPolicy).toEqual({ Condition: "any", Delay: 0, MaxAttempts: 0, Window: 0 });
    expect(spec.UpdateConfig).toEqual({ Parallelism: 1, FailureAction: "pause", Monitor: 5e9, MaxFailureRatio: 0, Order: "start-first" });
  });

  test("mode, endpoint spec, networks and mounts", () => {
    const spec = serviceSpec({
      name: "svc",
      mode: { global: true },
      endpointSpec: { mode: "dnsrr", ports: [{ targetPort: 80, publishedPort: 80, publishMode: "host" }] },
      taskSpec: {
        containerSpec: { image: "i:1", mounts: [{ type: "bind", source: "/", target: "/rootfs", readOnly: true, bindOptions: { propagation: "rslave" } }, { type: "tmpfs", target: "/dev/shm", tmpfsOptions: { sizeBytes: 1024 } }] },
        networksAdvanceds: [{ id: "net1", aliases: ["a"] }],
      },
    });
    expect(spec.Mode).toEqual({ Global: {} });
    expect(spec.EndpointSpec).toEqual({ Mode: "dnsrr", Ports: [{ Protocol: "tcp", TargetPort: 80, PublishedPort: 80, PublishMode: "host" }] });
    expect((spec.TaskTemplate as any).Networks).toEqual([{ Target: "net1", Aliases: ["a"] }]);
    expect((spec.TaskTemplate as any).ContainerSpec.Mounts).toEqual([
      { Type: "bind", Source: "/", Target: "/rootfs", ReadOnly: true, BindOptions: { Propagation: "rslave" } },
      { Type: "tmpfs", Target: "/dev/shm", TmpfsOptions: { SizeBytes: 1024 } },
    ]);
  });

  test("a field with no mapping rule throws, naming it", () => {
    expect(() => serviceSpec(minimal({ tty: true }))).toThrow(UnmappedFieldError);
    expect(() => serviceSpec(minimal({ tty: true }))).toThrow("Service svc.taskSpec.containerSpec.tty has no mapping rule");
  });

  test("convergeConfig defaults to a 7 s delay and a 3 m timeout", () => {
    expect(convergeConfig(minimal())).toBeUndefined();
    expect(convergeConfig(minimal({}, { convergeConfig: {} }))).toEqual({ delayMs: 7000, timeoutMs: 180000, timeoutRaw: "3m" });
  });
});

describe("other resources", () => {
  test("secret, config, network and volume bodies", () => {
    expect(secretSpec({ data: Buffer.from("pw").toString("base64"), labels: [{ label: "l", value: "v" }] }, "s-1234567")).toEqual({ Name: "s-1234567", Data: "cHc=", Labels: { l: "v" } });
    expect(configSpec({ name: "c", dataRaw: "text" })).toEqual({ Name: "c", Data: Buffer.from("text").toString("base64") });
    expect(networkSpec({ name: "n", driver: "overlay", internal: true, attachable: false })).toEqual({ Name: "n", CheckDuplicate: true, Driver: "overlay", Internal: true });
    expect(volumeSpec({ name: "v", driver: "local" })).toEqual({ Name: "v", Driver: "local" });
  });
});
