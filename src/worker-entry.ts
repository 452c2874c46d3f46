/**
 * How to start a worker thread on one of our own modules, both from dist/ and from source.
 *
 * From dist/ the entry is plain JS next to the caller. From src/ (the tests, `node --import tsx`) it is
 * TypeScript: a small bootstrap registers tsx's ESM loader inside the worker (a worker's `execArgv`
 * does not carry `--import`, and vitest's transform does not reach worker threads), then imports the
 * .ts entry. Used by the solver (src/solver/parallel.ts) and package extraction
 * (src/install/extract/pool.ts).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export interface WorkerEntry {
  /** A module URL, or bootstrap source code run with `eval: true`. */
  target: URL | string;
  eval: boolean;
}

/** The worker entry `name` (without extension) beside the module at `callerUrl` (its import.meta.url). */
export function workerEntry(callerUrl: string, name: string): WorkerEntry {
  if (!callerUrl.endsWith('.ts')) return { target: new URL(`./${name}.js`, callerUrl), eval: false };
  // require.resolve finds tsx's CommonJS API; its ES module twin beside it registers the loader.
  const cjs = createRequire(callerUrl).resolve('tsx/esm/api');
  const mjs = cjs.replace(/\.cjs$/, '.mjs');
  const tsxApi = pathToFileURL(existsSync(mjs) ? mjs : cjs).href;
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const code = `(async () => { const m = await import(${JSON.stringify(tsxApi)}); (m.register ?? m.default.register)(); await import(${JSON.stringify(entry)}); })().catch((e) => { throw e; });`;
  return { target: code, eval: true };
}
