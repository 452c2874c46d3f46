/**
 * The two go.mod directives that choose a Go toolchain: `go <version>` and `toolchain go<version>`.
 *
 * Only top-level directives are read; `require (...)`, `replace (...)` and other blocks, comments
 * (`// ...`, also at the end of a line) and quoted module paths are skipped. What the directives mean
 * for locking is decided in `goSpecFromGoMod` and documented in docs/environment.md:
 *
 *   toolchain go1.22.5   →  ==1.22.5          (wins over the go line)
 *   go 1.22              →  1.22.*            (newest 1.22.x release)
 *   go 1.21.3            →  >=1.21.3,<1.22    (newest patch of 1.21, at least .3)
 *   go 1.21rc2           →  >=1.21rc2,<1.22   (pre-release named: pre-releases allowed)
 */
import { InputError } from '../errors.js';

export interface GoModDirective {
  /** The version as written after `go` / `toolchain` (`1.22`, `go1.22.5`). */
  value: string;
  line: number;
}

export interface GoMod {
  file: string;
  module?: string;
  go?: GoModDirective;
  /** Absent when the file has no toolchain line or says `toolchain default`. */
  toolchain?: GoModDirective;
}

/** A Go toolchain requirement derived from go.mod, in the syntax `src/go` reads (`parseGoSpec`). */
export interface GoModSpec {
  spec: string;
  /** Which directive decided it. */
  from: 'toolchain' | 'go';
  file: string;
  line: number;
}

/** `1.22`, `1.22.5`, `1.21rc2`, `1.22.0` (no `go` prefix). */
const GO_LANG_VERSION = /^(\d+)\.(\d+)(?:\.(\d+))?((?:rc|beta|alpha)\d+)?$/;
/** `go1.22.5`, optionally with a `+auto` / `-custom` suffix (`go1.21.0-xyz`). */
const TOOLCHAIN_NAME = /^go(\d+)\.(\d+)(?:\.(\d+))?((?:rc|beta|alpha)\d+)?(?:[-+][A-Za-z0-9._+-]*)?$/;

function stripComment(line: string): string {
  // A `//` inside a quoted string (module paths never contain one, but be safe) does not start a comment.
  let inQuote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inQuote) {
      if (c === '\\' && inQuote === '"') i++;
      else if (c === inQuote) inQuote = undefined;
    } else if (c === '"' || c === '`') {
      inQuote = c;
    } else if (c === '/' && line[i + 1] === '/') {
      return line.slice(0, i);
    }
  }
  return line;
}

/** Read the `module`, `go` and `toolchain` directives. Throws `InputError` naming file:line. */
export function parseGoMod(text: string, file = 'go.mod'): GoMod {
  const out: GoMod = { file };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let blockDepth = 0;
  let blockStart = 0;
  let toolchainLine: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const content = stripComment(lines[i]!).trim();
    if (content === '') continue;
    if (blockDepth > 0) {
      if (content === ')') blockDepth--;
      continue;
    }
    const words = content.split(/\s+/);
    const verb = words[0]!;
    if (words.at(-1) === '(') {
      // `require (`, `replace (`, `godebug (` ... : skip to the matching `)`.
      blockDepth = 1;
      blockStart = lineNo;
      if (verb === 'go' || verb === 'toolchain') {
        throw new InputError(`'${verb}' cannot be a block`, { location: { file, line: lineNo } });
      }
      continue;
    }
    switch (verb) {
      case 'module':
        out.module = words.slice(1).join(' ').replace(/^["`](.*)["`]$/, '$1');
        break;
      case 'go': {
        if (out.go) {
          throw new InputError(`repeated go directive (first on line ${out.go.line})`, { location: { file, line: lineNo } });
        }
        const value = words[1];
        if (words.length !== 2 || !value || !GO_LANG_VERSION.test(value)) {
          throw new InputError(`invalid go directive '${content}': expected e.g. 'go 1.22' or 'go 1.21.3'`, {
            location: { file, line: lineNo },
          });
        }
        out.go = { value, line: lineNo };
        break;
      }
      case 'toolchain': {
        if (toolchainLine !== undefined) {
          throw new InputError(`repeated toolchain directive (first on line ${toolchainLine})`, { location: { file, line: lineNo } });
        }
        toolchainLine = lineNo;
        const value = words[1];
        if (words.length === 2 && value === 'default') break; // "use whatever the go line says"
        if (words.length !== 2 || !value || !TOOLCHAIN_NAME.test(value)) {
          throw new InputError(`invalid toolchain directive '${content}': expected e.g. 'toolchain go1.22.5'`, {
            location: { file, line: lineNo },
          });
        }
        out.toolchain = { value, line: lineNo };
        break;
      }
      default:
        // require / replace / exclude / retract / godebug / tool / ignore single-line forms: not ours.
        break;
    }
  }
  if (blockDepth > 0) {
    throw new InputError(`unterminated block: '(' on line ${blockStart} has no matching ')'`, { location: { file, line: blockStart } });
  }
  return out;
}

/** The `1.22.5` part of `go1.22.5-custom`. */
function toolchainVersion(value: string): string {
  const m = TOOLCHAIN_NAME.exec(value)!;
  return `${m[1]}.${m[2]}${m[3] !== undefined ? `.${m[3]}` : ''}${m[4] ?? ''}`;
}

/**
 * The Go toolchain spec a go.mod asks for (see the table at the top of this file).
 * Throws `InputError` when the file has neither a `go` nor a `toolchain` line.
 */
export function goSpecFromGoMod(mod: GoMod): GoModSpec {
  if (mod.toolchain) {
    return { spec: `==${toolchainVersion(mod.toolchain.value)}`, from: 'toolchain', file: mod.file, line: mod.toolchain.line };
  }
  if (mod.go) {
    const m = GO_LANG_VERSION.exec(mod.go.value)!;
    const major = Number(m[1]);
    const minor = Number(m[2]);
    const patch = m[3];
    const pre = m[4];
    const spec =
      patch === undefined && pre === undefined ? `${major}.${minor}.*` : `>=${mod.go.value},<${major}.${minor + 1}`;
    return { spec, from: 'go', file: mod.file, line: mod.go.line };
  }
  throw new InputError("go.mod has no 'go' or 'toolchain' directive, so it names no Go version", {
    location: { file: mod.file },
  });
}
