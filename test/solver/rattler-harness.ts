/**
 * Reference solves with rattler (the @conda-org/rattler WASM build, a devDependency), offline.
 *
 * rattler runs in one long-lived worker thread (rattler-worker.mjs) that serves local repodata
 * through an overridden `fetch`. Requests are serialised; a WASM panic ends only the worker, is
 * reported as `{ ok: false, panic: true }`, and the next request starts a new worker.
 *
 * Used by test/solver/differential*.test.ts and bench/solve.ts.
 */
import { Worker } from 'node:worker_threads';

/** A virtual package offered to the solver (`__glibc 2.28`, `__osx 11.0`, `__unix 0`, ...). */
export interface RattlerVirtualPackage {
  name: string;
  version: string;
  build?: string;
  build_number?: number;
}

/** A record rattler should prefer (rattler_solve's locked_packages; not forced). */
export interface RattlerLockedRecord {
  name: string;
  version: string;
  build: string;
  build_number?: number;
  subdir: string;
  /** File name in the channel subdir (the url is built from it). */
  fn: string;
  depends?: string[];
}

/** One package of rattler's solution. */
export interface RattlerRecord {
  name: string;
  version: string;
  build: string;
  build_number?: number;
  subdir?: string;
  url: string;
  fn: string;
  depends: string[];
}

export type RattlerResult =
  | {
      ok: true;
      records: RattlerRecord[];
      /** wall time inside the worker, fetch+parse+solve */
      ms: number;
      /** URLs rattler fetched during this solve (all answered from local files or 404). */
      requested: string[];
    }
  | {
      ok: false;
      error: string;
      /** Not an answer from the solver: a WASM panic, the worker dying, or the timeout. */
      panic?: boolean;
      ms: number;
      requested?: string[];
    };

interface WorkerReply {
  id?: number | null;
  ready?: boolean;
  ok?: boolean;
  records?: RattlerRecord[];
  requested?: string[];
  error?: string;
  panic?: boolean;
  ms?: number;
}

const workerUrl = new URL('./rattler-worker.mjs', import.meta.url);

export interface RattlerSolverOptions {
  /** Per-solve limit; the worker is terminated and restarted when it is exceeded. Default 120 s. */
  timeoutMs?: number;
}

export class RattlerSolver {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private pending: { id: number; worker: Worker; resolve: (r: RattlerResult) => void } | null = null;
  private readonly timeoutMs: number;
  /** How many workers were started (1 + restarts after panics/timeouts). */
  workersStarted = 0;

  constructor(opts: RattlerSolverOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 120_000;
  }

  /**
   * Solve `specs` for `subdir` (+ noarch) against the channel whose repodata lives in
   * `channelDir/<subdir>/repodata.json` (an array: several channels, highest priority first; rattler
   * applies strict channel priority). Unsatisfiable specs, unknown names and panics all give
   * `{ ok: false, error }`.
   */
  solve(
    specs: string[],
    channelDir: string | string[],
    subdir: string,
    virtualPackages: RattlerVirtualPackage[] = [],
    opts: { locked?: RattlerLockedRecord[] } = {},
  ): Promise<RattlerResult> {
    const run = this.queue.then(() => this.run(specs, channelDir, subdir, virtualPackages, opts.locked ?? []));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Start the worker and load the WASM module without solving anything. */
  async warmUp(): Promise<void> {
    await this.start();
    this.worker?.unref();
  }

  /** Stop the worker (idempotent). */
  async close(): Promise<void> {
    await this.queue;
    const w = this.worker;
    this.worker = null;
    this.ready = null;
    if (w) await w.terminate();
  }

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    const worker = new Worker(workerUrl);
    this.worker = worker;
    this.workersStarted++;
    this.ready = new Promise<void>((resolve, reject) => {
      const onReady = (m: WorkerReply) => {
        if (m.ready) {
          worker.off('message', onReady);
          resolve();
        }
      };
      worker.on('message', onReady);
      worker.once('error', reject);
    });
    worker.on('message', (m: WorkerReply) => {
      if (m.ready) return;
      const p = this.pending;
      if (m.panic) this.forget(worker); // it is exiting: the next solve needs a new worker
      if (!p || p.worker !== worker || (m.id !== p.id && m.id !== null)) return;
      this.pending = null;
      p.resolve(
        m.ok
          ? { ok: true, records: m.records ?? [], ms: m.ms ?? 0, requested: m.requested ?? [] }
          : { ok: false, error: m.error ?? 'unknown rattler error', panic: m.panic, ms: m.ms ?? 0, requested: m.requested },
      );
    });
    const onGone = (why: string) => {
      this.forget(worker);
      const p = this.pending;
      if (p && p.worker === worker) {
        this.pending = null;
        p.resolve({ ok: false, error: `rattler worker ended: ${why}`, panic: true, ms: 0 });
      }
    };
    worker.on('error', (e) => onGone(String(e)));
    worker.on('exit', (code) => onGone(`exit code ${code}`));
    // The worker stays referenced while it starts and while a solve is in flight, and is unref'd
    // when idle so that an unclosed solver does not keep the process alive.
    return this.ready;
  }

  private forget(worker: Worker): void {
    if (this.worker === worker) {
      this.worker = null;
      this.ready = null;
    }
  }

  private async run(
    specs: string[],
    channelDir: string | string[],
    subdir: string,
    virtualPackages: RattlerVirtualPackage[],
    locked: RattlerLockedRecord[],
  ): Promise<RattlerResult> {
    await this.start();
    const worker = this.worker!;
    const id = this.nextId++;
    worker.ref();
    try {
      return await new Promise<RattlerResult>((resolve) => {
        const timer = setTimeout(() => {
          if (this.pending?.id === id) {
            this.pending = null;
            resolve({ ok: false, error: `rattler timed out after ${this.timeoutMs} ms`, panic: true, ms: this.timeoutMs });
            this.forget(worker);
            void worker.terminate();
          }
        }, this.timeoutMs);
        this.pending = {
          id,
          worker,
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        worker.postMessage({
          id,
          specs,
          channelDir,
          subdir,
          virtualPackages: virtualPackages.map((v) => ({
            name: v.name,
            version: v.version,
            build: v.build ?? '0',
            build_number: v.build_number ?? 0,
          })),
          locked: locked.map((r) => ({
            name: r.name,
            version: r.version,
            build: r.build,
            build_number: r.build_number ?? 0,
            subdir: r.subdir,
            fn: r.fn,
            depends: r.depends ?? [],
          })),
        });
      });
    } finally {
      worker.unref();
    }
  }
}

let shared: RattlerSolver | null = null;

/** Solve with a process-wide shared rattler worker (see RattlerSolver.solve). */
export function rattlerSolve(
  specs: string[],
  channelDir: string | string[],
  subdir: string,
  virtualPackages: RattlerVirtualPackage[] = [],
): Promise<RattlerResult> {
  shared ??= new RattlerSolver();
  return shared.solve(specs, channelDir, subdir, virtualPackages);
}

/** Stop the shared worker started by rattlerSolve(). */
export async function closeRattler(): Promise<void> {
  const s = shared;
  shared = null;
  if (s) await s.close();
}
