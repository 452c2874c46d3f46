/**
 * The record of a wheel install killed while its files moved into the prefix
 * (src/install/wheel/move-intent.ts): the next sync takes back exactly the recorded paths and the
 * directories made for them, and a record that names anything outside the prefix is refused.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rollBackWheelMove, writeMoveIntent, WHEEL_MOVE_FILE } from '../../src/install/wheel/move-intent.js';

describe('wheel move record', () => {
  it('removes the recorded files that arrived and the directories made for them, nothing else', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cgl-wheel-move-'));
    const prefix = join(root, 'env');
    mkdirSync(join(prefix, 'lib', 'site', 'pkg'), { recursive: true });
    mkdirSync(join(prefix, 'bin'), { recursive: true });
    writeFileSync(join(prefix, 'lib', 'site', 'pkg', '__init__.py'), 'moved');
    writeFileSync(join(prefix, 'lib', 'site', 'mine.py'), 'user file');
    writeFileSync(join(prefix, 'bin', 'tool'), 'user tool');
    await writeMoveIntent(prefix, {
      wheel: 'pkg-1.0-py3-none-any.whl',
      paths: ['lib/site/pkg/__init__.py', 'lib/site/pkg/later.py', 'bin/pkg'],
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
      writeFileSync(join(prefix, 'conda-meta', WHEEL_MOVE_FILE), JSON.stringify({ wheel: 'x.whl', paths, dirs: [] }));
      await expect(rollBackWheelMove(prefix)).rejects.toMatchObject({ code: 'E_JOURNAL' });
    }
    expect(existsSync(join(root, 'victim'))).toBe(true);
  });
});
