/**
 * The cached extraction's mode record (src/install/extract-modes.ts) is written as a new file renamed
 * over its path: an archive that put a symbolic link there (to one of its own files) cannot make us
 * write the record through it.
 */
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODES_FILE, readModes, writeModes } from '../../src/install/extract-modes.js';

describe('mode record of a hostile extraction', () => {
  it('replaces a symbolic link at info/conda-go-lock-modes.json instead of writing through it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cgl-modes-'));
    mkdirSync(join(dir, 'info'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'x'), '#!/bin/sh\necho x\n', { mode: 0o755 });
    symlinkSync('../bin/x', join(dir, MODES_FILE));
    await writeModes(dir);
    expect(readFileSync(join(dir, 'bin', 'x'), 'utf8')).toBe('#!/bin/sh\necho x\n');
    expect(lstatSync(join(dir, MODES_FILE)).isFile()).toBe(true);
    expect((await readModes(dir))?.get('bin/x')).toBe(0o755);
    rmSync(dir, { recursive: true, force: true });
  });
});
