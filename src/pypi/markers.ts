/**
 * PEP 508 environment markers: parse once into a small tree, evaluate against a target
 * environment (the conda solution's interpreter and the lock platform, not this machine).
 */
import { InputError } from '../errors.js';
import { canonicalName } from './name.js';
import { Specifier } from './version.js';

export interface MarkerEnvironment {
  implementation_name: string;
  implementation_version: string;
  os_name: string;
  platform_machine: string;
  platform_release: string;
  platform_system: string;
  platform_version: string;
  python_full_version: string;
  platform_python_implementation: string;
  python_version: string;
  sys_platform: string;
}

/** The marker variables a conda platform decides by itself (no interpreter needed). */
export type PlatformMarkerVariables = Pick<MarkerEnvironment, 'os_name' | 'platform_machine' | 'platform_system' | 'sys_platform'>;

/** `sys_platform`, `platform_system`, `os_name` and `platform_machine` of a conda platform (`linux-64`, `osx-arm64`, `win-64`). */
export function platformMarkerVariables(platform: string): PlatformMarkerVariables {
  const os = platform.split('-')[0]!;
  const arch = platform.split('-')[1] ?? '';
  const machine =
    os === 'win'
      ? arch === 'arm64' ? 'ARM64' : arch === '32' ? 'x86' : 'AMD64'
      : os === 'osx'
        ? arch === 'arm64' ? 'arm64' : 'x86_64'
        : { '64': 'x86_64', aarch64: 'aarch64', ppc64le: 'ppc64le', s390x: 's390x', '32': 'i686' }[arch] ?? arch;
  return {
    os_name: os === 'win' ? 'nt' : 'posix',
    platform_machine: machine,
    platform_system: os === 'win' ? 'Windows' : os === 'osx' ? 'Darwin' : 'Linux',
    sys_platform: os === 'win' ? 'win32' : os === 'osx' ? 'darwin' : 'linux',
  };
}

/** Variables whose values are set-like (PEP 735 / packaging 25+). */
type SetVariable = 'extras' | 'dependency_groups';

const VARIABLES = new Set([
  'implementation_name', 'implementation_version', 'os_name', 'platform_machine', 'platform_release',
  'platform_system', 'platform_version', 'python_full_version', 'platform_python_implementation',
  'python_version', 'sys_platform', 'extra', 'extras', 'dependency_groups',
]);

/** PEP 345 and setuptools spellings packaging still reads. */
const ALIASES: Record<string, string> = {
  'os.name': 'os_name',
  'sys.platform': 'sys_platform',
  'platform.version': 'platform_version',
  'platform.machine': 'platform_machine',
  'platform.python_implementation': 'platform_python_implementation',
  python_implementation: 'platform_python_implementation',
};

export type MarkerOp = '===' | '==' | '!=' | '~=' | '<=' | '>=' | '<' | '>' | 'in' | 'not in';

export type MarkerValue = { kind: 'var'; name: string } | { kind: 'str'; value: string };

export type MarkerNode =
  | { kind: 'cmp'; lhs: MarkerValue; op: MarkerOp; rhs: MarkerValue }
  | { kind: 'and' | 'or'; items: MarkerNode[] };

export class InvalidMarker extends InputError {
  constructor(text: string, why: string, at?: number) {
    super(`invalid environment marker '${text}': ${why}${at !== undefined ? ` at position ${at + 1}` : ''}`, { code: 'E_PYPI_MARKER' });
  }
}

/** Tokenizer + recursive descent over `marker_or`. */
class MarkerParser {
  private pos = 0;
  constructor(private readonly text: string, private readonly offset = 0) {}

  fail(why: string, at = this.pos): never {
    throw new InvalidMarker(this.text, why, at + this.offset);
  }

  private ws(): void {
    while (this.pos < this.text.length && (this.text[this.pos] === ' ' || this.text[this.pos] === '\t')) this.pos++;
  }

  private peekWord(word: string): boolean {
    this.ws();
    if (!this.text.startsWith(word, this.pos)) return false;
    const after = this.text[this.pos + word.length];
    return after === undefined || !/[A-Za-z0-9_.]/.test(after);
  }

