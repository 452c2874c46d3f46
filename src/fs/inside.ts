/** Path containment for the prefix checks (after realpath: symbolic links already resolved). */
import { sep } from 'node:path';

/** `child` is `parent` or below it (both absolute, resolved, in the platform's form). */
export function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}
