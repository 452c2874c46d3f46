/**
 * Solve several platforms at the same time, each in its own worker thread.
 *
 * `solve` is synchronous CPU work; run on the main thread, a multi-platform lock would solve one
 * platform after another. Here every request goes to a worker (at most `maxWorkers` at once, by
 * default one per CPU), so platforms are solved in parallel. Errors come back as the same error
 * classes `solve` throws. Where worker threads cannot start, it falls back to solving in-process.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { deserializeError, workerEntry, type ErrorMakers, type SerializedError, type WorkerEntry } from '../worker-entry.js';
import type { MatchSpec } from '../conda/matchspec.js';
import type { PackageRecord, RepoDataRecord } from '../conda/record.js';
import { CondaGoLockError, PackageNotFoundError, UnsatisfiableError } from '../errors.js';
import { solve, SolverTimeoutError, type SolveOptions, type SolveResult, type SolveStats } from './index.js';

export interface WorkerRequest {
  id: number;
  specs: string[];
  records: RepoDataRecord[];
  virtualPackages: PackageRecord[];
  channels?: string[];
  channelPriority?: 'strict' | 'flexible' | 'disabled';
  locked?: RepoDataRecord[];
  pinned?: string[];
  timeoutMs?: number;
  platform?: string;
}

export type WorkerResponse =
  | { id: number; ok: true; records: RepoDataRecord[]; stats: SolveStats }
  | { id: number; ok: false; error: SerializedError };

/** An error from the worker that is none of the known kinds (a bug): keeps the worker's stack. */
export class SolverWorkerError extends CondaGoLockError {
  readonly code = 'E_SOLVER_WORKER';
}

/** The solver's errors as `solve` throws them; anything else from a worker is a bug (SolverWorkerError, with its stack). */
const SOLVER_ERRORS: ErrorMakers = {
  UnsatisfiableError: (s) => new UnsatisfiableError(s.message),
  PackageNotFoundError: (s) => new PackageNotFoundError(s.message),
  SolverTimeoutError: (s) => new SolverTimeoutError(s.message),
};

function rehydrate(s: SerializedError): Error {
  return deserializeError(s, SOLVER_ERRORS, (bug) => {
    const err = new SolverWorkerError(`${bug.name}: ${bug.message}`);
    if (bug.stack) err.stack = bug.stack;
    return err;
  });
}

function toRequest(id: number, o: SolveOptions): WorkerRequest {
  return {
    id,
    specs: o.specs.map((s: MatchSpec) => s.toString()),
    records: o.records,
    virtualPackages: o.virtualPackages,
    channels: o.channels,
    channelPriority: o.channelPriority,
    locked: o.locked,
    pinned: o.pinned?.map((s) => s.toString()),
    timeoutMs: o.timeoutMs,
    platform: o.platform,
  };
}

function runInWorker(entry: WorkerEntry, req: WorkerRequest): Promise<SolveResult> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const worker = new Worker(entry.target, { eval: entry.eval });
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.once('message', (res: WorkerResponse) =>
      finish(() => (res.ok ? resolve({ records: res.records, stats: res.stats }) : reject(rehydrate(res.error)))),
    );
    worker.once('error', (err) => finish(() => reject(err)));
    worker.once('exit', (code) =>
      finish(() => reject(new SolverWorkerError(`solver worker exited with code ${code} before answering`))),
    );
    worker.postMessage(req);
  });
}

export interface ParallelOptions {
  /** Workers at once (default: `defaultWorkerCount`). 0 solves in-process, one after another. */
  maxWorkers?: number;
}

/**
 * Below this many candidate records in all, starting workers (each loads the solver and receives a
 * copy of its records) costs more than solving one platform after another on the main thread.
 */
export const WORKER_THRESHOLD_RECORDS = 20_000;

/** One worker per CPU when there are several sizeable solves; in-process otherwise. */
export function defaultWorkerCount(requests: readonly SolveOptions[]): number {
  if (requests.length < 2) return 0;
  const total = requests.reduce((n, r) => n + r.records.length, 0);
  return total >= WORKER_THRESHOLD_RECORDS ? Math.max(1, availableParallelism()) : 0;
}

/**
 * Solve every request; results in request order. The first failure rejects (after the other
 * solves settle, so no worker is left running).
 */
export async function solveInWorkers(requests: SolveOptions[], opts: ParallelOptions = {}): Promise<SolveResult[]> {
  const maxWorkers = opts.maxWorkers ?? defaultWorkerCount(requests);
  if (maxWorkers === 0 || requests.length === 0) return requests.map((r) => solve(r));
  const entry = workerEntry(import.meta.url, 'solve-worker');
  const results: Array<PromiseSettledResult<SolveResult>> = new Array(requests.length);
  let next = 0;
  const lane = async () => {
    while (next < requests.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await runInWorker(entry, toRequest(i, requests[i]!)) };
      } catch (err) {
        // A worker that could not start at all (no worker support): solve this one in-process.
        if (err instanceof Error && /ERR_WORKER|Cannot find module|ERR_MODULE_NOT_FOUND/.test(`${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`)) {
          try {
            results[i] = { status: 'fulfilled', value: solve(requests[i]!) };
          } catch (inner) {
            results[i] = { status: 'rejected', reason: inner };
          }
        } else {
          results[i] = { status: 'rejected', reason: err };
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(maxWorkers, requests.length) }, lane));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<SolveResult>).value);
}
