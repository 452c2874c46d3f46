/**
 * Error model shared by every module.
 *
 * Each failure kind has its own class; each error carries a stable `code` from ERROR_CODES, and the
 * code decides the process exit status (documented per code in docs/exit-codes.md, which
 * test/errors.test.ts checks against this table). Messages name the file, package or URL at fault
 * and, where possible, say what to do.
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

/**
 * Every stable error code and the exit status it ends the CLI with.
 *
 * Adding a code is one line here, in its status's group (alphabetical, so parallel additions rarely
 * touch the same line), plus its row in docs/exit-codes.md. An error class only accepts the codes of
 * its own status (see CodeOf), so a code cannot be thrown with two different exit statuses.
 */
export const ERROR_CODES = {
  // 1: the command ran and found a problem (printed by `check` / `verify`, not thrown)
  E_STALE_LOCKFILE: ExitCode.failed,
  E_VERIFY_FAILED: ExitCode.failed,

  // 2: wrong usage
  E_USAGE: ExitCode.usage,

  // 3: malformed input
  E_CHANNEL_ENV_UNSET: ExitCode.input,
  E_DUPLICATE_GO: ExitCode.input,
  E_ENV_CHANNEL: ExitCode.input,
  E_ENV_EMPTY: ExitCode.input,
  E_ENV_GO: ExitCode.input,
  E_ENV_INVALID: ExitCode.input,
  E_ENV_NOT_ENVIRONMENT: ExitCode.input,
  E_ENV_PIP: ExitCode.input,
  E_ENV_PIP_FILE: ExitCode.input,
  E_ENV_PIP_OPTION: ExitCode.input,
  E_ENV_PIP_REQUIREMENT: ExitCode.input,
  E_ENV_PIP_URL: ExitCode.input,
  E_ENV_READ: ExitCode.input,
  E_ENV_SCHEMA: ExitCode.input,
  E_ENV_SELECTOR: ExitCode.input,
  E_ENV_SPEC: ExitCode.input,
  E_ENV_VIRTUAL_PACKAGE: ExitCode.input,
  E_GOMOD_READ: ExitCode.input,
  E_GO_SPEC: ExitCode.input,
  E_INPUT: ExitCode.input,
  E_INVALID_CHANNEL: ExitCode.input,
  E_INVALID_SPEC: ExitCode.input,
  E_INVALID_VERSION: ExitCode.input,
  E_NO_CHANNELS: ExitCode.input,
  E_PYPI_MAPPING: ExitCode.input,
  E_PYPI_MARKER: ExitCode.input,
  E_PYPI_NO_PYTHON: ExitCode.input,
  E_PYPI_REQUIREMENT: ExitCode.input,
  E_PYPI_SPECIFIER: ExitCode.input,
  E_PYPI_VERSION: ExitCode.input,
  E_PYPI_WHEEL_NAME: ExitCode.input,
  E_PYPROJECT: ExitCode.input,
  E_REPODATA_INVALID: ExitCode.input,
  E_TOML: ExitCode.input,
  E_VIRTUAL_SPEC: ExitCode.input,
  E_YAML: ExitCode.input,

  // 4: nothing satisfies the request
  E_GO_NO_ARCHIVE: ExitCode.unsatisfiable,
  E_GO_NO_MATCH: ExitCode.unsatisfiable,
  E_GO_NO_SHA256: ExitCode.unsatisfiable,
  E_GO_PLATFORM: ExitCode.unsatisfiable,
  E_GO_RELEASES: ExitCode.unsatisfiable,
  E_GO_TOOLCHAIN: ExitCode.unsatisfiable,
  E_GO_VERSION: ExitCode.unsatisfiable,
  E_PACKAGE_NOT_FOUND: ExitCode.unsatisfiable,
  E_SOLVER_TIMEOUT: ExitCode.unsatisfiable,
  E_UNSATISFIABLE: ExitCode.unsatisfiable,

  // 5: network
  E_BAD_RESPONSE: ExitCode.network,
  E_CHANNEL_NOT_FOUND: ExitCode.network,
  E_CONNECTION: ExitCode.network,
  E_HTTP_AUTH: ExitCode.network,
  E_HTTP_STATUS: ExitCode.network,
  E_NETWORK: ExitCode.network,
  E_NOT_FOUND: ExitCode.network,
  E_OFFLINE_CACHE_MISS: ExitCode.network,
  E_REDIRECT: ExitCode.network,
  E_TIMEOUT: ExitCode.network,
  E_TOO_SLOW: ExitCode.network,
  E_TRUNCATED: ExitCode.network,

  // 6: integrity
  E_INTEGRITY: ExitCode.integrity,
  E_UNSAFE_ARCHIVE: ExitCode.integrity,

  // 7: lockfile
  E_LOCKFILE: ExitCode.lockfile,
  E_LOCKFILE_FOREIGN: ExitCode.lockfile,
  E_LOCKFILE_IMPORT: ExitCode.lockfile,
  E_LOCKFILE_INVALID: ExitCode.lockfile,
  E_LOCKFILE_NOT_FOUND: ExitCode.lockfile,
  E_LOCKFILE_PLATFORM: ExitCode.lockfile,
  E_LOCKFILE_READ: ExitCode.lockfile,
  E_LOCKFILE_SCHEMA: ExitCode.lockfile,
  E_LOCKFILE_VERSION: ExitCode.lockfile,
  E_LOCKFILE_WRITE: ExitCode.lockfile,
  E_LOCKFILE_YAML: ExitCode.lockfile,
  E_RECORD_WITHOUT_HASH: ExitCode.lockfile,

  // 8: install
  E_CASE_COLLISION: ExitCode.install,
  E_DISK_FULL: ExitCode.install,
  E_ENTRY_POINT_NAME: ExitCode.install,
  E_EXTRACT_DEST_EXISTS: ExitCode.install,
  E_EXTRACT_IO: ExitCode.install,
  E_GO_ARCHIVE: ExitCode.install,
  E_INSTALL: ExitCode.install,
  E_INSTALLER_OWNED: ExitCode.install,
  E_JOURNAL: ExitCode.install,
  E_MACHO_SIGN: ExitCode.install,
  E_NO_GO_TOOLCHAIN: ExitCode.install,
  E_PATH_CONFLICT: ExitCode.install,
  E_PREFIX_CONDA_BASE: ExitCode.install,
  E_PREFIX_FOREIGN: ExitCode.install,
  E_PREFIX_LOCKED: ExitCode.install,
  E_PREFIX_NOT_ENV: ExitCode.install,
  E_PREFIX_TOO_LONG: ExitCode.install,
  E_UNKNOWN_ARCHIVE_FORMAT: ExitCode.install,
  E_WHEEL_CLOBBER: ExitCode.install,
  E_WHEEL_INVALID: ExitCode.install,
  E_WHEEL_RECORD: ExitCode.install,
  E_WHEEL_VERSION: ExitCode.install,

  // 70: a bug
  E_SOLVER_WORKER: ExitCode.internal,
} as const satisfies Record<`E_${string}`, ExitCodeValue>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes whose exit status is `S` (what an error class of that status may carry). */
export type CodeOf<S extends ExitCodeValue> = { [K in ErrorCode]: (typeof ERROR_CODES)[K] extends S ? K : never }[ErrorCode];

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.hasOwn(ERROR_CODES, s);
}

