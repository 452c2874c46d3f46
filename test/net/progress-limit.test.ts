import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { ProgressReporter } from '../../src/net/progress.js';
import { mapLimit } from '../../src/net/limit.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    }),
    { isTTY, columns: 80, cursorTo() {}, clearLine() {}, moveCursor() {} },
  );
  return { stream, text: () => chunks.join('') };
}

describe('ProgressReporter', () => {
  it('prints plain log lines and no bars on a non-TTY stream', () => {
    const s = sink(false);
    const p = new ProgressReporter({ stream: s.stream });
    expect(p.interactive).toBe(false);
    const t = p.task('download zlib', 100);
    t.update(50);
    t.done();
    p.log('fetched 3 subdirs');
    expect(s.text()).toBe('fetched 3 subdirs\n');
  });

  it('prints nothing at all when quiet, even on a TTY', () => {
    const s = sink(true);
    const p = new ProgressReporter({ stream: s.stream, quiet: true });
    const t = p.task('x', 10);
    t.update(10);
    t.done();
    p.log('hello');
    expect(s.text()).toBe('');
  });

  it('draws bars on a TTY and stops when the last task is done', () => {
    const s = sink(true);
    const p = new ProgressReporter({ stream: s.stream });
    const t = p.task('repodata linux-64', 10);
    t.update(5);
    t.update(10, 20);
    t.done();
    expect(p.interactive).toBe(true);
    // cli-progress wrote terminal control sequences (hide/show cursor, redraws) to the stream.
    expect(s.text()).toContain('\u001b[');
  });
});

describe('mapLimit', () => {
  it('keeps order and never exceeds the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, n * 3));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});
