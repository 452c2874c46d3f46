/**
 * Synchronous file-system work that still lets the event loop run: the extractor (SafeWriter) and the
 * linker make their calls synchronously (a thread-pool round trip per call cost more than the call),
 * and call `maybe()` between them, which gives the loop a turn (setImmediate) once they have held it
 * for `everyMs`: a signal's cleanup, the progress line and the downloads are not held up.
 */
import { exitSignal } from './cleanup.js';
import { InstallError } from './errors.js';

export class LoopTurns {
  private last = performance.now();

  /**
   * `signal`: once aborted, `maybe()` throws an InstallError instead of going on (default: the
   * process's exitSignal, so an extraction or a linking on the main thread stops within a turn of an
   * interrupt, and the exit cleanup that waits for it removes a tree nobody writes into any more).
   */
  constructor(
    private readonly everyMs = 20,
    private readonly signal: AbortSignal = exitSignal,
  ) {}

  /**
   * A promise of the turn when one is due, else nothing (no promise for the thousands of calls that
   * need none). Throws once the signal is aborted, then or after the turn.
   */
  maybe(): Promise<void> | undefined {
    if (performance.now() - this.last > this.everyMs) return this.turn();
    this.check();
    return undefined;
  }

  private async turn(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.last = performance.now();
    this.check();
  }

  private check(): void {
    if (this.signal.aborted) throw new InstallError('stopped: the process is exiting', { code: 'E_EXTRACT_IO' });
  }
}
