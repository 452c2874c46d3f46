/**
 * Package extraction on worker threads, so a cold install extracts as many packages at once as the
 * machine has cores.
 *
 * The extractor's file-system calls are synchronous (safe-writer.ts): on one thread that makes a
 * cold install one core of file creation, decompression and hashing while the native
 * `unzip | zstd | tar` pipeline runs two processes at a time. Each worker runs the same
 * `extractPackage()` (worker.ts) on its own core; the main thread keeps the downloads, the linking and
 * everything else. Results (statistics, digests, modes) come back by structured clone; errors are
 * rebuilt as the same classes with the same codes and causes (ENOSPC stays findable for
 * diskFullError), so callers see what an in-process extraction would have thrown.
 *
 * Workers start on first use and hold the event loop only while they have a job (an idle pool never
 * keeps the process alive); one pool serves the process (`extractPool()`), so consecutive installs
 * in one process (the tests, a library user) do not pay their start-up again. They are terminated by
 * `close()` or, when the process is interrupted, by an exit cleanup (src/cleanup.ts), so nothing
 * writes into a temporary tree after its cleanup; a job whose worker died fails with E_EXTRACT_IO.
 * `CONDA_GO_LOCK_EXTRACT_WORKERS=0` extracts in-process.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import { onExitCleanup } from '../../cleanup.js';
import { InstallError } from '../../errors.js';
import { deserializeError, workerEntry, type SerializedError } from '../../worker-entry.js';
import type { ExtractResult } from './index.js';

/** Worker threads to use: $CONDA_GO_LOCK_EXTRACT_WORKERS, else the cores (at most 4); 0 or 1 core = in-process. */
export function extractWorkerCount(env: NodeJS.ProcessEnv = process.env): number {
  const forced = env.CONDA_GO_LOCK_EXTRACT_WORKERS;
  if (forced !== undefined && /^\d+$/.test(forced)) return Math.min(Number(forced), 16);
  const cores = availableParallelism();
  return cores <= 1 ? 0 : Math.min(cores, 4);
}

interface Job {
  archive: string;
  dest: string;
  resolve: (r: ExtractResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  /** The worker's module has loaded (it said `ready`). */
  online: boolean;
  job?: Job;
}

/** A new extraction worker (worker.ts beside this module; src/worker-entry.ts). */
export function newExtractWorker(): Worker {
  const entry = workerEntry(import.meta.url, 'worker');
  // SHARE_ENV: the extractor reads $CONDA_GO_LOCK_BZIP2 / $CONDA_GO_LOCK_ZSTD as this thread sees them now.
  return new Worker(entry.target, { eval: entry.eval, env: SHARE_ENV });
}

export class ExtractPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private forgetCleanup: (() => void) | undefined;
  private closed = false;
  /**
   * Set when a worker cannot be created or fails before it is running (worker threads unavailable,
   * its module does not load): from then on jobs are extracted in-process, as the solver's
   * parallel.ts falls back too. A job its worker never started is run in-process as well.
   */
  private broken = false;
  private running = 0;

  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether extraction fell back to this thread (see `broken`). */
  get inProcess(): boolean {
    return this.broken;
  }

  constructor(
    readonly size: number,
    /** Makes a worker (tests inject one that cannot start). */
    private readonly createWorker: () => Worker = newExtractWorker,
  ) {}

  /**
   * Start up to `n` workers now, before there is a job for them: a cold install calls this as soon
   * as it knows how many packages it will extract, so the workers' start-up (a Node.js thread, the
   * extractor's modules, the zstd WASM) overlaps the downloads instead of following the first one.
   * Idle workers never hold the event loop.
   */
  prestart(n: number = this.size): void {
    while (!this.closed && !this.broken && this.slots.length < Math.min(n, this.size)) {
      let slot: Slot;
      try {
        slot = this.spawn();
      } catch {
        this.broken = true;
        return;
      }
      slot.worker.unref();
    }
  }