/** The `error[CODE]: message` line the CLI prints on stderr (uncoloured). */
export function errorLine(code: ErrorCode, message: string): string {
  return `error[${code}]: ${message}`;
}

export abstract class CondaGoLockError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** The process exit status, decided by the code (ERROR_CODES). */
  get exitCode(): ExitCodeValue {
    return ERROR_CODES[this.code];
  }
}

export interface CodedErrorOptions<C extends ErrorCode = ErrorCode> {
  /** A more specific stable code than the class default (e.g. E_LOCKFILE_SCHEMA). */
  code?: C;
  cause?: unknown;
}

/** An error kind whose instances may carry a more specific code (of the kind's exit status) than the default. */
export abstract class CodedError<C extends ErrorCode = ErrorCode> extends CondaGoLockError {
  readonly code: C;
  constructor(message: string, defaultCode: C, opts: CodedErrorOptions<C> = {}) {
    super(message, { cause: opts.cause });
    this.code = opts.code ?? defaultCode;
  }
}

/** Wrong command-line usage: unknown flag, unknown platform name, missing argument. */
export class UsageError extends CondaGoLockError {
  readonly code = 'E_USAGE';
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
  readonly code: CodeOf<typeof ExitCode.input>;
  readonly location?: SourceLocation;
  constructor(message: string, opts: CodedErrorOptions<CodeOf<typeof ExitCode.input>> & { location?: SourceLocation } = {}) {
    super(opts.location ? `${formatLocation(opts.location)}: ${message}` : message, { cause: opts.cause });
    this.code = opts.code ?? 'E_INPUT';
    this.location = opts.location;
  }
}

