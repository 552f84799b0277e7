import type Docker from "dockerode";
import { dockerStatus } from "../../docker-api/client.js";

/**
 * What Swarm sends a routed task to stop it: a signal whose default is to do nothing, so the task keeps serving
 * what it has in flight until greenlight has drained it and sends the real one. Without a running agent Swarm
 * still stops it, by SIGKILL once the stop grace period is over.
 */
export const HELD_STOP_SIGNAL = "SIGCONT";

/** The real stop signal for a held task, as a plain service's container gets it (config.stop_signal). */
export async function sendStopSignal(docker: Docker, id: string, signal: string): Promise<void> {
  await docker
    .getContainer(id)
    .kill({ signal })
    .catch((error: unknown) => {
      // Gone, or already stopped: nothing left to stop.
      if (dockerStatus(error) !== 404 && dockerStatus(error) !== 409) throw error;
    });
}
