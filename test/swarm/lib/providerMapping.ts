/**
 * Pulumi docker provider 5.2.0 inputs -> Docker Engine API request bodies, rule by rule as the
 * provider maps them. @pulumi/docker 5.2.0 bridges kreuzwerker/terraform-provider-docker v4.x
 * (its schema has `init` on the container spec, added in v4.5.0, and `networks_advanced.id`,
 * added in v4.0.0); the sources cited are that repository's `internal/provider/` files at
 * v4.5.0, whose service mapping HEAD still has unchanged:
 *
 *   S = resource_docker_service_structures.go, F = resource_docker_service_funcs.go,
 *   R = resource_docker_service.go (schema and defaults), SEC = resource_docker_secret.go,
 *   CFG = resource_docker_config.go, NET = resource_docker_network_funcs.go,
 *   VOL = resource_docker_volume.go.
 *
 * Two facts of the Terraform plugin SDK shape most rules: a nested block read from the resource
 * data always carries every key of its schema, with the zero value (or the schema default) when
 * the program left it unset; and the provider ignores the error of time.ParseDuration, so an
 * unset or malformed duration is 0. The request body is what Go's encoding/json makes of the
 * Engine API structs: `omitempty` drops zero values of plain fields, a pointer is sent even when
 * it points at zero (StopGracePeriod, RestartPolicy.Delay, Healthcheck, DNSConfig, Init).
 *
 * Anything in the inputs this file does not map throws, naming the field: a program change that
 * uses a new provider field must add its rule here rather than be silently dropped.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Inputs = Record<string, any>;

export class UnmappedFieldError extends Error {}

/** Go's time.ParseDuration, returning 0 where Go returns an error (the provider discards it). */
export function goDurationNs(text: unknown): number {
  if (typeof text !== "string" || text === "") return 0;
  if (text === "0") return 0;
  const units: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, "μs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d*\.?\d+|\d+\.)(ns|us|µs|μs|ms|s|m|h)/gy;
  let sign = 1;
  let rest = text;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "") return 0;
  let total = 0;
  let index = 0;
  re.lastIndex = 0;
  while (index < rest.length) {
    re.lastIndex = index;
    const m = re.exec(rest);
    if (!m || m.index !== index) return 0;
    total += Number(m[1]) * units[m[2]];
    index = re.lastIndex;
  }
  return Math.round(sign * total);
}

function check(obj: Inputs | undefined, known: readonly string[], where: string): void {
  if (!obj) return;
  for (const k of Object.keys(obj)) {
    if (obj[k] === undefined) continue;
    if (!known.includes(k)) throw new UnmappedFieldError(`${where}.${k} has no mapping rule in test/swarm/lib/providerMapping.ts`);
  }
}

/** Go encoding/json `omitempty` for plain fields: "", 0, false, empty list or map are dropped. */
function omitEmpty(obj: Record<string, Json | undefined>, keep: readonly string[] = []): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (!keep.includes(k)) {
      if (v === "" || v === 0 || v === false || v === null) continue;
      if (Array.isArray(v) && v.length === 0) continue;
      if (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    }
    out[k] = v;
  }
  return out;
}

/** labelSetToMap: a [{label, value}] set becomes a map (S createServiceLabels, SEC, CFG, NET, VOL). */
function labelMap(list: unknown): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const l of (list as { label: string; value: string }[] | undefined) ?? []) out[l.label] = l.value;
  return out;
}

const strings = (v: unknown): string[] => ((v as unknown[] | undefined) ?? []).map((x) => String(x));

/**
 * The rules, one line each, as docs/rehearsal.md lists them. Kept next to the code they describe.
 */
