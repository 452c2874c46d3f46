/**
 * Escaping of untrusted text (package paths, specs, URLs, file contents) before it reaches a terminal.
 *
 * A hostile package path or channel string may hold ESC sequences (set the terminal title, hide
 * text), newlines (forge extra output lines), NUL, or Unicode bidirectional overrides (U+202E makes
 * `gpj.exe` read as `exe.jpg`). `escapeControl` turns every such character into a visible `\xHH` /
 * `\u{HHHH}` escape; ordinary text, including non-ASCII letters, is unchanged. It is the one helper
 * for this: the CLI applies it to every error and warning line it prints, and `verify` to every path.
 */

/** C0 controls, DEL, C1 controls, bidi embeddings/overrides/isolates, marks, line/paragraph separators, BOM. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
/** The same, except newline and tab: for multi-line messages we compose ourselves. */
const UNSAFE_KEEP_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

function escapeChar(c: string): string {
  const code = c.codePointAt(0)!;
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  if (c === '\u001b') return '\\e';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** `s` with every control / bidi-override character written as a visible escape (`\e`, `\n`, `\x00`, `\u{202e}`). */
export function escapeControl(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}

/** Like `escapeControl` but keeps newlines and tabs: for whole messages whose line breaks are ours. */
export function escapeControlKeepLines(s: string): string {
  return s.replace(UNSAFE_KEEP_LINES, escapeChar);
}
