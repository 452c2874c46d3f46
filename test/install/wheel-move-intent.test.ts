/**
 * The record of a wheel install killed while its files moved into the prefix
 * (src/install/wheel/move-intent.ts): the next sync takes back exactly the recorded paths and the
 * directories made for them, and a record that names anything outside the prefix is refused.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync as mkdtempSyncFs, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rollBackWheelMove, writeMoveIntent, WHEEL_MOVE_FILE } from '../../src/install/wheel/move-intent.js';

const roots: string[] = [];
const mkdtempSync = (prefix: string) => {
  const d = mkdtempSyncFs(prefix);
  roots.push(d);
  return d;
};
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('wheel move record', () => {
  it('removes the recorded files that arrived (with the wheel\'s bytes) and the directories made for them, nothing else', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cgl-wheel-move-'));
    const prefix = join(root, 'env');
    mkdirSync(join(prefix, 'lib', 'site', 'pkg'), { recursive: true });
    mkdirSync(join(prefix, 'bin'), { recursive: true });
    writeFileSync(join(prefix, 'lib', 'site', 'pkg', '__init__.py'), 'moved');
    writeFileSync(join(prefix, 'lib', 'site', 'mine.py'), 'user file');
    writeFileSync(join(prefix, 'bin', 'tool'), 'user tool');
    // bin/tool was not moved yet when the kill came, and the user put their own file there since.
    await writeMoveIntent(prefix, {
      wheel: 'pkg-1.0-py3-none-any.whl',
      files: [
        { path: 'lib/site/pkg/__init__.py', sha256: sha('moved') },
        { path: 'lib/site/pkg/later.py', sha256: sha('later') },
        { path: 'bin/tool', sha256: sha('the wheel tool') },
      ],
      dirs: ['lib/site/pkg'],
    });
    expect(await rollBackWheelMove(prefix)).toBe('pkg-1.0-py3-none-any.whl');
    expect(existsSync(join(prefix, 'lib', 'site', 'pkg'))).toBe(false);
    expect(existsSync(join(prefix, 'lib', 'site', 'mine.py'))).toBe(true);
    expect(existsSync(join(prefix, 'bin', 'tool'))).toBe(true);
    expect(existsSync(join(prefix, 'conda-meta', WHEEL_MOVE_FILE))).toBe(false);
    expect(await rollBackWheelMove(prefix)).toBeUndefined();
  });

  it('a record naming a path outside the prefix is refused (E_JOURNAL) and nothing is removed', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cgl-wheel-move-'));
    const prefix = join(root, 'env');
    mkdirSync(join(prefix, 'conda-meta'), { recursive: true });
    writeFileSync(join(root, 'victim'), 'keep');
    for (const paths of [['../victim'], ['/etc/passwd'], ['a/./b'], ['a\\..\\victim']]) {
      writeFileSync(join(prefix, 'conda-meta', WHEEL_MOVE_FILE), JSON.stringify({ wheel: 'x.whl', files: paths.map((path) => ({ path, sha256: sha('keep') })), dirs: [] }));
      await expect(rollBackWheelMove(prefix)).rejects.toMatchObject({ code: 'E_JOURNAL' });
    }
    expect(existsSync(join(root, 'victim'))).toBe(true);
  });

  it('a recorded directory reached through a symbolic link out of the prefix is not removed', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cgl-wheel-move-'));
    const prefix = join(root, 'env');
    mkdirSync(join(prefix, 'conda-meta'), { recursive: true });
    mkdirSync(join(root, 'outside', 'empty'), { recursive: true });
    symlinkSync(join(root, 'outside'), join(prefix, 'lib'));
    await writeMoveIntent(prefix, { wheel: 'x.whl', files: [], dirs: ['lib/empty'] });
    await rollBackWheelMove(prefix);
    expect(existsSync(join(root, 'outside', 'empty'))).toBe(true);
  });
});
