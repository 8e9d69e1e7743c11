/** `docker exec` through the Engine API: probes run inside the Swarm, never from the host. */
import { PassThrough } from "stream";
import type Docker from "dockerode";

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function exec(
  docker: Docker,
  containerId: string,
  cmd: readonly string[],
  options: { readonly env?: readonly string[]; readonly user?: string; readonly timeoutMs?: number; readonly stdin?: string } = {},
): Promise<ExecResult> {
  const container = docker.getContainer(containerId);
  const e = await container.exec({
    Cmd: [...cmd],
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: options.stdin !== undefined,
    Env: options.env ? [...options.env] : undefined,
    User: options.user,
  });
  const stream = await e.start({ hijack: true, stdin: options.stdin !== undefined });
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
  err.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
  docker.modem.demuxStream(stream, out, err);
  if (options.stdin !== undefined) {
    stream.write(options.stdin);
    // Half-close so the command sees EOF on stdin.
    (stream as any).end?.();
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error(`exec ${cmd.join(" ")} in ${containerId.slice(0, 12)} did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    stream.on("end", () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  let exitCode: number | null = null;
  for (let i = 0; i < 50 && exitCode === null; i++) {
    const info = await e.inspect();
    if (!info.Running) exitCode = info.ExitCode;
    else await new Promise((r) => setTimeout(r, 100));
  }
  return { exitCode: exitCode ?? -1, stdout, stderr };
}

/** The running container of a service's task (the first one when several run). */
export async function containerOf(docker: Docker, serviceName: string): Promise<string> {
  const containers = await docker.listContainers({ filters: JSON.stringify({ label: [`com.docker.swarm.service.name=${serviceName}`], status: ["running"] }) });
  if (containers.length === 0) throw new Error(`no running container for service ${serviceName}`);
  return containers[0].Id;
}

/** The last lines of a container's output. */
export async function containerLogs(docker: Docker, containerId: string, tail = 20): Promise<string> {
  try {
    const buffer = (await docker.getContainer(containerId).logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
    // Multiplexed frames: 8-byte headers before each chunk.
    const lines: string[] = [];
    let offset = 0;
    while (offset + 8 <= buffer.length) {
      const size = buffer.readUInt32BE(offset + 4);
      lines.push(buffer.subarray(offset + 8, offset + 8 + size).toString("utf8"));
      offset += 8 + size;
    }
    return lines.join("").trim();
  } catch (error) {
    return `(no logs: ${(error as Error).message})`;
  }
}
