/**
 * Crash safety of the last step of a wheel install (src/install/wheel/install.ts `moveInto`): moving
 * its files from the private staging directory into the prefix, one rename each.
 *
 * Before the first file moves, the destinations (every one checked free) and the directories that
 * will be created for them are written to `conda-meta/.cgl-wheel-move.json` (fsynced). It is removed
 * once every file is in place (the wheel is then complete and found again by its RECORD and
 * INSTALLER), or once a failure has taken the moved files back. A run killed in between leaves it:
 * the next install takes back those paths that hold the wheel's bytes (sha256), so the half-moved
 * wheel neither stays as files nobody owns nor blocks its own re-install as clobbers, and nothing
 * else in the prefix is touched.
 */
import { lstat, mkdir, readFile, realpath, rmdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InstallError } from '../../errors.js';
import { writeFileAtomic } from '../../fs/atomic.js';
import { isInside } from '../../fs/inside.js';
import { sha256Hex } from '../extract/hash.js';

export const WHEEL_MOVE_FILE = '.cgl-wheel-move.json';

export interface WheelMoveIntent {
  /** The wheel's file name (for messages). */
  wheel: string;
  /** Files about to be moved in (relative to the prefix, forward slashes) and their sha256. */
  files: Array<{ path: string; sha256: string }>;
  /** Directories that do not exist yet and are created for them, parents first. */
  dirs: string[];
}

const intentPath = (prefix: string) => join(prefix, 'conda-meta', WHEEL_MOVE_FILE);

export async function writeMoveIntent(prefix: string, intent: WheelMoveIntent): Promise<void> {
  await mkdir(join(prefix, 'conda-meta'), { recursive: true });
  await writeFileAtomic(intentPath(prefix), `${JSON.stringify(intent)}\n`);
}

export async function clearMoveIntent(prefix: string): Promise<void> {
  await unlink(intentPath(prefix)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** A relative path of ours: no empty, `.` or `..` segment, no backslash, no NUL, not absolute. */
function safeRelative(p: unknown): p is string {
  return typeof p === 'string' && p !== '' && !/[\\\0]/.test(p) && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

function readIntent(text: string, file: string): WheelMoveIntent {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const o = v as Partial<WheelMoveIntent> | undefined;
  const fileOk = (f: unknown) => {
    const e = f as { path?: unknown; sha256?: unknown } | null;
    return e !== null && typeof e === 'object' && safeRelative(e.path) && typeof e.sha256 === 'string' && /^[0-9a-f]{64}$/.test(e.sha256);
  };
  if (!o || typeof o.wheel !== 'string' || !Array.isArray(o.files) || !Array.isArray(o.dirs) || !o.files.every(fileOk) || !o.dirs.every(safeRelative)) {
    throw new InstallError(`${file} is not a record of an interrupted wheel install that conda-go-lock wrote; move it away and run install again`, {
      code: 'E_JOURNAL',
    });
  }
  return o as WheelMoveIntent;
}

/**
 * Take back the files of a wheel install that was killed while moving them in (see above); returns
 * the wheel's file name when there was one, else undefined.
 */
export async function rollBackWheelMove(prefix: string): Promise<string | undefined> {
  const file = intentPath(prefix);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const intent = readIntent(text, file);
  const root = await realpath(prefix);
  // Only through directories inside the prefix (the parents were checked so when the files moved).
  const parentInside = async (abs: string) => {
    const parent = await realpath(dirname(abs)).catch(() => undefined);
    return parent !== undefined && isInside(parent, root);
  };
  for (const f of intent.files) {
    const abs = join(prefix, ...f.path.split('/'));
    const st = await lstat(abs).catch(() => undefined);
    // Ours only if it holds the wheel's bytes: a path the kill came before is someone else's now.
    if (!st?.isFile() || !(await parentInside(abs)) || (await sha256Hex(abs)) !== f.sha256) continue;
    await unlink(abs).catch(() => undefined);
  }
  for (const d of [...intent.dirs].reverse()) {
    const abs = join(prefix, ...d.split('/'));
    if (await parentInside(abs)) await rmdir(abs).catch(() => undefined);
  }
  await clearMoveIntent(prefix);
  return intent.wheel;
}