export const SERVICE_RULES: readonly string[] = [
  "name -> Spec.Name (S createServiceSpec)",
  "labels [{label,value}] -> Spec.Labels map (S createServiceLabels)",
  "mode.replicated.replicas -> Mode.Replicated.Replicas; replicas defaults to 1 (S createServiceMode, R)",
  "mode.global true -> Mode.Global {} (S createServiceMode); no mode block -> empty Mode (Swarm: replicated 1)",
  "updateConfig / rollbackConfig -> UpdateConfig / RollbackConfig when the block is set (S createServiceUpdateConfig, createUpdateOrRollbackConfig): parallelism (default 1), delay (default 0s), failureAction (default pause), monitor (default 5s), maxFailureRatio string parsed as float (default 0.0), order (default stop-first)",
  "endpointSpec.mode -> EndpointSpec.Mode; ports[] -> Ports {Name, Protocol (default tcp), TargetPort, PublishedPort, PublishMode (default ingress)}; no block -> empty EndpointSpec (S createServiceEndpointSpec, portSetToServicePorts, R)",
  "taskSpec.containerSpec.image/commands/args/hostname/dir/user/groups -> Image/Command/Args/Hostname/Dir/User/Groups (S createContainerSpec)",
  "containerSpec.env map -> Env [\"K=V\"] (S createContainerSpec, mapTypeMapValsToStringSlice; order is Go map order, sorted here)",
  "containerSpec.labels -> ContainerSpec.Labels map (S createContainerSpec)",
  "containerSpec.readOnly -> ReadOnly (S createContainerSpec)",
  "containerSpec.mounts[] -> Mounts {Type, Target, Source, ReadOnly}; bindOptions -> BindOptions.Propagation (default rprivate when the block is set); volumeOptions -> VolumeOptions {NoCopy, Labels, DriverConfig {Name, Options}}; tmpfsOptions -> TmpfsOptions {SizeBytes, Mode} (S createContainerSpec)",
  "containerSpec.stopSignal -> StopSignal (S createContainerSpec)",
  "containerSpec.stopGracePeriod -> StopGracePeriod, always sent: unset or unparsable -> 0 (S createContainerSpec: `parsed, _ := time.ParseDuration(value)`; the schema marks it Computed, so an unset value reaches create as \"\")",
  "containerSpec.healthcheck -> Healthcheck, always sent ({} when the block is unset, so the image's HEALTHCHECK applies): tests -> Test, interval/timeout/startPeriod (default 0s) -> ns, retries (default 0) (S createContainerSpec, R)",
  "containerSpec.hosts[] -> Hosts [\"ip host\"] (S extraHostsSetToServiceExtraHosts)",
  "containerSpec.dnsConfig -> DNSConfig {Nameservers, Search, Options}, always sent ({} when unset) (S createContainerSpec)",
  "containerSpec.secrets[] -> Secrets {SecretID, SecretName, File {Name, UID (default \"0\"), GID (default \"0\"), Mode (default 0o444)}} (S createContainerSpec, R)",
  "containerSpec.configs[] -> Configs {ConfigID, ConfigName, File {Name, UID (default \"0\"), GID (default \"0\"), Mode (default 0o444)}} (S createContainerSpec, R)",
  "containerSpec.isolation -> Isolation (default \"default\") (S createContainerSpec, R)",
  "containerSpec.sysctl -> Sysctls; capAdds/capDrops -> CapabilityAdd/CapabilityDrop (S createContainerSpec)",
  "containerSpec.init -> Init, sent as false when unset on API >= 1.37 (S createContainerSpec, supportsServiceContainerInit)",
  "containerSpec.privileges -> Privileges {CredentialSpec {File; registry also written into File, as the provider does}, SELinuxContext} (S createContainerSpec)",
  "taskSpec.resources.limits {nanoCpus, memoryBytes} -> Resources.Limits {NanoCPUs, MemoryBytes}; reservation -> Resources.Reservations (+ GenericResources) (S createResources)",
  "taskSpec.restartPolicy -> RestartPolicy {Condition, Delay, MaxAttempts, Window}; Delay/MaxAttempts/Window are pointers, so unset means 0 sent (S createRestartPolicy)",
  "taskSpec.placement.constraints -> Placement.Constraints; prefs[] -> Preferences [{Spread {SpreadDescriptor: <the string verbatim>}}]; maxReplicas -> MaxReplicas; platforms -> Platforms (S createPlacement, stringSetToPlacementPrefs)",
  "taskSpec.networksAdvanceds[] -> TaskTemplate.Networks [{Target: id (or name), Aliases, DriverOpts}] (S createServiceAdvancedNetworks)",
  "taskSpec.forceUpdate -> ForceUpdate; runtime -> Runtime; logDriver -> LogDriver {Name, Options} (S createServiceTaskSpec, createLogDriver)",
  "convergeConfig {delay (default 7s), timeout (default 3m)} -> no spec field: after ServiceCreate the provider polls the tasks until running == replicas, deletes the service and fails on timeout (F resourceDockerServiceCreate, resourceDockerServiceCreateRefreshFunc)",
  "ServiceCreate is sent with QueryRegistry=true (F resourceDockerServiceCreate): the client pins the image digest it reads from the registry. NOT reproduced: there is no registry here",
];