  parse(): MarkerNode {
    const node = this.or();
    this.ws();
    if (this.pos < this.text.length) this.fail(`unexpected '${this.text.slice(this.pos, this.pos + 10)}'`);
    return node;
  }

  private or(): MarkerNode {
    const items = [this.and()];
    while (this.peekWord('or')) {
      this.pos += 2;
      items.push(this.and());
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  }

  private and(): MarkerNode {
    const items = [this.atom()];
    while (this.peekWord('and')) {
      this.pos += 3;
      items.push(this.atom());
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  }

  private atom(): MarkerNode {
    this.ws();
    if (this.text[this.pos] === '(') {
      this.pos++;
      const inner = this.or();
      this.ws();
      if (this.text[this.pos] !== ')') this.fail("expected ')'");
      this.pos++;
      return inner;
    }
    const lhs = this.value();
    const op = this.op();
    const rhs = this.value();
    return { kind: 'cmp', lhs, op, rhs };
  }

  private value(): MarkerValue {
    this.ws();
    const c = this.text[this.pos];
    if (c === "'" || c === '"') {
      // A backslash escapes the next character (so `"C:\"` is unterminated, as in packaging).
      let end = this.pos + 1;
      while (end < this.text.length && this.text[end] !== c) end += this.text[end] === '\\' ? 2 : 1;
      if (end >= this.text.length) this.fail('invalid quoted string (unterminated)');
      const value = this.text.slice(this.pos + 1, end);
      this.pos = end + 1;
      return { kind: 'str', value };
    }
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(this.text.slice(this.pos));
    if (!m) this.fail('expected a marker variable or a quoted string');
    const word = m[0];
    const name = ALIASES[word] ?? word;
    if (!VARIABLES.has(name)) this.fail(`unknown marker variable '${word}'`);
    this.pos += word.length;
    return { kind: 'var', name };
  }

  private op(): MarkerOp {
    this.ws();
    const rest = this.text.slice(this.pos);
    for (const op of ['===', '==', '!=', '~=', '<=', '>=', '<', '>'] as const) {
      if (rest.startsWith(op)) {
        this.pos += op.length;
        return op;
      }
    }
    if (this.peekWord('in')) {
      this.pos += 2;
      return 'in';
    }
    if (this.peekWord('not')) {
      this.pos += 3;
      if (!this.peekWord('in')) this.fail("expected 'in' after 'not'");
      this.pos += 2;
      return 'not in';
    }
    return this.fail('expected a marker operator (==, !=, <, <=, >, >=, ~=, ===, in, not in)');
  }
}

export class Marker {
  readonly tree: MarkerNode;
  private constructor(tree: MarkerNode) {
    this.tree = tree;
  }

  /** Parse marker text (the part after `;`); `offset` shifts error positions into the whole line. */
  static parse(text: string, offset = 0): Marker {
    if (/[\r\n]/.test(text)) throw new InvalidMarker(text, 'a line break inside a marker');
    return new Marker(new MarkerParser(text, offset).parse());
  }

  /** packaging's canonical text: double quotes (single when the value holds a double quote). */
  toString(): string {
    return show(this.tree, true);
  }

  /**
   * Evaluate for a target. `extras` are the extras being installed (the `extra` variable is true
   * when any of them matches, PEP 685-normalised); without extras `extra == "x"` is false.
   */
  evaluate(env: MarkerEnvironment, extras: readonly string[] = [], groups: readonly string[] = []): boolean {
    return evalNode(this.tree, env, extras.map(canonicalName), groups.map(canonicalName));
  }

  /**
   * Evaluate knowing only some variables (`known`): a comparison that names any other variable
   * counts as true, and its names are returned in `unknown` (sorted). conda-lock reads pyproject
   * markers this way per platform, before the interpreter is known.
   */
  evaluateKnown(known: Partial<MarkerEnvironment>): { value: boolean; unknown: string[] } {
    const unknown = new Set<string>();
    const env = known as MarkerEnvironment;
    const walk = (n: MarkerNode): boolean => {
      if (n.kind !== 'cmp') return n.kind === 'and' ? n.items.map(walk).every(Boolean) : n.items.map(walk).some(Boolean);
      const names = [n.lhs, n.rhs].flatMap((v) => (v.kind === 'var' ? [v.name] : []));
      const missing = names.filter((x) => !(x in known));
      if (missing.length) {
        for (const m of missing) unknown.add(m);
        return true;
      }
      return evalNode(n, env, [], []);
    };
    return { value: walk(this.tree), unknown: [...unknown].sort() };
  }

  /** True when the marker mentions `extra` at all (a requirement only for some extra). */
  mentionsExtra(): boolean {
    const walk = (n: MarkerNode): boolean =>
      n.kind === 'cmp'
        ? (n.lhs.kind === 'var' && n.lhs.name === 'extra') || (n.rhs.kind === 'var' && n.rhs.name === 'extra')
        : n.items.some(walk);
    return walk(this.tree);
  }
}

function showValue(v: MarkerValue): string {
  if (v.kind === 'var') return v.name;
  return v.value.includes('"') ? `'${v.value}'` : `"${v.value}"`;
}

function show(n: MarkerNode, top: boolean): string {
  if (n.kind === 'cmp') return `${showValue(n.lhs)} ${n.op} ${showValue(n.rhs)}`;
  if (n.kind === 'and') return n.items.map((i) => (i.kind === 'or' ? `(${show(i, false)})` : show(i, false))).join(' and ');
  void top;
  return n.items.map((i) => show(i, false)).join(' or ');
}

const VERSION_VARS = new Set(['python_version', 'python_full_version', 'implementation_version', 'platform_release']);

function evalNode(n: MarkerNode, env: MarkerEnvironment, extras: string[], groups: string[]): boolean {
  if (n.kind !== 'cmp') return n.kind === 'and' ? n.items.every((i) => evalNode(i, env, extras, groups)) : n.items.some((i) => evalNode(i, env, extras, groups));
  const { lhs, op, rhs } = n;
  // extra: true when any extra being installed compares true.
  if ((lhs.kind === 'var' && lhs.name === 'extra') || (rhs.kind === 'var' && rhs.name === 'extra')) {
    const other = lhs.kind === 'var' && lhs.name === 'extra' ? rhs : lhs;
    if (other.kind !== 'str') return false;
    const want = canonicalName(other.value);
    const candidates = extras.length ? extras : [''];
    return candidates.some((e) => {
      const l = lhs.kind === 'var' ? e : want;
      const r = rhs.kind === 'var' ? e : want;
      return compareStrings(l, op, r);
    });
  }
  const setVar = (v: MarkerValue): SetVariable | undefined =>
    v.kind === 'var' && (v.name === 'extras' || v.name === 'dependency_groups') ? (v.name as SetVariable) : undefined;
  const rs = setVar(rhs);
  if (rs || setVar(lhs)) {
    if (!rs || lhs.kind !== 'str' || (op !== 'in' && op !== 'not in')) return false;
    const set = rs === 'extras' ? extras : groups;
    const has = set.includes(canonicalName(lhs.value));
    return op === 'in' ? has : !has;
  }
  const value = (v: MarkerValue): string => (v.kind === 'str' ? v.value : (env as unknown as Record<string, string>)[v.name] ?? '');
  const l = value(lhs);
  const r = value(rhs);
  const versionLike = (lhs.kind === 'var' && VERSION_VARS.has(lhs.name)) || (rhs.kind === 'var' && VERSION_VARS.has(rhs.name));
  if (op !== 'in' && op !== 'not in' && versionLike) {
    try {
      return Specifier.parse(`${op}${r}`).contains(l);
    } catch {
      // not a version: fall back to string comparison below
    }
  }
  return compareStrings(l, op, r);
}

function compareStrings(l: string, op: MarkerOp, r: string): boolean {
  switch (op) {
    case '==':
    case '===':
      return l === r;
    case '!=':
      return l !== r;
    case 'in':
      return r.includes(l);
    case 'not in':
      return !r.includes(l);
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    case '>':
      return l > r;
    case '>=':
      return l >= r;
    case '~=':
      return false;
  }
}
