/**
 * The small text formats inside a wheel's `.dist-info/`:
 * - `WHEEL` and `METADATA`: email-header style `Key: value` lines (continuations indented), up to
 *   the first blank line;
 * - `entry_points.txt`: INI sections (`[console_scripts]`) of `name = object reference` lines.
 */

/** Header fields in file order; a repeated key (`Tag`, `Requires-Dist`) keeps every value. */
export function parseHeaders(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break; // the body (long description) starts here
    if (/^[ \t]/.test(line) && out.length > 0) {
      const last = out[out.length - 1]!;
      last[1] = `${last[1]}\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return out;
}

/** The first value of a header (keys compared case-insensitively), or undefined. */
export function header(headers: ReadonlyArray<[string, string]>, key: string): string | undefined {
  const k = key.toLowerCase();
  return headers.find(([h]) => h.toLowerCase() === k)?.[1];
}

export interface EntryPointLine {
  group: string;
  name: string;
  /** `module:attr [extra]` as written. */
  value: string;
}

/** Parse entry_points.txt; lines outside a section and comments are ignored. */
export function parseEntryPointsTxt(text: string): EntryPointLine[] {
  const out: EntryPointLine[] = [];
  let group: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      group = sec[1]!.trim();
      continue;
    }
    const eq = line.indexOf('=');
    if (group === undefined || eq <= 0) continue;
    out.push({ group, name: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return out;
}
