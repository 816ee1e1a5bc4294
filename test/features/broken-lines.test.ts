// A customer file exported without quotes (SQL Server's "save results as", home-made extracts)
// cuts an address on two lines into two lines of fields: the record is read whole again, its value
// keeping the line break, and counted as repaired; short lines that are records stay records.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFeatures, categoricalColumn, numericColumn } from '../../src/features/index.ts';
import { A, D, writeBase } from '../helpers/hand-base.ts';
import { tempDir } from '../helpers/world.ts';

const HEADER = 'Customer_ID,First_Name,Address,Sex,Birth_Year,Postcode,Lat,Lon,Signup_Date,Segment,loyalty_tier,household_size,Note';

/** The customer file's records, each a list of its fields; `quote` writes a value holding a line break in quotes. */
function customerFile(quote: boolean): string {
  const records = [
    ['A', 'Marie', '12 rue Oberkampf\n75011 Paris', 'F', '1976', '75011', `${A.lat}`, `${A.lon}`, '2020-06-30', 'gold', 'platinum', '3', ''],
    ['B', 'Jade', '3 place Bellecour', 'F', '', '69001', '', '', '2026-01-01', '', 'silver', '', ''],
    // A line that ends early, as spreadsheets write rows whose last cells are empty.
    ['C', '', '', 'M', '', '', '', '', '2025-06-30', 'new'],
    ['D', 'Zoé', 'Résidence Les Pins', '', '', '', `${D.lat}`, `${D.lon}`, '2026-06-30', 'bronze', 'silver', '1', 'appeler le soir\nsauf lundi'],
    // Two short lines whose fields add up to a record's, each beginning with an id: two records.
    ['E', 'Léo', '1 rue X', 'M'],
    ['F', 'Paul', '2 rue Y', 'M', '1980', '75001', '', '', '2026-01-01', ''],
    ['G', 'Anne', '5 rue Z', 'F', '', '', '', '', '2026-13-45', '', '', '', ''],
  ];
  const field = (v: string) => (quote && v.includes('\n') ? `"${v}"` : v);
  return [HEADER, ...records.map((r) => r.map(field).join(','))].join('\n') + '\n';
}

/** The hand base's purchases and contacts under the customers' new ids (`ids`: old to new). */
function renameEventIds(data: string, ids: Record<string, string>): void {
  for (const name of ['transactions.csv', 'interactions.csv']) {
    const path = join(data, name);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^([A-G]),/gm, (_, id: string) => `${ids[id]},`));
  }
}

describe('a customer file whose values hold line breaks, written without quotes', () => {
  it('reads each cut record whole, as the quoted file, and counts it as repaired with its line', async () => {
    const unquoted = tempDir();
    writeBase(unquoted);
    writeFileSync(join(unquoted, 'customers.csv'), customerFile(false));
    expect(readFileSync(join(unquoted, 'customers.csv'), 'utf8').trimEnd().split('\n')).toHaveLength(10);
    const quoted = tempDir();
    writeBase(quoted);
    writeFileSync(join(quoted, 'customers.csv'), customerFile(true));

    const out = tempDir();
    const build = await buildFeatures({ dataDir: unquoted, outDir: out, asOf: '2026-06-30' });
    const reference = await buildFeatures({ dataDir: quoted, outDir: tempDir(), asOf: '2026-06-30' });
    // G's signup date (2026-13-45) is no date: G kept, its date missing.
    expect(build.table.ids).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G']);
    expect(categoricalColumn(build.table, 'address')![0]).toBe('12 rue Oberkampf\n75011 Paris');
    expect(categoricalColumn(build.table, 'note')![3]).toBe('appeler le soir\nsauf lundi');
    expect(numericColumn(build.table, 'monetary_12m')![0]).toBe(numericColumn(reference.table, 'monetary_12m')![0]);
    expect(build.table.numeric).toEqual(reference.table.numeric);
    expect(build.table.categorical).toEqual(reference.table.categorical);
    expect(build.rejects.filter((r) => r.file === 'customers')).toEqual([
      { file: 'customers', reason: 'bad_signup_date', action: 'kept: set missing', rows: 1 },
      { file: 'customers', reason: 'unquoted_line_break', action: 'kept: its lines joined', rows: 2 },
    ]);
    // Line numbers are the file's: G, the seventh record, is on line 10.
    const rejects = readFileSync(join(out, 'rejects', 'customers.csv'), 'utf8');
    expect(rejects).toContain('2,1,unquoted_line_break,kept: its lines joined,A,Marie,"12 rue Oberkampf\n75011 Paris",F,1976,');
    expect(rejects).toContain('6,4,unquoted_line_break,kept: its lines joined,D,Zoé,');
    expect(rejects).toContain('10,7,bad_signup_date,kept: set missing,G,Anne,');
  });

  it('tells the pieces by the value where a record has its id, wherever the id column is', async () => {
    const data = tempDir();
    writeBase(data);
    // First name before the id, ids shaped K0001 (a piece's value there, "F" or nothing, is no id).
    const swapped = customerFile(false)
      .split('\n')
      .map((line) => line.replace(/^([A-G]),([^,\n]*)/, (_, id: string, name: string) => `${name},K000${'ABCDEFG'.indexOf(id) + 1}`))
      .join('\n')
      .replace('Customer_ID,First_Name', 'First_Name,Customer_ID');
    writeFileSync(join(data, 'customers.csv'), swapped);
    renameEventIds(data, Object.fromEntries([...'ABCDEFG'].map((id, k) => [id, `K000${k + 1}`])));
    const out = tempDir();
    const build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    expect(build.table.ids).toEqual(['K0001', 'K0002', 'K0003', 'K0004', 'K0005', 'K0006', 'K0007']);
    expect(categoricalColumn(build.table, 'address')![0]).toBe('12 rue Oberkampf\n75011 Paris');
    expect(categoricalColumn(build.table, 'note')![3]).toBe('appeler le soir\nsauf lundi');
    expect(build.rejects.find((r) => r.reason === 'unquoted_line_break')?.rows).toBe(2);
  });

  it('leaves the lines as they are when the ids have no one form (a piece cannot be told from an id)', async () => {
    const data = tempDir();
    writeBase(data);
    const ids: Record<string, string> = { A: 'marie.l@x.fr', B: 'jade@y.com', C: 'c-m@x.fr', D: 'zoe_1', E: 'leo@z.fr', F: 'p.a.u.l', G: 'anne' };
    writeFileSync(join(data, 'customers.csv'), customerFile(false).replace(/^([A-G]),/gm, (_, id: string) => `${ids[id]},`));
    renameEventIds(data, ids);
    const build = await buildFeatures({ dataDir: data, asOf: '2026-06-30' });
    // The piece of D's note reads as a customer; the piece of A's address, its fields shifted, is a bad date (text, not a date: dropped).
    expect(build.table.ids).toEqual(['marie.l@x.fr', 'jade@y.com', 'c-m@x.fr', 'zoe_1', 'sauf lundi', 'leo@z.fr', 'p.a.u.l', 'anne']);
    expect(build.rejects.filter((r) => r.file === 'customers').map((r) => [r.reason, r.rows])).toEqual([
      ['bad_date', 1],
      ['bad_signup_date', 1],
    ]);
  });
});
