// Age from a first name: survival weighting by hand, and the real INSEE 2023 national file.
import { describe, expect, it } from 'vitest';
import { openDuck, rows, literal } from '../../src/features/duck.ts';
import { cleanFirstNames } from '../../src/features/clean.ts';
import { buildNameAges, describeUnmatchedNames, nameKey, nameKeys, survival } from '../../src/features/names.ts';
import { loadInput } from '../../src/features/sources.ts';
import { DEFAULT_FIRST_NAMES_ZIP, extractZippedCsv } from '../../src/features/reference.ts';
import { readDataSummary } from '../../src/features/summary.ts';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFeatures, numericColumn } from '../../src/features/index.ts';
import { writeBase } from '../helpers/hand-base.ts';
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

describe('first names written without their accents, or a compound with a space', () => {
  it('are matched to every spelling of the name, whose births are pooled', async () => {
    const data = tempDir();
    writeBase(data);
    // INSEE lists HÉLÈNE (mostly born long ago) and HELENE (a few recent births) apart.
    writeFileSync(join(data, 'first_names.csv'), ['sexe;preusuel;annais;nombre', '2;HÉLÈNE;1946;1000', '2;HELENE;2012;10', '1;JEAN-PIERRE;1956;500', '2;JADE;2015;100'].join('\n') + '\n');
    writeFileSync(
      join(data, 'customers.csv'),
      ['customer_id,first_name,sex,birth_year', 'A,Hélène,F,', 'B,HELENE,F,', 'C, helene ,F,', 'D,Jean Pierre,M,', 'E,JEAN-PIERRE,M,', 'F,Jade,F,'].join('\n') + '\n',
    );
    const { table } = await buildFeatures({ dataDir: data, asOf: '2026-06-30' });
    const age = numericColumn(table, 'age')!;
    const s80 = survival(80, 2);
    const s14 = survival(14, 2);
    const helene = (1000 * s80 * 80 + 10 * s14 * 14) / (1000 * s80 + 10 * s14);
    for (const k of [0, 1, 2]) expect(age[k], table.ids[k]).toBeCloseTo(helene, 4);
    expect(age[0]).toBeGreaterThan(79);
    expect(age[3]).toBeCloseTo(70, 4);
    expect(age[4]).toBeCloseTo(70, 4);
    expect(age[5]).toBeCloseTo(11, 4);
    expect(Array.from(numericColumn(table, 'age_from_name')!)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it("on the real INSEE 2023 file: an Hélène, an André or a François written without accents is not given a child's age", async () => {
    const csv = extractZippedCsv(DEFAULT_FIRST_NAMES_ZIP);
    const [helene, andre, francois, jeanPierre] = await nameAges(csv, 2026, [
      [nameKey('HELENE'), 'F'],
      [nameKey('Andre'), 'M'],
      [nameKey('FRANCOIS'), 'M'],
      [nameKey('Jean Pierre'), 'M'],
    ]);
    // The unaccented spellings alone gave 13.5, 13.5 and 14.7 (born around 2008 to 2012 on
    // average); HÉLÈNE, ANDRÉ and FRANÇOIS alone 57.9, 75.7 and 59.3.
    expect(helene).toBeGreaterThan(55);
    expect(andre).toBeGreaterThan(70);
    expect(francois).toBeGreaterThan(55);
    expect(jeanPierre).toBeGreaterThan(60);
  });
});

describe('first names the births file does not hold', () => {
  it('are read without a title before them (Mme Marie), or by their first part (Jean P., Marie Dupont), and the others are counted and named', async () => {
    const data = tempDir();
    writeBase(data);
    writeFileSync(join(data, 'first_names.csv'), ['sexe;preusuel;annais;nombre', '1;JEAN;1956;500', '2;MARIE;1976;10', '2;JADE;2015;100'].join('\n') + '\n');
    writeFileSync(
      join(data, 'customers.csv'),
      ['customer_id,first_name,sex,birth_year', 'A,Jean P.,M,', 'B,Marie Dupont,F,', 'C,Mme Marie,F,', 'D,Xy Zw,F,1980', 'E,Jade,M,', 'F,Jade,F,', 'G,,F,', 'H,M. Jean,,'].join('\n') + '\n',
    );
    const out = tempDir();
    const built = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    const age = numericColumn(built.table, 'age')!;
    expect(age[0]).toBeCloseTo(70, 4);
    expect(age[1]).toBeCloseTo(50, 4);
    expect(age[2]).toBeCloseTo(50, 4);
    expect(age[7]).toBeCloseTo(70, 4); // M. Jean, sex unknown: JEAN's births of both sexes
    expect(Array.from(numericColumn(built.table, 'age_from_name')!)).toEqual([1, 1, 1, 0, 0, 1, 0, 1]);
    expect(age[3]).toBe(46);
    expect(age[4]).toBeNaN();
    // A name the file does not hold (with a birth year, so an age), a boy named Jade (the file holds girls only).
    const names = { file: 'customers', rows: 2, withoutAge: 1, values: [{ value: 'JADE', rows: 1 }, { value: 'XY ZW', rows: 1 }] };
    expect(built.summary.names).toEqual([names]);
    expect(readDataSummary(join(out, 'features.json'))?.names).toEqual([names]);
    expect(describeUnmatchedNames(names)).toBe('2 customer(s) whose first name the births file does not hold for their sex (nor without a title, nor by its first part), 1 of them without a birth year, whose age stays missing; the most frequent: "JADE" (1), "XY ZW" (1)');
    expect(describeUnmatchedNames(names, 'fr')).toBe('2 client(s) dont le prénom ne figure pas dans le fichier des naissances pour leur sexe (ni sans civilité, ni par son premier prénom), dont 1 sans année de naissance, dont l’âge reste inconnu ; les plus fréquents : « JADE » (1), « XY ZW » (1)');
    expect(nameKeys('Mme Marie-Claire')).toEqual(['MME-MARIE-CLAIRE', 'MARIE-CLAIRE', 'MARIE']);
    expect(nameKeys('Hélène')).toEqual(['HELENE']);
    // Every name found: nothing said.
    writeFileSync(join(data, 'customers.csv'), ['customer_id,first_name,sex,birth_year', 'A,Jean,M,', 'B,Marie,F,'].join('\n') + '\n');
    expect((await buildFeatures({ dataDir: data, asOf: '2026-06-30' })).summary.names).toBeUndefined();
  });
});

describe('birth years written with two digits', () => {
  // Six names, each born in one year, and ten customers of each.
  const NAMES: [string, number][] = [['GERMAINE', 1935], ['MONIQUE', 1948], ['SYLVIE', 1962], ['NATHALIE', 1970], ['AURELIE', 1983], ['EMMA', 2004]];
  const base = (value: (born: number, k: number) => number) => {
    const data = tempDir();
    writeBase(data);
    writeFileSync(join(data, 'first_names.csv'), ['sexe;preusuel;annais;nombre', ...NAMES.map(([name, year]) => `2;${name};${year};1000`)].join('\n') + '\n');
    const lines = NAMES.flatMap(([name, year], i) => Array.from({ length: 10 }, (_, k) => `C${i}${k},${name},F,${String(value(year, k) % 100).padStart(2, '0')}`));
    writeFileSync(join(data, 'customers.csv'), ['customer_id,first_name,sex,birth_year', ...lines].join('\n') + '\n');
    writeFileSync(join(data, 'transactions.csv'), 'customer_id,ts,amount,channel,category,promo\nC00,2026-06-27,100,store,food,0\n');
    writeFileSync(join(data, 'interactions.csv'), 'customer_id,ts,type\nC00,2026-06-01,email_open\n');
    return data;
  };

  it('are read as years, and not questioned when the first names agree with them', async () => {
    const data = base((born, k) => born + (k % 5) - 2);
    const logs: string[] = [];
    const built = await buildFeatures({ dataDir: data, outDir: join(data, 'out'), asOf: '2026-06-30', progress: { stage() {}, tick() {}, log: (l: string) => logs.push(l) } });
    const age = numericColumn(built.table, 'age')!;
    // C00: GERMAINE born 1933 (35 - 2), written 33; C50: EMMA born 2002, written 02.
    expect(age[built.table.ids.indexOf('C00')]).toBe(93);
    expect(age[built.table.ids.indexOf('C50')]).toBe(24);
    expect(built.rejects.find((r) => r.reason === 'two_digit_birth_year')?.rows).toBe(60);
    expect(built.summary.birthYears).toBeUndefined();
    expect(readDataSummary(join(data, 'out', 'features.json'))?.birthYears).toBeUndefined();
    expect(logs.join('\n')).not.toContain('look like ages');
  });

  it('are said to look like ages where the first names say the smaller the value, the older the customer', async () => {
    // A column of ages mapped as birth_year: MONIQUE, 78 in 2026, written 76 to 80.
    const data = base((born, k) => 2026 - born + (k % 5) - 2);
    const logs: string[] = [];
    const built = await buildFeatures({ dataDir: data, outDir: join(data, 'out'), asOf: '2026-06-30', progress: { stage() {}, tick() {}, log: (l: string) => logs.push(l) } });
    const [check] = built.summary.birthYears ?? [];
    expect(check).toMatchObject({ file: 'customers', rows: 60, named: 60 });
    expect(check.correlation).toBeLessThan(-0.5);
    expect(readDataSummary(join(data, 'out', 'features.json'))?.birthYears).toEqual([check]);
    expect(logs.join('\n')).toContain('60 birth year(s) written with two digits were read as years (72 as 1972), but they look like ages: among the 60 of these customers whose first name gives an age');
    expect(logs.join('\n')).toContain('name it otherwise (client_age, in the file or the column file)');

    // A folder of two exports, the later one writing half of those customers' birth years in full:
    // they are read from the later file, so only the other 30 count as written with two digits.
    const folder = join(data, 'customers');
    mkdirSync(folder);
    renameSync(join(data, 'customers.csv'), join(folder, '2025.csv'));
    const rewritten = NAMES.flatMap(([name, year], i) => Array.from({ length: 5 }, (_, k) => `C${i}${k},${name},F,${year + k - 2}`));
    writeFileSync(join(folder, '2026.csv'), ['customer_id,first_name,sex,birth_year', ...rewritten].join('\n') + '\n');
    const again = await buildFeatures({ dataDir: data, outDir: join(data, 'out2'), asOf: '2026-06-30' });
    expect(again.summary.birthYears).toEqual([expect.objectContaining({ file: 'customers', rows: 30, named: 30 })]);
  });
});
