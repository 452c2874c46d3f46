/**
 * src/cleanup.ts: the exit cleanups of a signal or a crash. `last` tasks (the prefix lock) run only
 * once the others (partial files, a stage) have settled, and a second caller (a crash during an
 * interrupt) waits for the same run instead of returning before it is done. The exit signal stays
 * aborted afterwards, so this file runs on its own (vitest isolates test files).
 */
import { describe, expect, it } from 'vitest';
import { exitSignal, onExitCleanup, pendingExitCleanups, runExitCleanups } from '../src/cleanup.js';

describe('exit cleanups', () => {
  it('the exit signal takes any number of listeners (one per request in flight) without a MaxListenersExceededWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.name);
    process.on('warning', onWarning);
    const listeners = Array.from({ length: 50 }, () => () => undefined);
    for (const l of listeners) exitSignal.addEventListener('abort', l);
    await new Promise((r) => setTimeout(r, 20));
    for (const l of listeners) exitSignal.removeEventListener('abort', l);
    process.off('warning', onWarning);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('run the lock last, after slower tasks; a second call waits for the same run', async () => {
    const order: string[] = [];
    onExitCleanup(() => void order.push('lock released'), { last: true });
    onExitCleanup(async () => {
      await new Promise((r) => setTimeout(r, 80));
      order.push('partial file removed');
    });
    const forgotten = onExitCleanup(() => void order.push('never'));
    forgotten();
    expect(pendingExitCleanups()).toBe(2);
    const first = runExitCleanups();
    expect(exitSignal.aborted).toBe(true);
    await runExitCleanups(); // the crash handler's call during the interrupt's
    expect(order).toEqual(['partial file removed', 'lock released']);
    await first;
    expect(pendingExitCleanups()).toBe(0);
  });
});
