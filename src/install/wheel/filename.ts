/**
 * Wheel file names (PEP 427 / the binary distribution format spec):
 * `{distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl`.
 * Only what installing needs: the distribution and version parts, and PEP 503 normalisation.
 */
import { UnsafeArchiveError } from '../../errors.js';

export interface WheelName {
  filename: string;
  /** As written in the file name (`typing_extensions`). */
  distribution: string;
  version: string;
  build?: string;
  pythonTag: string;
  abiTag: string;
  platformTag: string;
}

/** PEP 503 name normalisation: runs of `-`, `_`, `.` become one `-`, lower case. */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

export function parseWheelFilename(filename: string): WheelName {
  const fail = (why: string): never => {
    throw new UnsafeArchiveError(`${JSON.stringify(filename)} is not a wheel file name (${why}); expected NAME-VERSION-PY-ABI-PLATFORM.whl`);
  };
  if (!filename.endsWith('.whl')) fail('no .whl extension');
  if (/[/\\\0]/.test(filename)) fail('contains a path separator');
  const parts = filename.slice(0, -4).split('-');
  if (parts.length !== 5 && parts.length !== 6) fail(`${parts.length} dash-separated parts`);
  if (parts.some((p) => p === '')) fail('an empty part');
  const [distribution, version] = parts as [string, string];
  const build = parts.length === 6 ? parts[2] : undefined;
  if (build !== undefined && !/^\d/.test(build)) fail(`build tag ${JSON.stringify(build)} does not start with a digit`);
  const [pythonTag, abiTag, platformTag] = parts.slice(-3) as [string, string, string];
  if (!/^[A-Za-z0-9_.]+$/.test(distribution)) fail(`distribution ${JSON.stringify(distribution)}`);
  return { filename, distribution, version, build, pythonTag, abiTag, platformTag };
}
