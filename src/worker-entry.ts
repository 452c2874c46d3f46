/**
 * How to start a worker thread on one of our own modules, both from dist/ and from source.
 *
 * From dist/ the entry is plain JS next to the caller. From src/ (the tests, `node --import tsx`) it is
 * TypeScript: a small bootstrap registers tsx's ESM loader inside the worker (a worker's `execArgv`
 * does not carry `--import`, and vitest's transform does not reach worker threads), then imports the
 * .ts entry. Used by the solver (src/solver/parallel.ts) and package extraction
 * (src/install/extract/pool.ts); an error crosses back through serializeError and deserializeError,
 * each caller naming the classes it rebuilds (ErrorMakers).
 */
import { existsSync } from 'node:fs';
import { InstallError, IntegrityError, UnsafeArchiveError } from './errors.js';
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

/** An error as it crosses the thread boundary (custom fields such as `code` would be lost otherwise). */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  stack?: string;
  cause?: SerializedError;
}

export function serializeError(e: unknown, depth = 0): SerializedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const x = e as NodeJS.ErrnoException;
  const out: SerializedError = { name: e.name, message: e.message };
  if (typeof x.code === 'string') out.code = x.code;
  if (typeof x.errno === 'number') out.errno = x.errno;
  if (typeof x.syscall === 'string') out.syscall = x.syscall;
  if (typeof x.path === 'string') out.path = x.path;
  if (typeof e.stack === 'string') out.stack = e.stack;
  if (e.cause !== undefined && depth < 8) out.cause = serializeError(e.cause, depth + 1);
  return out;
}

/** How to rebuild the error classes a worker's caller knows, by name (the rest come back as plain Errors). */
export type ErrorMakers = Record<string, (s: SerializedError, opts: { cause?: Error }) => Error>;

/** Package extraction's classes (src/install/extract/pool.ts). */
const EXTRACT_ERRORS: ErrorMakers = {
  UnsafeArchiveError: (s, opts) => new UnsafeArchiveError(s.message, opts),
  IntegrityError: (s, opts) => new IntegrityError(s.message, opts),
  InstallError: (s, opts) => new InstallError(s.message, { ...opts, code: s.code as NonNullable<ConstructorParameters<typeof InstallError>[1]>['code'] }),
};

/**
 * The error a worker sent (serializeError), as its class when `makers` knows the name; otherwise
 * `other(s)` when given (the solver wraps a bug in SolverWorkerError), else a plain Error keeping the
 * name, code, errno, syscall, path (ENOSPC stays findable for diskFullError) and the worker's stack.
 */
export function deserializeError(s: SerializedError, makers: ErrorMakers = EXTRACT_ERRORS, other?: (s: SerializedError) => Error): Error {
  const cause = s.cause ? deserializeError(s.cause, makers) : undefined;
  const opts = cause ? { cause } : {};
  const make = Object.hasOwn(makers, s.name) ? makers[s.name] : undefined;
  if (make) return make(s, opts);
  if (other) return other(s);
  const e = new Error(s.message, opts) as NodeJS.ErrnoException;
  e.name = s.name;
  if (s.code !== undefined) e.code = s.code;
  if (s.errno !== undefined) e.errno = s.errno;
  if (s.syscall !== undefined) e.syscall = s.syscall;
  if (s.path !== undefined) e.path = s.path;
  // A bug's stack is the worker's, where it happened.
  if (s.stack !== undefined) e.stack = s.stack;
  return e;
}
