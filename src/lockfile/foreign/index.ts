/**
 * Any lockfile `install` / `verify` can replay: ours, a conda-lock v1 file, or an @EXPLICIT list.
 * The format is recognised from the content, not the file name.
 */
import { readFile } from 'node:fs/promises';
import { yaml } from '../../yaml-lazy.js';
import { parseLockfile, readLockfile } from '../read.js';
import { isCondaLockData, parseCondaLockV1, type ForeignLockfile, type ForeignReadOptions } from './conda-lock.js';
import { isExplicitText, parseExplicit } from './explicit.js';

export type { ForeignLockfile, ForeignReadOptions } from './conda-lock.js';
export { parseCondaLockV1 } from './conda-lock.js';
export { parseExplicit } from './explicit.js';

export interface AnyLockfile extends Omit<ForeignLockfile, 'format'> {
  format: 'conda-go-lock' | ForeignLockfile['format'];
}

export async function readAnyLockfile(path: string, opts: ForeignReadOptions = {}): Promise<AnyLockfile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    // readLockfile words the not-found / unreadable errors.
    return { lockfile: await readLockfile(path), format: 'conda-go-lock', md5Only: 0, warnings: [] };
  }
  if (isExplicitText(text)) return parseExplicit(text, path);
  if (/^package:/m.test(text)) {
    let data: unknown;
    try {
      data = yaml().parse(text);
    } catch {
      data = undefined;
    }
    if (isCondaLockData(data)) return parseCondaLockV1(text, path, opts);
  }
  return { lockfile: parseLockfile(text, path), format: 'conda-go-lock', md5Only: 0, warnings: [] };
}
