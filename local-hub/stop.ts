import { readHubInfo } from "./hubInfo";

/**
 * Sends SIGTERM to the hub named by hub.json and waits until it has exited (its pid is gone). False when no hub
 * runs for this state dir. A process cannot await another's exit, so this polls the pid every 50 ms.
 */
export async function stopHub(stateDir: string, timeoutMs = 30_000): Promise<boolean> {
  const info = readHubInfo(stateDir);
  if (!info || !isAlive(info.pid)) return false;
  process.kill(info.pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (isAlive(info.pid)) {
    if (Date.now() > deadline)
      throw new Error(`the hub (pid ${info.pid}) did not exit within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