/** A version string that is not a valid conda version. */
export class InvalidVersionError extends CondaGoLockError {
  readonly code = 'E_INVALID_VERSION';
}

/** A version spec or match spec that cannot be parsed. */
export class InvalidSpecError extends CondaGoLockError {
  readonly code = 'E_INVALID_SPEC';
}

/** A requested package name that no configured channel has for the platform. */
export class PackageNotFoundError extends CondaGoLockError {
  readonly code = 'E_PACKAGE_NOT_FOUND';
}

/** The solver proved that the specs cannot be satisfied; message holds the explanation tree. */
export class UnsatisfiableError extends CondaGoLockError {
  readonly code = 'E_UNSATISFIABLE';
}

/** HTTP failure after retries: status code, reset, timeout, truncated body, unreachable host. */
export class NetworkError extends CodedError<CodeOf<typeof ExitCode.network>> {
  readonly url?: string;
  readonly status?: number;
  constructor(message: string, opts: CodedErrorOptions<CodeOf<typeof ExitCode.network>> & { url?: string; status?: number } = {}) {
    super(message, 'E_NETWORK', opts);
    this.url = opts.url;
    this.status = opts.status;
  }
}

/** `--offline` and the cache does not hold what is needed. */
export class OfflineCacheMissError extends CondaGoLockError {
  readonly code = 'E_OFFLINE_CACHE_MISS';
}

/** Downloaded bytes do not match the pinned size / sha256 / md5. */
export class IntegrityError extends CondaGoLockError {
  readonly code = 'E_INTEGRITY';
}

/** An archive that is corrupt or hostile (path traversal, escaping links). */
export class UnsafeArchiveError extends CondaGoLockError {
  readonly code = 'E_UNSAFE_ARCHIVE';
}

/** A lockfile that cannot be read, fails its schema, or is stale. */
export class LockfileError extends CodedError<CodeOf<typeof ExitCode.lockfile>> {
  constructor(message: string, opts: CodedErrorOptions<CodeOf<typeof ExitCode.lockfile>> = {}) {
    super(message, 'E_LOCKFILE', opts);
  }
}

/** Installing into a prefix failed (locked by another process, clobber refused, link failure). */
export class InstallError extends CodedError<CodeOf<typeof ExitCode.install>> {
  constructor(message: string, opts: CodedErrorOptions<CodeOf<typeof ExitCode.install>> = {}) {
    super(message, 'E_INSTALL', opts);
  }
}

/**
 * ENOSPC / EDQUOT anywhere in `err`'s cause chain (a copy into the prefix, a download into the cache
 * that the HTTP client reported as a failed download, a lockfile write): one disk-full error naming the
 * path and saying what state things are in (`state`), instead of a stack trace or a network error.
 */
export function diskFullError(err: unknown, state: string): InstallError | undefined {
  const seen = new Set<unknown>();
  let e = err as (NodeJS.ErrnoException & { cause?: unknown }) | undefined;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') {
      const what = e.code === 'ENOSPC' ? 'no space left on the device' : 'disk quota exceeded';
      const where = typeof e.path === 'string' ? ` writing ${e.path}` : '';
      if (err instanceof InstallError && err.code === 'E_DISK_FULL') return err;
      return new InstallError(`disk full (${e.code}: ${what})${where}; ${state}`, { code: 'E_DISK_FULL', cause: err });
    }
    e = e.cause as typeof e;
  }
  return undefined;
}

/**
 * Name `path` on an ENOSPC / EDQUOT in `err`'s cause chain that lacks one (a write stream's error
 * says no file), so that diskFullError can name where the disk filled up. Returns `err`.
 */
export function noteDiskFullPath(err: unknown, path: string): unknown {
  const seen = new Set<unknown>();
  for (let e = err as (NodeJS.ErrnoException & { cause?: unknown }) | undefined; e && typeof e === 'object' && !seen.has(e); e = e.cause as typeof e) {
    seen.add(e);
    if ((e.code === 'ENOSPC' || e.code === 'EDQUOT') && typeof e.path !== 'string') e.path = path;
  }
  return err;
}

/** Go release metadata has no archive for the platform, or no release matches the spec. */
export class GoToolchainError extends CodedError<CodeOf<typeof ExitCode.unsatisfiable>> {
  constructor(message: string, opts: CodedErrorOptions<CodeOf<typeof ExitCode.unsatisfiable>> = {}) {
    super(message, 'E_GO_TOOLCHAIN', opts);
  }
}
