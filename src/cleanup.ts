/**
 * Cleanups that must run even when the process dies of a bug or is interrupted: the CLI's crash handler (an uncaught
 * exception or unhandled rejection, src/cli/main.ts) runs every registered task before it exits 70,
 * its SIGINT/SIGTERM handler before it exits 130/143.
 * A module registers what it leaves behind while it works (a prefix lock, a staging directory, a
 * `.part` download) and unregisters it once that is gone. Tasks must be idempotent and quick.
 */

export type CleanupTask = () => void | Promise<void>;

const tasks = new Set<CleanupTask>();

const exitController = new AbortController();

/**
 * Aborted when the exit cleanups start: HTTP requests (src/net/http.ts) stop, so a download cannot
 * create or rename a temp file after the task that removes it has run. Stays aborted: the process is
 * about to exit.
 */
export const exitSignal: AbortSignal = exitController.signal;

/** Register `task`; the returned function unregisters it (call it once the resource is gone). */
export function onExitCleanup(task: CleanupTask): () => void {
  tasks.add(task);
  return () => {
    tasks.delete(task);
  };
}

/** Run (and forget) every registered task, waiting at most `timeoutMs` for them all. */
export async function runExitCleanups(timeoutMs = 5_000): Promise<void> {
  exitController.abort(new Error('the process is exiting'));
  const all = [...tasks].reverse();
  tasks.clear();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([Promise.allSettled(all.map(async (t) => t())), deadline]);
  clearTimeout(timer);
}

/** Number of registered tasks (tests). */
export function pendingExitCleanups(): number {
  return tasks.size;
}
