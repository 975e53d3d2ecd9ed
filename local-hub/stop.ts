import { findRunningHub, isAlive } from "./runningHub";

/**
 * Sends SIGTERM to the hub running on the state dir and waits until it has exited. False when no hub runs there.
 * A process cannot await another's exit, so this looks at the pid every 50 ms.
 */
export async function stopHub(stateDir: string, timeoutMs = 30_000): Promise<boolean> {
  const info = findRunningHub(stateDir);
  if (!info) return false;
  process.kill(info.pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (isAlive(info.pid)) {
    if (Date.now() > deadline)
      throw new Error(`the hub (pid ${info.pid}) did not exit within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
