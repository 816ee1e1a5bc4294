// Age from a first name: survival weighting by hand, and the real INSEE 2023 national file.
import { describe, expect, it } from 'vitest';
import { openDuck, rows, literal } from '../../src/features/duck.ts';
import { cleanFirstNames } from '../../src/features/clean.ts';
import { buildNameAges, survival } from '../../src/features/names.ts';
import { loadInput } from '../../src/features/sources.ts';
import { DEFAULT_FIRST_NAMES_ZIP, extractZippedCsv } from '../../src/features/reference.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/world.ts';

async function nameAges(birthsCsv: string, asOfYear: number, names: [string, string | null][]): Promise<number[]> {
  const { db, conn } = await openDuck();
  try {
    await cleanFirstNames(conn, await loadInput(conn, 'first_names', birthsCsv, 'raw_first_names'), tempDir('names-rejects'));
    await buildNameAges(conn, asOfYear);
    const out: number[] = [];
    for (const [name, sex] of names) {
      const r = await rows(
        conn,
        `SELECT age FROM name_ages WHERE first_name = ${literal(name)} AND sex ${sex === null ? 'IS NULL' : `= ${literal(sex)}`}`,
      );
      out.push(r.length ? Number(r[0].age) : NaN);
    }
    return out;
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

describe('survival table', () => {
  it('decreases with age, women outlive men, nobody reaches 110', () => {
    expect(survival(0, 1)).toBe(1);
    expect(survival(50, 1)).toBeGreaterThan(survival(80, 1));
    expect(survival(85, 2)).toBeGreaterThan(survival(85, 1));
    expect(survival(110, 2)).toBe(0);
    expect(survival(62.5, 1)).toBeCloseTo((0.907 + 0.866) / 2, 6);
  });
});

describe('expected age of a first name', () => {
  it('weights the births curve by survival to as_of, per sex and pooled', async () => {
    const dir = tempDir();
    const file = join(dir, 'first_names.csv');
    // 100 girls named ANNE born 1946 (age 80 in 2026) and 100 born 2006 (age 20).
    writeFileSync(file, ['sexe;preusuel;annais;nombre', '2;ANNE;1946;100', '2;ANNE;2006;100', '1;ANNE;2016;50', '2;ANNE;XXXX;999'].join('\r\n'));
    const [female, pooled] = await nameAges(file, 2026, [['ANNE', 'F'], ['ANNE', null]]);
    const s80 = survival(80, 2);
    const s20 = survival(20, 2);
    expect(female).toBeCloseTo((80 * s80 + 20 * s20) / (s80 + s20), 9);
    const s10 = survival(10, 1);
    expect(pooled).toBeCloseTo((100 * 80 * s80 + 100 * 20 * s20 + 50 * 10 * s10) / (100 * s80 + 100 * s20 + 50 * s10), 9);
  });

  it('on the real INSEE 2023 file: names of the 1950s come out older than those of the 2010s, by sex', async () => {
    const csv = extractZippedCsv(DEFAULT_FIRST_NAMES_ZIP);
    const [monique, jade, michel, lucas] = await nameAges(csv, 2026, [
      ['MONIQUE', 'F'],
      ['JADE', 'F'],
      ['MICHEL', 'M'],
      ['LUCAS', 'M'],
    ]);
    expect(monique).toBeGreaterThan(60);
    expect(jade).toBeLessThan(25);
    expect(michel).toBeGreaterThan(55);
    expect(lucas).toBeLessThan(30);
    expect(monique - jade).toBeGreaterThan(40);
    expect(michel - lucas).toBeGreaterThan(30);
  });
});
