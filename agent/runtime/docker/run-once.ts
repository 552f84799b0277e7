import type Docker from "dockerode";
import { GreenlightError } from "../../../shared/errors.js";
import { dockerMessage } from "../../docker-api/client.js";
import type { OutputLine } from "../../engine/ports.js";
import { LABEL, removeContainer } from "./containers.js";
import { followLogs } from "./logs.js";

export interface OnceSpec {
  /** The container's name: one per service, so a leftover is found and replaced. */
  name: string;
  service: string;
  image: string;
  command: string[];
  release: string;
  deployId: string;
  env: Record<string, string>;
  volumes: string[];
  network: string;
  user?: string;
  workingDir?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Runs a command to its end in a new container (the release phase), streaming its output, then removes the
 * container. A timeout or a cancel kills it. The container carries the service's label and its role, so a
 * leftover from an agent that died meanwhile is recognised and removed by the next run or reconcile.
 */
export async function runOnce(
  docker: Docker,
  spec: OnceSpec,
  onLine: OutputLine,
): Promise<{ exitCode: number; timedOut: boolean }> {
  await removeContainer(docker, spec.name, 0);
  let container: Docker.Container;
  try {
    container = await docker.createContainer({
      name: spec.name,
      Image: spec.image,
      Cmd: spec.command,
      Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      Labels: {
        [LABEL.service]: spec.service,
        [LABEL.release]: spec.release,
        [LABEL.deploy]: spec.deployId,
        [LABEL.role]: "release",
      },
      ...(spec.user ? { User: spec.user } : {}),
      ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
      HostConfig: { Binds: spec.volumes, NetworkMode: spec.network, RestartPolicy: { Name: "no" } },
    });
    await container.start();
  } catch (error) {
    await removeContainer(docker, spec.name, 0).catch(() => undefined);
    throw new GreenlightError(
      "RELEASE_COMMAND_FAILED",
      `could not start the release command: ${dockerMessage(error)}`,
    );
  }
  const stopOutput = await followLogs(docker, container.id, onLine).catch(() => () => undefined);
  let timedOut = false;
  const kill = () => {
    timedOut = true;
    void container.kill().catch(() => undefined);
  };
  const deadline = setTimeout(kill, spec.timeoutMs);
  const cancel = () => void container.kill().catch(() => undefined);
  spec.signal?.addEventListener("abort", cancel, { once: true });
  try {
    const waited = (await container.wait()) as { StatusCode?: number };
    // The last lines can trail the exit a little; the log stream ends on its own once they are read.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return { exitCode: waited.StatusCode ?? -1, timedOut };
  } finally {
    clearTimeout(deadline);
    spec.signal?.removeEventListener("abort", cancel);
    stopOutput();
    await removeContainer(docker, spec.name, 0).catch(() => undefined);
  }
}
