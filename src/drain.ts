/** Waiting for a writable stream (Node's or streamx's) to take more: its 'drain', or its 'close'. */

interface DrainableStream {
  readonly destroyed: boolean;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/** Resolves on the stream's next 'drain' or 'close' (at once when it is already destroyed). */
export function drainedOrClosed(stream: DrainableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    if (stream.destroyed) done();
  });
}
