/** Error output is coloured only for a person at a terminal; CI logs get plain `error[E_CODE]: ...`. */
import { describe, expect, it } from 'vitest';
import { stderrColors } from '../../src/cli/main.js';

const ESC = '\u001b[';

describe('stderrColors', () => {
  it('plain text when stderr is not a TTY, even with CI set (picocolors would colour)', () => {
    expect(stderrColors({ CI: 'true' }, false).red('x')).toBe('x');
    expect(stderrColors({}, false).red('x')).toBe('x');
  });
  it('colour on a TTY, unless NO_COLOR or TERM=dumb', () => {
    expect(stderrColors({}, true).red('x')).toContain(ESC);
    expect(stderrColors({ NO_COLOR: '' }, true).red('x')).toBe('x');
    expect(stderrColors({ TERM: 'dumb' }, true).red('x')).toBe('x');
  });
  it('FORCE_COLOR decides either way', () => {
    expect(stderrColors({ FORCE_COLOR: '1' }, false).red('x')).toContain(ESC);
    expect(stderrColors({ FORCE_COLOR: '0' }, true).red('x')).toBe('x');
  });
});
