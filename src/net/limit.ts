/**
 * Concurrency helpers on p-limit.
 */
import pLimit, { type LimitFunction } from 'p-limit';

export type { LimitFunction };

/** A limiter running at most `concurrency` tasks at once. */
export function createLimit(concurrency: number): LimitFunction {
  return pLimit(Math.max(1, Math.floor(concurrency)));
}

/** `Promise.all(items.map(fn))` with at most `concurrency` calls of `fn` in flight; results keep input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const limit = createLimit(concurrency);
  return Promise.all(items.map((item, i) => limit(() => fn(item, i))));
}