export const OTHER_RULES: readonly string[] = [
  "docker.Secret: name -> Name (Pulumi auto-names it <resource name>-<7 hex> when unset), data (base64) -> Data, labels -> Labels (SEC resourceDockerSecretCreate)",
  "docker.ServiceConfig: name -> Name, dataRaw -> Data as bytes, else data decoded from base64 (CFG resourceDockerConfigCreate, getConfigDataBytes)",
  "docker.Network: name, driver, options, internal, attachable, ingress, ipv6, ipam*, labels, each only when set (GetOk) (NET resourceDockerNetworkCreate); CheckDuplicate is set by the Docker client for API < 1.44",
  "docker.Volume: name, driver, driverOpts, labels, each only when set (VOL resourceDockerVolumeCreate); the volume's ID is its name",
  "docker.Provider {host}: which engine the resources that name it are created on",
];

const SERVICE_FIELDS = ["name", "labels", "mode", "updateConfig", "rollbackConfig", "endpointSpec", "taskSpec", "convergeConfig", "auth"];
const TASK_FIELDS = ["containerSpec", "resources", "restartPolicy", "placement", "forceUpdate", "runtime", "networksAdvanceds", "logDriver"];
const CONTAINER_FIELDS = [
  "image", "labels", "commands", "args", "hostname", "env", "dir", "user", "groups", "privileges", "readOnly", "mounts",
  "stopSignal", "stopGracePeriod", "healthcheck", "hosts", "dnsConfig", "secrets", "configs", "isolation", "sysctl", "capAdds", "capDrops", "init",
];

function updateOrRollback(c: Inputs | undefined, where: string): { [key: string]: Json } | undefined {
  if (!c) return undefined;
  check(c, ["parallelism", "delay", "failureAction", "monitor", "maxFailureRatio", "order"], where);
  return omitEmpty(
    {
      Parallelism: c.parallelism ?? 1,
      Delay: goDurationNs(c.delay ?? "0s"),
      FailureAction: c.failureAction ?? "pause",
      Monitor: goDurationNs(c.monitor ?? "5s"),
      MaxFailureRatio: Number.parseFloat(String(c.maxFailureRatio ?? "0.0")) || 0,
      Order: c.order ?? "stop-first",
    },
    ["Parallelism", "MaxFailureRatio"],
  );
}

function fileRef(s: Inputs, idKey: "secretId" | "configId", nameKey: "secretName" | "configName", where: string): { [key: string]: Json } {
  check(s, [idKey, nameKey, "fileName", "fileUid", "fileGid", "fileMode"], where);
  const file = omitEmpty({ Name: s.fileName ?? "", UID: s.fileUid ?? "0", GID: s.fileGid ?? "0", Mode: s.fileMode ?? 0o444 });
  return omitEmpty({
    File: file,
    [idKey === "secretId" ? "SecretID" : "ConfigID"]: s[idKey] ?? "",
    [nameKey === "secretName" ? "SecretName" : "ConfigName"]: s[nameKey] ?? "",
  });
}

function mount(m: Inputs, where: string): { [key: string]: Json } {
  check(m, ["type", "target", "source", "readOnly", "bindOptions", "volumeOptions", "tmpfsOptions"], where);
  let bind: { [key: string]: Json } | undefined;
  if (m.bindOptions) {
    check(m.bindOptions, ["propagation"], `${where}.bindOptions`);
    bind = omitEmpty({ Propagation: m.bindOptions.propagation ?? "rprivate" });
  }
  let volume: { [key: string]: Json } | undefined;
  if (m.volumeOptions) {
    const v = m.volumeOptions;
    check(v, ["noCopy", "labels", "driverName", "driverOptions"], `${where}.volumeOptions`);
    const driver = v.driverName !== undefined || v.driverOptions !== undefined ? omitEmpty({ Name: v.driverName ?? "", Options: v.driverOptions ?? {} }) : undefined;
    volume = omitEmpty({ NoCopy: v.noCopy ?? false, Labels: labelMap(v.labels), DriverConfig: driver });
  }
  let tmpfs: { [key: string]: Json } | undefined;
  if (m.tmpfsOptions) {
    check(m.tmpfsOptions, ["sizeBytes", "mode"], `${where}.tmpfsOptions`);
    tmpfs = omitEmpty({ SizeBytes: m.tmpfsOptions.sizeBytes ?? 0, Mode: m.tmpfsOptions.mode ?? 0 });
  }
  const out = omitEmpty({ Type: m.type ?? "", Source: m.source ?? "", Target: m.target ?? "", ReadOnly: m.readOnly ?? false });
  if (bind) out.BindOptions = bind;
  if (volume) out.VolumeOptions = volume;
  if (tmpfs) out.TmpfsOptions = tmpfs;
  return out;
}

