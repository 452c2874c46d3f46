/**
 * The generated validators (src/validators/, scripts/gen-validators.ts) are what the schemas in
 * schemas/ compile to today: editing a schema without regenerating fails here, naming the command.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED, generateValidator } from '../scripts/gen-validators.js';
import { projectRoot } from './support/fixtures.js';

describe('generated schema validators', () => {
  it.each(GENERATED.map((g) => [g.schema, g.module]))('%s → src/validators/%s is up to date (else run: node --import tsx scripts/gen-validators.ts)', (schema, module) => {
    const committed = readFileSync(join(projectRoot, 'src', 'validators', module), 'utf8');
    expect(committed === generateValidator(schema), `src/validators/${module} is stale: run node --import tsx scripts/gen-validators.ts`).toBe(true);
  });
});
