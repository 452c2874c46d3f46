/**
 * Extract into a private sibling of the destination, then rename it into place: a failed or
 * refused extraction never leaves anything half-written at `destDir`.
 */
import { mkdir, mkdtemp, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InstallError } from '../../errors.js';

export interface StagingOptions {
  /** Replace an existing non-empty `destDir` (the old tree is removed after the new one is in place). */
  replace?: boolean;
}

export async function withStaging<T>(
  destDir: string,
  archive: string,
  opts: StagingOptions,
  work: (stagingDir: string) => Promise<T>,
): Promise<T> {
  const dest = resolve(destDir);
  const parent = dirname(dest);
  try {
    await mkdir(parent, { recursive: true });
  } catch (e) {
    throw new InstallError(`cannot create ${parent} to extract ${archive}: ${(e as Error).message}`, {
      code: 'E_EXTRACT_IO',
      cause: e,
    });
  }
  const staging = await mkdtemp(join(parent, `.${basename(dest)}.extracting-`));
  let result: T;
  try {
    result = await work(staging);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
  try {
    await moveIntoPlace(staging, dest, archive, opts);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
  return result;
}

async function moveIntoPlace(staging: string, dest: string, archive: string, opts: StagingOptions): Promise<void> {
  try {
    await rename(staging, dest); // also replaces an existing EMPTY directory on POSIX
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM' && code !== 'EISDIR' && code !== 'ENOTDIR') {
      throw new InstallError(`cannot move the extracted ${archive} into ${dest}: ${(e as Error).message}`, {
        code: 'E_EXTRACT_IO',
        cause: e,
      });
    }
  }
  // Windows refuses to rename onto an existing empty directory; accept that case like POSIX.
  try {
    await rmdir(dest);
    await rename(staging, dest);
    return;
  } catch {
    /* not empty (or not a directory): fall through */
  }
  if (!opts.replace) {
    throw new InstallError(
      `${dest} already exists and is not empty; refusing to extract ${archive} over it (remove it, or pass replace: true)`,
      { code: 'E_EXTRACT_DEST_EXISTS' },
    );
  }
  const old = `${staging}.old`;
  await rename(dest, old);
  try {
    await rename(staging, dest);
  } catch (e) {
    await rename(old, dest).catch(() => {});
    throw new InstallError(`cannot move the extracted ${archive} into ${dest}: ${(e as Error).message}`, {
      code: 'E_EXTRACT_IO',
      cause: e,
    });
  }
  await rm(old, { recursive: true, force: true });
}
