/**
 * Error model shared by every module.
 *
 * Each failure kind has its own class with a stable `code` string. The CLI maps
 * the class's `exitCode` to the process exit status (documented in docs/exit-codes.md).
 * Messages name the file, package or URL at fault and, where possible, say what to do.
 */

export const ExitCode = {
  ok: 0,
  /** `check` found a stale lockfile, `verify` found a mismatch, `diff --exit-code` found changes. */
  failed: 1,
  usage: 2,
  input: 3,
  unsatisfiable: 4,
  network: 5,
  integrity: 6,
  lockfile: 7,
  install: 8,
  internal: 70,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class CondaGoLockError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: ExitCodeValue;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface CodedErrorOptions {
  /** A more specific stable code than the class default (e.g. E_LOCKFILE_SCHEMA). */
  code?: string;
  cause?: unknown;
}

/** An error kind whose instances may carry a more specific code than the kind's default. */
export abstract class CodedError extends CondaGoLockError {
  readonly code: string;
  constructor(message: string, defaultCode: string, opts: CodedErrorOptions = {}) {
    super(message, { cause: opts.cause });
    this.code = opts.code ?? defaultCode;
  }
}

/** Wrong command-line usage: unknown flag, unknown platform name, missing argument. */
export class UsageError extends CondaGoLockError {
  readonly code = 'E_USAGE';
  readonly exitCode = ExitCode.usage;
}

/** Where in an input file a problem sits. Lines and columns are 1-based. */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

export function formatLocation(loc: SourceLocation): string {
  let s = loc.file;
  if (loc.line !== undefined) {
    s += `:${loc.line}`;
    if (loc.column !== undefined) s += `:${loc.column}`;
  }
  return s;
}

/** A malformed input: environment.yml, go.mod, a version or match spec. */
export class InputError extends CondaGoLockError {
  readonly code: string;
  readonly exitCode = ExitCode.input;
  readonly location?: SourceLocation;
  constructor(message: string, opts: { code?: string; location?: SourceLocation; cause?: unknown } = {}) {
    super(opts.location ? `${formatLocation(opts.location)}: ${message}` : message, { cause: opts.cause });
    this.code = opts.code ?? 'E_INPUT';
    this.location = opts.location;
  }
}

/** A version string that is not a valid conda version. */
export class InvalidVersionError extends CondaGoLockError {
  readonly code = 'E_INVALID_VERSION';
  readonly exitCode = ExitCode.input;
}

/** A version spec or match spec that cannot be parsed. */
export class InvalidSpecError extends CondaGoLockError {
  readonly code = 'E_INVALID_SPEC';
  readonly exitCode = ExitCode.input;
}

/** A requested package name that no configured channel has for the platform. */
export class PackageNotFoundError extends CondaGoLockError {
  readonly code = 'E_PACKAGE_NOT_FOUND';
  readonly exitCode = ExitCode.unsatisfiable;
}

/** The solver proved that the specs cannot be satisfied; message holds the explanation tree. */
export class UnsatisfiableError extends CondaGoLockError {
  readonly code = 'E_UNSATISFIABLE';
  readonly exitCode = ExitCode.unsatisfiable;
}

/** HTTP failure after retries: status code, reset, timeout, truncated body, unreachable host. */
export class NetworkError extends CodedError {
  readonly exitCode = ExitCode.network;
  readonly url?: string;
  readonly status?: number;
  constructor(message: string, opts: CodedErrorOptions & { url?: string; status?: number } = {}) {
    super(message, 'E_NETWORK', opts);
    this.url = opts.url;
    this.status = opts.status;
  }
}

/** `--offline` and the cache does not hold what is needed. */
export class OfflineCacheMissError extends CondaGoLockError {
  readonly code = 'E_OFFLINE_CACHE_MISS';
  readonly exitCode = ExitCode.network;
}

/** Downloaded bytes do not match the pinned size / sha256 / md5. */
export class IntegrityError extends CondaGoLockError {
  readonly code = 'E_INTEGRITY';
  readonly exitCode = ExitCode.integrity;
}

/** An archive that is corrupt or hostile (path traversal, escaping links). */
export class UnsafeArchiveError extends CondaGoLockError {
  readonly code = 'E_UNSAFE_ARCHIVE';
  readonly exitCode = ExitCode.integrity;
}

/** A lockfile that cannot be read, fails its schema, or is stale. */
export class LockfileError extends CodedError {
  readonly exitCode = ExitCode.lockfile;
  constructor(message: string, opts: CodedErrorOptions = {}) {
    super(message, 'E_LOCKFILE', opts);
  }
}

/** Installing into a prefix failed (locked by another process, clobber refused, link failure). */
export class InstallError extends CodedError {
  readonly exitCode = ExitCode.install;
  constructor(message: string, opts: CodedErrorOptions = {}) {
    super(message, 'E_INSTALL', opts);
  }
}

/** Go release metadata has no archive for the platform, or no release matches the spec. */
export class GoToolchainError extends CodedError {
  readonly exitCode = ExitCode.unsatisfiable;
  constructor(message: string, opts: CodedErrorOptions = {}) {
    super(message, 'E_GO_TOOLCHAIN', opts);
  }
}
