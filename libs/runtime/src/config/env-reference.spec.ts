import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { EnvSchema } from './env.schema';
import {
  ENV_TABLE_END,
  ENV_TABLE_START,
  environmentReference,
  environmentTable,
  tableCells,
  withEnvironmentTable,
} from './env-reference';

const DOC = join(__dirname, '../../../../docs/environment.md');

describe('the environment reference', () => {
  it('docs/environment.md holds the table generated from EnvSchema (run `npm run docs:env` after changing it)', () => {
    const doc = readFileSync(DOC, 'utf8');
    const section = doc.slice(doc.indexOf(ENV_TABLE_START), doc.indexOf(ENV_TABLE_END));
    expect(tableCells(section)).toEqual(tableCells(environmentTable()));
  });

  it('lists every variable the schema reads, with its default or what applies when unset', () => {
    const rows = environmentReference();
    expect(rows.map((row) => row.name)).toEqual(Object.keys(EnvSchema.shape));
    expect(rows.find((row) => row.name === 'PORT')).toMatchObject({ whenUnset: '`8080`' });
    expect(rows.find((row) => row.name === 'DROVER_ALLOW_OPEN_API')).toMatchObject({ whenUnset: '`false`' });
    expect(rows.find((row) => row.name === 'RABBITMQ_URL')?.whenUnset).toMatch(/in-memory bus/);
  });

  it('refuses a variable without documentation, so a new one cannot be left out of the table', () => {
    const schema = z.object({ DOCUMENTED: z.string().describe('meaning'), NEW_ONE: z.string().optional() });
    expect(() => environmentReference(schema)).toThrow('NEW_ONE has no description');
  });

  it('tells a changed row apart from prettier re-padding the columns', () => {
    const rows = [{ name: 'A', whenUnset: '`1`', meaning: 'a | b' }];
    const padded = environmentTable(rows).replace(/ \| /g, '   |   ');
    expect(tableCells(padded)).toEqual(tableCells(environmentTable(rows)));
    expect(tableCells(environmentTable([{ ...rows[0]!, whenUnset: '`2`' }]))).not.toEqual(
      tableCells(environmentTable(rows)),
    );
  });

  it('replaces only what lies between the markers', () => {
    const doc = `intro\n${ENV_TABLE_START}\nold\n${ENV_TABLE_END}\nafter\n`;
    const updated = withEnvironmentTable(doc, '| new |');
    expect(updated).toBe(`intro\n${ENV_TABLE_START}\n\n| new |\n\n${ENV_TABLE_END}\nafter\n`);
  });
});
