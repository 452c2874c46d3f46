/**
 * Platform selectors in dependency comments, as conda-lock accepts them:
 *
 *   - clang_osx-arm64   # [arm64]
 *   - gcc_linux-64>=6   # [linux64]
 *   - pywin32           # [win]
 *
 * A selector is the `[...]` at the end of the comment. We accept identifiers for OS and
 * architecture combined with `and`, `or`, `not` and parentheses; anything else (Python
 * expressions, `py>=38`) is an error rather than silently true.
 */
import { InputError } from '../errors.js';
import { KNOWN_PLATFORMS, type Platform } from '../conda/platform.js';

/** Identifiers true on each platform (conda-build's names for these variables). */
const TRUE_ON: Record<Platform, readonly string[]> = {
  'linux-64': ['linux', 'unix', 'linux64', 'x86_64', 'x86'],
  'linux-aarch64': ['linux', 'unix', 'aarch64'],
  'linux-ppc64le': ['linux', 'unix', 'ppc64le'],
  'osx-64': ['osx', 'unix', 'osx64', 'x86_64', 'x86'],
  'osx-arm64': ['osx', 'unix', 'arm64'],
  'win-64': ['win', 'win64', 'x86_64', 'x86'],
  'win-arm64': ['win', 'arm64'],
};

export const SELECTOR_IDENTIFIERS: readonly string[] = [...new Set(Object.values(TRUE_ON).flat())].sort();

/**
 * The selector in the text that follows a value on its line (`  # [osx64]` → `osx64`), or undefined.
 *
 * Only a selector-shaped comment is a selector, so a plain remark that happens to end in brackets
 * (`# needed for sphinx-gallery[parallel]`, `# see [the docs]`) stays a comment:
 * - the whole comment is `[...]` (`# [linux]`, `# [not win]`, `# [py>=39 and linux]`): a selector —
 *   an unknown name in it is then an error (a typo must not silently apply everywhere);
 * - text then `[...]` (`# needed on [linux64]`): a selector only when the brackets stand apart from
 *   the text (not `word[...]`) and hold nothing but selector names, `py` comparisons, and/or/not
 *   and parentheses.
 */
export function parseSelectorComment(rest: string): string | undefined {
  const whole = /^\s*#\s*\[([^[\]]+)\]\s*$/.exec(rest);
  if (whole) return whole[1]!.trim();
  const tail = /^\s*#.*\s\[([^[\]]+)\]\s*$/.exec(rest);
  if (!tail) return undefined;
  const expr = tail[1]!.trim();
  return isSelectorShaped(expr) ? expr : undefined;
}

/** Known selector names (and `py`-style comparisons) joined by and/or/not and parentheses. */
function isSelectorShaped(expr: string): boolean {
  const words = expr.replace(/[()]/g, ' ').split(/\s+/).filter(Boolean);
  if (words.length === 0) return false;
  return words.every((w) => w === 'and' || w === 'or' || w === 'not' || SELECTOR_IDENTIFIERS.includes(w) || /^(py|py3k|np|vc)(==|!=|>=|<=|>|<)[0-9.]+$/.test(w));
}

/**
 * micromamba's `- sel(linux): pkg` dependency key → `linux`, or undefined when `key` is not one.
 * micromamba knows linux, osx, win and unix; we accept any selector expression (the same names and
 * and/or/not as the comment selectors), which is a superset.
 */
export function parseSelKey(key: string): string | undefined {
  const m = /^sel\((.*)\)$/.exec(key.trim());
  return m ? m[1]!.trim() : undefined;
}

type Tok = { t: 'id'; v: string } | { t: 'and' | 'or' | 'not' | '(' | ')' };

function tokenize(expr: string): Tok[] {
  const out: Tok[] = [];
  const re = /\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\()|(\))|(\S+))/y;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < expr.length && (m = re.exec(expr))) {
    if (m[1] !== undefined) {
      const w = m[1];
      out.push(w === 'and' || w === 'or' || w === 'not' ? { t: w } : { t: 'id', v: w });
    } else if (m[2]) out.push({ t: '(' });
    else if (m[3]) out.push({ t: ')' });
    else if (m[4]) throw selectorError(expr, `unsupported '${m[4]}'`);
    if (/^\s*$/.test(expr.slice(re.lastIndex))) break;
  }
  return out;
}

function selectorError(expr: string, why: string): InputError {
  return new InputError(
    `unsupported selector '[${expr}]': ${why}. Selectors may use ${SELECTOR_IDENTIFIERS.join(', ')} with and/or/not`,
    { code: 'E_ENV_SELECTOR' },
  );
}

/** Whether the selector expression is true for `platform`. Throws `InputError` on anything unsupported. */
export function evaluateSelector(expr: string, platform: Platform): boolean {
  if (/\b(py|py3k|np|vc)\s*(==|!=|>=|<=|>|<)/.test(expr)) {
    throw selectorError(expr, 'version selectors (py>=39, np>=1.20) are not supported — a lock has one set of specs per platform; write the version into a spec (`python >=3.9`) and keep the platform names');
  }
  const toks = tokenize(expr);
  if (toks.length === 0) throw selectorError(expr, 'empty');
  const truth = new Set(TRUE_ON[platform]);
  let i = 0;
  const peek = (): Tok | undefined => toks[i];
  const orExpr = (): boolean => {
    let v = andExpr();
    while (peek()?.t === 'or') {
      i++;
      const r = andExpr();
      v = v || r;
    }
    return v;
  };
  const andExpr = (): boolean => {
    let v = notExpr();
    while (peek()?.t === 'and') {
      i++;
      const r = notExpr();
      v = v && r;
    }
    return v;
  };
  const notExpr = (): boolean => {
    if (peek()?.t === 'not') {
      i++;
      return !notExpr();
    }
    return atom();
  };
  const atom = (): boolean => {
    const tok = toks[i++];
    if (!tok) throw selectorError(expr, 'unexpected end');
    if (tok.t === '(') {
      const v = orExpr();
      if (toks[i++]?.t !== ')') throw selectorError(expr, "missing ')'");
      return v;
    }
    if (tok.t === 'id') {
      if (!SELECTOR_IDENTIFIERS.includes(tok.v)) throw selectorError(expr, `unknown name '${tok.v}'`);
      return truth.has(tok.v);
    }
    throw selectorError(expr, `unexpected '${tok.t}'`);
  };
  const v = orExpr();
  if (i !== toks.length) throw selectorError(expr, 'unexpected text after the expression');
  return v;
}

/** The platforms a selector admits. */
export function selectorPlatforms(expr: string): Platform[] {
  return KNOWN_PLATFORMS.filter((p) => evaluateSelector(expr, p));
}
