/**
 * src/install: replay a lockfile into a prefix (download → verify → extract → link → swap) and
 * verify a prefix against a lockfile. See docs/install.md.
 */
export { installLockfile, installOrder, packagesFor, prefixUpToDate } from './install.js';
export type { InstallOptions, InstallResult, GoInstaller } from './install.js';
export { verifyPrefix, formatVerifyProblem } from './verify.js';
export type { VerifyOptions, VerifyProblem, VerifyProblemKind, VerifyResult } from './verify.js';
export { linkPackage, readPackagePaths } from './link.js';
export type { Clobber, InstalledPath, LinkOptions, LinkResult, PackagePath } from './link.js';
export {
  applyPrefixReplacement,
  fixShebang,
  replaceBinaryPrefix,
  replaceTextPrefix,
  E_PREFIX_TOO_LONG,
  MAX_SHEBANG_LENGTH,
} from './prefix-replace.js';
export { noarchPythonPath, parseEntryPoint, entryPointScript } from './noarch-python.js';
export type { EntryPoint, PythonTarget } from './noarch-python.js';
export { readPrefixRecords, readPrefixState, STATE_FILE } from './conda-meta.js';
export type { PrefixRecord, PrefixState } from './conda-meta.js';
export { fetchVerified, extractCached } from './download.js';
export type { Downloader, PinnedArtifact } from './download.js';
export { acquirePrefixLock, lockFilePath, E_PREFIX_LOCKED, E_PREFIX_NOT_ENV } from './transaction.js';