  /** Extract `archive` into `dest` on a worker (same contract as extractPackage). */
  run(archive: string, dest: string): Promise<ExtractResult> {
    if (this.closed) return Promise.reject(stopped(archive));
    return new Promise<ExtractResult>((resolve, reject) => {
      this.queue.push({ archive, dest, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      if (this.broken) {
        this.runHere(this.queue.shift()!);
        continue;
      }
      let slot = this.slots.find((s) => s.job === undefined);
      if (!slot && this.slots.length < this.size) {
        try {
          slot = this.spawn();
        } catch {
          this.broken = true;
          continue;
        }
      }
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.job = job;
      this.busy(+1);
      slot.worker.ref();
      slot.worker.postMessage({ archive: job.archive, dest: job.dest });
    }
  }

  /** Only a pool with work holds an exit cleanup (and, through ref(), the event loop). */
  private busy(delta: number): void {
    this.running += delta;
    if (this.running > 0) this.forgetCleanup ??= onExitCleanup(() => this.close());
    else {
      this.forgetCleanup?.();
      this.forgetCleanup = undefined;
    }
  }

  private runHere(job: Job): void {
    this.busy(+1);
    import('./index.js')
      .then(({ extractPackage }) => extractPackage(job.archive, job.dest))
      .then(job.resolve, job.reject)
      .finally(() => this.busy(-1));
  }

  private spawn(): Slot {
    const worker = this.createWorker();
    const slot: Slot = { worker, online: false };
    this.slots.push(slot);
    const settle = (): Job | undefined => {
      const job = slot.job;
      slot.job = undefined;
      if (job) this.busy(-1);
      return job;
    };
    worker.on('message', (m: { ready?: true; result?: ExtractResult; error?: SerializedError }) => {
      if (m.ready) {
        slot.online = true;
        return;
      }
      worker.unref();
      const job = settle();
      if (job) {
        if (m.error) job.reject(deserializeError(m.error));
        else job.resolve(m.result!);
      }
      this.dispatch();
    });
    let gone = false;
    const lost = (why: string) => {
      if (gone) return;
      gone = true;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const job = settle();
      if (!slot.online && !this.closed) {
        // Never ran: nothing of the job was written; extract here from now on.
        this.broken = true;
        if (job) this.runHere(job);
      } else {
        job?.reject(new InstallError(`cannot extract ${job.archive}: the extraction worker ${why}`, { code: 'E_EXTRACT_IO' }));
      }
      if (!this.closed) this.dispatch();
      void worker.terminate();
    };
    worker.on('error', (e) => lost(`failed (${e instanceof Error ? e.message : String(e)})`));
    worker.on('messageerror', (e) => lost(`sent an unreadable answer (${e instanceof Error ? e.message : String(e)})`));
    worker.on('exit', (code) => lost(`exited (status ${code})`));
    return slot;
  }

  /** Stop the workers; queued and running jobs fail. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(stopped(job.archive));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.forgetCleanup?.();
    this.forgetCleanup = undefined;
  }
}

function stopped(archive: string): InstallError {
  return new InstallError(`cannot extract ${archive}: the extraction workers were stopped`, { code: 'E_EXTRACT_IO' });
}

let shared: ExtractPool | undefined;

/**
 * The process's extraction pool, or undefined when extraction stays in-process
 * (extractWorkerCount() is 0). A pool closed by an interrupt is replaced on the next call.
 */
export function extractPool(): ExtractPool | undefined {
  const size = extractWorkerCount();
  if (size === 0) return undefined;
  if (!shared || shared.isClosed || shared.size !== size) {
    void shared?.close();
    shared = new ExtractPool(size);
  }
  return shared;
}

/**
 * For `install` as it starts, before its modules load and the lockfile is read: one worker when the
 * package cache holds no extraction at all (a CI machine, a first install), where the install will
 * surely extract. (With extractions cached, the install starts what it needs once it has its plan:
 * a worker started for nothing cost a warm install ~0.1 s.)
 */
export async function prestartForColdCache(cacheDir: string | undefined): Promise<void> {
  const dir = cacheDir ?? (await import('../../repodata/cache.js')).defaultCacheDir();
  if (!existsSync(join(dir, 'extracted'))) extractPool()?.prestart(1);
}
