/**
 * Synchronous file-system work that still lets the event loop run: the extractor (SafeWriter) and the
 * linker make their calls synchronously (a thread-pool round trip per call cost more than the call),
 * and call `maybe()` between them, which gives the loop a turn (setImmediate) once they have held it
 * for `everyMs`: a signal's cleanup, the progress line and the downloads are not held up.
 */
export class LoopTurns {
  private last = performance.now();

  constructor(private readonly everyMs = 20) {}

  async maybe(): Promise<void> {
    if (performance.now() - this.last > this.everyMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.last = performance.now();
    }
  }
}