function containerSpec(c: Inputs, where: string, apiVersion: string): { [key: string]: Json } {
  check(c, CONTAINER_FIELDS, where);
  const env = Object.entries((c.env as Record<string, string> | undefined) ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  const health = (c.healthcheck as Inputs | undefined) ?? undefined;
  check(health, ["tests", "interval", "timeout", "startPeriod", "retries", "startInterval"], `${where}.healthcheck`);
  if (health?.startInterval !== undefined) throw new UnmappedFieldError(`${where}.healthcheck.startInterval: the provider's service mapping has no rule for it (S createContainerSpec reads test, interval, timeout, start_period, retries)`);
  const healthcheck = health
    ? omitEmpty({
        Test: strings(health.tests),
        Interval: goDurationNs(health.interval ?? "0s"),
        Timeout: goDurationNs(health.timeout ?? "0s"),
        StartPeriod: goDurationNs(health.startPeriod ?? "0s"),
        Retries: health.retries ?? 0,
      })
    : {};
  const dns = (c.dnsConfig as Inputs | undefined) ?? undefined;
  check(dns, ["nameservers", "search", "options"], `${where}.dnsConfig`);
  let privileges: { [key: string]: Json } | undefined;
  if (c.privileges) {
    const p = c.privileges as Inputs;
    check(p, ["credentialSpec", "seLinuxContext"], `${where}.privileges`);
    privileges = {};
    if (p.credentialSpec) privileges.CredentialSpec = omitEmpty({ File: p.credentialSpec.registry ?? p.credentialSpec.file ?? "" });
    if (p.seLinuxContext) {
      const s = p.seLinuxContext;
      privileges.SELinuxContext = omitEmpty({ Disable: s.disable ?? false, User: s.user ?? "", Role: s.role ?? "", Type: s.type ?? "", Level: s.level ?? "" });
    }
  }
  const out = omitEmpty({
    Image: c.image ?? "",
    Labels: labelMap(c.labels),
    Command: strings(c.commands),
    Args: strings(c.args),
    Hostname: c.hostname ?? "",
    Env: env,
    Dir: c.dir ?? "",
    User: c.user ?? "",
    Groups: strings(c.groups),
    ReadOnly: c.readOnly ?? false,
    Mounts: ((c.mounts as Inputs[] | undefined) ?? []).map((m, i) => mount(m, `${where}.mounts[${i}]`)),
    StopSignal: c.stopSignal ?? "",
    Hosts: ((c.hosts as Inputs[] | undefined) ?? []).map((h) => `${h.ip} ${h.host}`),
    Secrets: ((c.secrets as Inputs[] | undefined) ?? []).map((s, i) => fileRef(s, "secretId", "secretName", `${where}.secrets[${i}]`)),
    Configs: ((c.configs as Inputs[] | undefined) ?? []).map((s, i) => fileRef(s, "configId", "configName", `${where}.configs[${i}]`)),
    Isolation: c.isolation ?? "default",
    Sysctls: (c.sysctl as Record<string, string> | undefined) ?? {},
    CapabilityAdd: strings(c.capAdds),
    CapabilityDrop: strings(c.capDrops),
  });
  // Pointer fields: sent even when they point at a zero value.
  out.StopGracePeriod = goDurationNs(c.stopGracePeriod ?? "");
  out.Healthcheck = healthcheck;
  out.DNSConfig = omitEmpty({ Nameservers: strings(dns?.nameservers), Search: strings(dns?.search), Options: strings(dns?.options) });
  if (privileges) out.Privileges = privileges;
  if (apiVersionAtLeast(apiVersion, "1.37")) out.Init = c.init ?? false;
  return out;
}

export function apiVersionAtLeast(version: string, min: string): boolean {
  const [a1, a2] = version.split(".").map(Number);
  const [b1, b2] = min.split(".").map(Number);
  return a1 > b1 || (a1 === b1 && a2 >= b2);
}

/** The ServiceCreate body for a docker.Service's inputs (secret wrappers already removed). */
export function serviceSpec(inputs: Inputs, apiVersion = "1.41"): { [key: string]: Json } {
  const where = `Service ${inputs.name ?? "?"}`;
  check(inputs, SERVICE_FIELDS, where);
  if (inputs.auth !== undefined) throw new UnmappedFieldError(`${where}.auth: registry auth is not mapped (no registry here)`);
  const t = (inputs.taskSpec as Inputs | undefined) ?? {};
  check(t, TASK_FIELDS, `${where}.taskSpec`);

  const task: { [key: string]: Json } = {};
  if (t.containerSpec) task.ContainerSpec = containerSpec(t.containerSpec, `${where}.taskSpec.containerSpec`, apiVersion);

  const r = (t.resources as Inputs | undefined) ?? {};
  check(r, ["limits", "reservation"], `${where}.taskSpec.resources`);
  const resources: { [key: string]: Json } = {};
  if (r.limits) {
    check(r.limits, ["nanoCpus", "memoryBytes"], `${where}.taskSpec.resources.limits`);
    resources.Limits = omitEmpty({ NanoCPUs: r.limits.nanoCpus ?? 0, MemoryBytes: r.limits.memoryBytes ?? 0 });
  }
  if (r.reservation) {
    check(r.reservation, ["nanoCpus", "memoryBytes", "genericResources"], `${where}.taskSpec.resources.reservation`);
    const g = r.reservation.genericResources as Inputs | undefined;
    const generic: Json[] = [
      ...strings(g?.namedResourcesSpecs).map((s) => ({ NamedResourceSpec: { Kind: s.split("=")[0], Value: s.split("=")[1] } })),
      ...strings(g?.discreteResourcesSpecs).map((s) => ({ DiscreteResourceSpec: { Kind: s.split("=")[0], Value: Number.parseInt(s.split("=")[1], 10) || 0 } })),
    ];
    resources.Reservations = omitEmpty({ NanoCPUs: r.reservation.nanoCpus ?? 0, MemoryBytes: r.reservation.memoryBytes ?? 0, GenericResources: generic });
  }
  task.Resources = resources;

  const rp = t.restartPolicy as Inputs | undefined;
  check(rp, ["condition", "delay", "maxAttempts", "window"], `${where}.taskSpec.restartPolicy`);
  task.RestartPolicy = rp
    ? { ...omitEmpty({ Condition: rp.condition ?? "" }), Delay: goDurationNs(rp.delay ?? ""), MaxAttempts: rp.maxAttempts ?? 0, Window: goDurationNs(rp.window ?? "") }
    : {};

  const p = (t.placement as Inputs | undefined) ?? {};
  check(p, ["constraints", "prefs", "maxReplicas", "platforms"], `${where}.taskSpec.placement`);
  task.Placement = omitEmpty({
    Constraints: strings(p.constraints),
    Preferences: strings(p.prefs).map((descriptor) => ({ Spread: { SpreadDescriptor: descriptor } })),
    MaxReplicas: p.maxReplicas ?? 0,
    Platforms: ((p.platforms as Inputs[] | undefined) ?? []).map((x) => ({ Architecture: x.architecture ?? "", OS: x.os ?? "" })),
  });

  const networks = ((t.networksAdvanceds as Inputs[] | undefined) ?? []).map((n, i) => {
    check(n, ["id", "name", "aliases", "driverOpts"], `${where}.taskSpec.networksAdvanceds[${i}]`);
    const target = n.id || n.name;
    if (!target) throw new Error(`${where}: network 'name' or 'id' must be specified (S createServiceAdvancedNetworks)`);
    const driverOpts = Object.fromEntries(strings(n.driverOpts).map((o) => [o.split("=")[0], o.split("=").slice(1).join("=")]));
    return omitEmpty({ Target: target, Aliases: strings(n.aliases), DriverOpts: driverOpts });
  });
  if (networks.length > 0) task.Networks = networks;
  if (t.forceUpdate) task.ForceUpdate = t.forceUpdate;
  if (t.runtime) task.Runtime = t.runtime;
  if (t.logDriver) task.LogDriver = omitEmpty({ Name: t.logDriver.name ?? "", Options: t.logDriver.options ?? {} });

  const spec: { [key: string]: Json } = omitEmpty({ Name: inputs.name ?? "", Labels: labelMap(inputs.labels) });
  spec.TaskTemplate = task;

  const mode = inputs.mode as Inputs | undefined;
  check(mode, ["replicated", "global"], `${where}.mode`);
  if (mode?.global === true) spec.Mode = { Global: {} };
  else if (mode?.replicated) spec.Mode = { Replicated: { Replicas: mode.replicated.replicas ?? 1 } };
  else spec.Mode = {};

  const update = updateOrRollback(inputs.updateConfig, `${where}.updateConfig`);
  if (update) spec.UpdateConfig = update;
  const rollback = updateOrRollback(inputs.rollbackConfig, `${where}.rollbackConfig`);
  if (rollback) spec.RollbackConfig = rollback;

  const e = (inputs.endpointSpec as Inputs | undefined) ?? {};
  check(e, ["mode", "ports"], `${where}.endpointSpec`);
  spec.EndpointSpec = omitEmpty({
    Mode: e.mode ?? "",
    Ports: ((e.ports as Inputs[] | undefined) ?? []).map((port, i) => {
      check(port, ["name", "protocol", "targetPort", "publishedPort", "publishMode"], `${where}.endpointSpec.ports[${i}]`);
      return omitEmpty({
        Name: port.name ?? "",
        Protocol: port.protocol ?? "tcp",
        TargetPort: port.targetPort ?? 0,
        PublishedPort: port.publishedPort ?? 0,
        PublishMode: port.publishMode ?? "ingress",
      });
    }),
  });
  return spec;
}

/** convergeConfig as the provider reads it (S createConvergeConfig; defaults from R). */
export function convergeConfig(inputs: Inputs): { delayMs: number; timeoutMs: number; timeoutRaw: string } | undefined {
  const c = inputs.convergeConfig as Inputs | undefined;
  if (!c) return undefined;
  check(c, ["delay", "timeout"], `Service ${inputs.name}.convergeConfig`);
  const timeoutRaw = c.timeout ?? "3m";
  return { delayMs: goDurationNs(c.delay ?? "7s") / 1e6, timeoutMs: goDurationNs(timeoutRaw) / 1e6, timeoutRaw };
}

export function secretSpec(inputs: Inputs, name: string): { [key: string]: Json } {
  check(inputs, ["name", "data", "labels"], `Secret ${name}`);
  const data = Buffer.from(String(inputs.data ?? ""), "base64").toString("base64");
  return omitEmpty({ Name: name, Data: data, Labels: labelMap(inputs.labels) });
}

export function configSpec(inputs: Inputs): { [key: string]: Json } {
  check(inputs, ["name", "data", "dataRaw", "labels"], `ServiceConfig ${inputs.name}`);
  const bytes = inputs.dataRaw !== undefined && inputs.dataRaw !== "" ? Buffer.from(String(inputs.dataRaw), "utf8") : Buffer.from(String(inputs.data ?? ""), "base64");
  return omitEmpty({ Name: inputs.name ?? "", Data: bytes.toString("base64"), Labels: labelMap(inputs.labels) });
}

export function networkSpec(inputs: Inputs): { [key: string]: Json } {
  check(inputs, ["name", "driver", "options", "internal", "attachable", "ingress", "ipv6", "ipamDriver", "ipamConfigs", "ipamOptions", "labels"], `Network ${inputs.name}`);
  const out = omitEmpty({
    Name: inputs.name ?? "",
    CheckDuplicate: true,
    Driver: inputs.driver ?? "",
    Options: inputs.options ?? {},
    Internal: inputs.internal ?? false,
    Attachable: inputs.attachable ?? false,
    Ingress: inputs.ingress ?? false,
    Labels: labelMap(inputs.labels),
  });
  if (inputs.ipv6) out.EnableIPv6 = true;
  if (inputs.ipamDriver || inputs.ipamConfigs || inputs.ipamOptions) {
    out.IPAM = omitEmpty({
      Driver: inputs.ipamDriver ?? "",
      Config: ((inputs.ipamConfigs as Inputs[] | undefined) ?? []).map((c) => omitEmpty({ Subnet: c.subnet ?? "", IPRange: c.ipRange ?? "", Gateway: c.gateway ?? "", AuxAddress: c.auxAddress ?? {} })),
      Options: inputs.ipamOptions ?? {},
    });
  }
  return out;
}

export function volumeSpec(inputs: Inputs): { [key: string]: Json } {
  check(inputs, ["name", "driver", "driverOpts", "labels"], `Volume ${inputs.name}`);
  return omitEmpty({ Name: inputs.name ?? "", Driver: inputs.driver ?? "", DriverOpts: inputs.driverOpts ?? {}, Labels: labelMap(inputs.labels) });
}
