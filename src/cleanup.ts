/**
 * Cleanups that must run even when the process dies of a bug or is interrupted: the CLI's crash handler (an uncaught
 * exception or unhandled rejection, src/cli/main.ts) runs every registered task before it exits 70,
 * its SIGINT/SIGTERM handler before it exits 130/143.
 * A module registers what it leaves behind while it works (a prefix lock, a staging directory, a
 * `.part` download) and unregisters it once that is gone. Tasks must be idempotent and quick.
 */

import { setMaxListeners } from 'node:events';

export type CleanupTask = () => void | Promise<void>;

const tasks = new Set<CleanupTask>();
const lastTasks = new Set<CleanupTask>();

const exitController = new AbortController();

/**
 * Aborted when the exit cleanups start: HTTP requests (src/net/http.ts) stop, so a download cannot
 * create or rename a temp file after the task that removes it has run. Stays aborted: the process is
 * about to exit.
 */
export const exitSignal: AbortSignal = exitController.signal;
// One listener per request in flight (src/net/http.ts), per pyc compile, ...: many at once by design,
// so no MaxListenersExceededWarning on the user's terminal during a lock that fetches hundreds of shards.
setMaxListeners(0, exitSignal);

/**
 * Register `task`; the returned function unregisters it (call it once the resource is gone). `last`
 * tasks run once all the others have settled: the prefix lock, so no other install starts while
 * what this one was writing is still being removed.
 */
export function onExitCleanup(task: CleanupTask, opts: { last?: boolean } = {}): () => void {
  const set = opts.last ? lastTasks : tasks;
  set.add(task);
  return () => {
    set.delete(task);
  };
}

let running: Promise<void> | undefined;

/**
 * Run (and forget) every registered task, waiting at most `timeoutMs` for them all. A second call
 * (a crash while an interrupt cleans up) waits for the same run instead of returning at once.
 */
export function runExitCleanups(timeoutMs = 5_000): Promise<void> {
  running ??= runAll(timeoutMs);
  return running;
}

async function runAll(timeoutMs: number): Promise<void> {
  exitController.abort(new Error('the process is exiting'));
  const first = [...tasks];
  const last = [...lastTasks];
  tasks.clear();
  lastTasks.clear();
  const all = (async () => {
    await Promise.allSettled(first.map(async (t) => t()));
    await Promise.allSettled(last.map(async (t) => t()));
  })();
  await settledWithin(all, timeoutMs);
}

/** Number of registered tasks (tests). */
export function pendingExitCleanups(): number {
  return tasks.size + lastTasks.size;
}

/** How long an exit cleanup waits for a writer to settle before removing its file anyway. */
export const EXIT_SETTLE_MS = 2_000;

/**
 * Resolves once `p` has settled, or after `ms`: an exit cleanup lets a writer that may still be
 * creating or renaming its file finish first (downloads are aborted on exit, so theirs settle at once).
 */
export function settledWithin(p: Promise<unknown>, ms = EXIT_SETTLE_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
