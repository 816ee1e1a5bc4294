// Each feature family on a tiny hand-written base whose values were computed by hand.
import { readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDuck } from '../../src/features/duck.ts';
import { describeAsOfCheck, describeFormat } from '../../src/features/formats.ts';
import { KEPT_LISTED, readDataSummary } from '../../src/features/summary.ts';
import { buildFeatures, numericColumn, categoricalColumn, type FeatureBuild } from '../../src/features/index.ts';
import { InputError } from '../../src/errors.ts';
import { writeBase, writeBaseWith } from '../helpers/hand-base.ts';
import { tempDir } from '../helpers/world.ts';

/** The hand-written base twice: as written, and with `edits` applied to each line of the files they name. */
function rewrittenBase(edits: Record<string, (line: string) => string>): { plain: string; data: string } {
  const plain = tempDir();
  writeBase(plain);
  const data = tempDir();
  writeBase(data);
  for (const [file, edit] of Object.entries(edits)) {
    const path = join(data, file);
    writeFileSync(path, readFileSync(path, 'utf8').split('\n').map(edit).join('\n'));
  }
  return { plain, data };
}

describe('feature families on a hand-written base', () => {
  let build: FeatureBuild;
  let out: string;
  beforeAll(async () => {
    const data = tempDir();
    writeBase(data);
    out = tempDir();
    build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
  });
  const value = (name: string, id: string) => {
    const col = numericColumn(build.table, name);
    if (!col) throw new Error(`no numeric feature ${name}`);
    return col[build.table.ids.indexOf(id)];
  };
  const text = (name: string, id: string) => categoricalColumn(build.table, name)![build.table.ids.indexOf(id)];

  it('identity: age from birth year, else from the first name; tenure; sex and segment', () => {
    expect(value('age', 'A')).toBe(50);
    expect(value('age_from_name', 'A')).toBe(0);
    expect(value('age', 'B')).toBe(11);
    expect(value('age_from_name', 'B')).toBe(1);
    // Zoé with sex missing: both sexes pooled, 40 girls born 2010 (age 16) and 40 boys 2020 (6),
    // weighted by survival (almost 1 at these ages).
    expect(value('age', 'D')).toBeCloseTo(11, 1);
    expect(value('age', 'C')).toBeNaN();
    expect(value('age_from_name', 'C')).toBe(0);
    expect(value('tenure_days', 'A')).toBe(2191);
    expect(value('tenure_days', 'B')).toBe(180);
    expect(text('sex', 'A')).toBe('F');
    expect(text('sex', 'D')).toBeNull();
    expect(text('segment', 'B')).toBeNull();
    expect(text('postcode', 'B')).toBe('69001');
  });

  it('behaviour over the 12-month window: counts, net money, shares, recency', () => {
    expect(value('frequency_12m', 'A')).toBe(3);
    expect(value('monetary_12m', 'A')).toBe(160);
    expect(value('avg_basket_12m', 'A')).toBe(60);
    expect(value('recency_days', 'A')).toBe(0);
    expect(value('share_store', 'A')).toBeCloseTo(1 / 3, 6);
    expect(value('share_web', 'A')).toBeCloseTo(1 / 3, 6);
    expect(value('share_app', 'A')).toBeCloseTo(1 / 3, 6);
    expect(value('share_phone', 'A')).toBe(0);
    expect(value('promo_share', 'A')).toBeCloseTo(1 / 3, 6);
    expect(value('weekend_share', 'A')).toBeCloseTo(1 / 3, 6);
    expect(value('december_share', 'A')).toBeCloseTo(1 / 3, 6);
    expect(value('share_cat_food', 'A')).toBeCloseTo(2 / 3, 6);
    expect(value('share_cat_gifts', 'A')).toBeCloseTo(1 / 3, 6);
  });

  it('missing stays missing: no purchase gives 0 counts and NaN shares, never 0 shares', () => {
    expect(value('frequency_12m', 'B')).toBe(0);
    expect(value('monetary_12m', 'B')).toBe(0);
    expect(value('avg_basket_12m', 'B')).toBeNaN();
    expect(value('share_store', 'B')).toBeNaN();
    expect(value('recency_days', 'B')).toBe(911);
    expect(value('recency_days', 'C')).toBeNaN();
    expect(value('email_open_rate', 'B')).toBeNaN();
    expect(value('web_visits_12m', 'B')).toBe(0);
  });

  it('contacts: rates per email sent and counts in the window', () => {
    expect(value('email_open_rate', 'A')).toBe(0.5);
    expect(value('email_click_rate', 'A')).toBe(0.25);
    expect(value('web_visits_12m', 'A')).toBe(2);
    expect(value('app_sessions_12m', 'A')).toBe(0);
    expect(value('complaints_12m', 'A')).toBe(1);
  });

  it('geo: own cell, 1 km neighbour mean, missing when nothing is near', () => {
    expect(value('tile_found', 'A')).toBe(1);
    expect(value('tile_ind', 'A')).toBe(100);
    expect(value('tile_income', 'A')).toBe(20000);
    expect(value('tile_share_poor', 'A')).toBeCloseTo(0.1, 6);
    expect(value('tile_share_single', 'A')).toBeCloseTo(0.4, 6);
    expect(value('tile_share_large', 'A')).toBeCloseTo(0.04, 6);
    expect(value('tile_share_owner', 'A')).toBeCloseTo(0.2, 6);
    expect(value('tile_share_single_parent', 'A')).toBeCloseTo(0.08, 6);
    expect(value('tile_share_flat', 'A')).toBeCloseTo(0.8, 6);
    expect(value('tile_share_social', 'A')).toBeCloseTo(0.3, 6);
    expect(value('tile_share_age_0_17', 'A')).toBeCloseTo(0.2, 6);
    expect(value('tile_share_age_18_39', 'A')).toBeCloseTo(0.3, 6);
    expect(value('tile_share_age_40_64', 'A')).toBeCloseTo(0.3, 6);
    expect(value('tile_share_age_65p', 'A')).toBeCloseTo(0.2, 6);
    // D: neighbours with ind 100 and 300 -> ind-weighted mean of ind = (100*100 + 300*300) / 400.
    expect(value('tile_found', 'D')).toBe(0);
    expect(value('tile_ind', 'D')).toBe(250);
    expect(value('tile_share_poor', 'D')).toBeCloseTo(0.1, 6);
    // B: postcode 69001 placed at its commune point, no tile near it; C: no place at all.
    expect(value('tile_found', 'B')).toBe(0);
    expect(value('tile_ind', 'B')).toBeNaN();
    expect(value('tile_ind', 'C')).toBeNaN();
  });

  it('client columns carried through: numeric when every value parses, else categorical', () => {
    expect(value('household_size', 'A')).toBe(3);
    expect(value('household_size', 'B')).toBeNaN();
    expect(text('loyalty_tier', 'A')).toBe('platinum');
    expect(text('loyalty_tier', 'C')).toBeNull();
  });

  it('writes features.parquet and a features.json summary', () => {
    expect(existsSync(join(out, 'features.parquet'))).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'features.json'), 'utf8'));
    expect(summary.rows).toBe(4);
    const age = summary.features.find((f: { name: string }) => f.name === 'age');
    expect(age).toMatchObject({ kind: 'numeric', missingShare: 0.25, max: 50 });
    expect(age.min).toBeCloseTo(11, 0);
  });

  it("summarises every feature as its column in the table says (the columns are read a few at a time)", () => {
    const { table, summary } = build;
    expect(table.numericNames.length).toBeGreaterThan(16);
    expect(summary.features.map((f) => f.name)).toEqual([...table.numericNames, ...table.categoricalNames]);
    for (const [k, name] of table.numericNames.entries()) {
      const present = Array.from(table.numeric[k]).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
      const mid = present.length / 2;
      const median = present.length % 2 ? present[Math.floor(mid)] : (present[mid - 1] + present[mid]) / 2;
      const stats = summary.features.find((f) => f.name === name)!;
      expect(stats.kind, name).toBe('numeric');
      expect(stats.missingShare, name).toBe(1 - present.length / table.rows);
      // The table holds float32 values; the summary is computed on DuckDB's doubles.
      for (const [got, want] of [[stats.min, present[0]], [stats.median, median], [stats.max, present.at(-1)]] as const) {
        if (want === undefined) expect(got, name).toBeNaN();
        else expect(Math.abs(got! - want), `${name}: ${got} against ${want}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
      }
    }
    for (const [k, name] of table.categoricalNames.entries()) {
      const values = table.categorical[k];
      const stats = summary.features.find((f) => f.name === name)!;
      expect(stats, name).toEqual({ name, kind: 'categorical', missingShare: values.filter((v) => v === null).length / table.rows, levels: new Set(values.filter((v) => v !== null)).size });
    }
  });
});

describe("a client column named as a catalogue feature (a CRM's age)", () => {
  it("is carried as client_<name>, said so, and the catalogue feature is the product's", async () => {
    const data = tempDir();
    writeBaseWith(data, 'customers.csv', (header, lines) => [`${header},Age,client_age`, ...lines.map((l, i) => `${l},${30 + i},x${i}`)]);
    const out = tempDir();
    const built = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    // A's age from its birth year (1976), the client's own beside it; its client_age column keeps its name.
    expect(numericColumn(built.table, 'age')![0]).toBe(50);
    expect(Array.from(numericColumn(built.table, 'client_age_2')!)).toEqual([30, 31, 32, 33]);
    expect(categoricalColumn(built.table, 'client_age')).toEqual(['x0', 'x1', 'x2', 'x3']);
    const renamed = [{ file: 'customers', column: 'age', as: 'client_age_2' }]; // column names read in lower case
    expect(built.summary.renamed).toEqual(renamed);
    expect(readDataSummary(join(out, 'features.json'))?.renamed).toEqual(renamed);
    // Without such a column, nothing is said.
    expect((await buildFeatures({ dataDir: (writeBase(data), data), asOf: '2026-06-30' })).summary.renamed).toBeUndefined();
  });
});

describe('an as_of given far from the purchases', () => {
  it('is said: long after the last purchase (the window empty), or before purchases then not counted', async () => {
    const data = tempDir();
    writeBase(data);
    // The base's six purchases: 2024-01-01 to 2026-06-30, two in 2025 (June, December), three in 2026.
    const at = async (asOf: string) => (await buildFeatures({ dataDir: data, asOf })).summary.asOfCheck;
    expect(await at('2027-12-31')).toEqual({ asOf: '2027-12-31', lastPurchase: '2026-06-30', purchases: 6, inWindow: 0, after: 0 });
    expect(await at('2025-12-31')).toEqual({ asOf: '2025-12-31', lastPurchase: '2026-06-30', purchases: 6, inWindow: 2, after: 3 });
    expect(await at('2026-06-30')).toBeUndefined();
    expect(await at('2026-08-31')).toBeUndefined(); // two months: an export made some time after its last purchase
    // Without a given as_of, it is the last purchase's day: nothing to say.
    expect((await buildFeatures({ dataDir: data })).summary.asOfCheck).toBeUndefined();
    const late = (await buildFeatures({ dataDir: data, asOf: '2027-12-31', outDir: join(data, 'out') })).summary.asOfCheck!;
    expect(readDataSummary(join(data, 'out', 'features.json'))?.asOfCheck).toEqual(late);
    expect(describeAsOfCheck(late)).toBe("as_of 2027-12-31 is 549 days after the last purchase (2026-06-30): the 12 months before it hold 0 of the 6 purchases; check the date (--as-of, or the persona file's as_of)");
    expect(describeAsOfCheck({ asOf: '2025-12-31', lastPurchase: '2026-06-30', purchases: 6, inWindow: 3, after: 3 }, 'fr')).toBe('3 des 6 achats (50\u00a0%) sont datés après as_of 2025-12-31 et ne sont pas comptés');
  });
});

describe('Parquet inputs', () => {
  it('give the same features as the CSV files', async () => {
    const csvDir = tempDir();
    writeBase(csvDir);
    const parquetDir = tempDir();
    const { openDuck } = await import('../../src/features/duck.ts');
    const { db, conn } = await openDuck();
    for (const name of ['customers', 'transactions', 'interactions', 'tiles']) {
      await conn.run(`COPY (SELECT * FROM read_csv('${join(csvDir, name + '.csv')}', all_varchar = true)) TO '${join(parquetDir, name + '.parquet')}' (FORMAT PARQUET)`);
    }
    conn.closeSync();
    db.closeSync();
    writeFileSync(join(parquetDir, 'first_names.csv'), readFileSync(join(csvDir, 'first_names.csv')));
    const fromCsv = await buildFeatures({ dataDir: csvDir, asOf: '2026-06-30' });
    const fromParquet = await buildFeatures({ dataDir: parquetDir, asOf: '2026-06-30' });
    expect(fromParquet.table).toEqual(fromCsv.table);
  });
});

describe('a base of the required columns alone', () => {
  it('builds, with what the absent columns would say missing, not 0', async () => {
    const data = tempDir();
    writeBase(data);
    writeFileSync(join(data, 'customers.csv'), 'customer_id\nA\nB\n');
    writeFileSync(join(data, 'transactions.csv'), 'customer_id,ts,amount\nA,2026-06-27,100\nA,2025-12-10,50\nB,2024-01-01,10\n');
    writeFileSync(join(data, 'interactions.csv'), 'customer_id,ts,type\nA,2026-01-01,email_sent\n');
    const built = await buildFeatures({ dataDir: data, asOf: '2026-06-30' });
    expect(built.rejects).toEqual([]);
    expect(Array.from(numericColumn(built.table, 'frequency_12m')!)).toEqual([2, 0]);
    expect(Array.from(numericColumn(built.table, 'monetary_12m')!)).toEqual([150, 0]);
    // A's purchases have no channel nor promotion flag in the file: their shares are unknown.
    for (const name of ['share_store', 'share_web', 'share_app', 'share_phone', 'promo_share', 'age', 'tenure_days', 'tile_ind']) {
      expect([name, Array.from(numericColumn(built.table, name)!).map(Number.isNaN)]).toEqual([name, [true, true]]);
    }
    expect(numericColumn(built.table, 'december_share')![0]).toBe(0.5);
    expect(categoricalColumn(built.table, 'sex')).toEqual([null, null]);
  });
});

describe('bad input', () => {
  /** The base with the purchase file's text edited, built to a fresh folder: the build and the rejects' [line, record, reason]. */
  const buildEdited = async (edit: (text: string) => string) => {
    const data = tempDir();
    writeBase(data);
    const path = join(data, 'transactions.csv');
    writeFileSync(path, edit(readFileSync(path, 'utf8')));
    const out = tempDir();
    const build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    const rejected = readFileSync(join(out, 'rejects', 'transactions.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 3));
    return { build, rejected };
  };

  it('names the missing file', async () => {
    const data = tempDir();
    writeBase(data);
    const { rmSync } = await import('node:fs');
    rmSync(join(data, 'interactions.csv'));
    await expect(buildFeatures({ dataDir: data })).rejects.toThrow(/interactions.*required input file is missing/);
  });

  it("tells a contact file's missing column before reading the other files (here a damaged customer file it never reaches)", async () => {
    const data = tempDir();
    writeBase(data);
    rmSync(join(data, 'customers.csv'));
    writeFileSync(join(data, 'customers.parquet'), 'not parquet at all');
    const path = join(data, 'interactions.csv');
    writeFileSync(`${path}.gz`, gzipSync(readFileSync(path, 'utf8').replace('type', 'kind')));
    rmSync(path);
    await expect(buildFeatures({ dataDir: data })).rejects.toThrow(/interactions\.csv\.gz: required column "type" is missing \(found: customer_id, ts, kind;/);
    // With the column mapped, the damaged customer file is what stops the run.
    await expect(buildFeatures({ dataDir: data, columnMap: { interactions: { kind: 'type' } } })).rejects.toThrow(/customers\.parquet: not a readable Parquet file/);
  });

  it('names the file and the missing column, and accepts a column map for it', async () => {
    const data = tempDir();
    writeBase(data);
    const tx = readFileSync(join(data, 'transactions.csv'), 'utf8').replace('amount', 'montant_ttc');
    writeFileSync(join(data, 'transactions.csv'), tx);
    const err = await buildFeatures({ dataDir: data }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/transactions\.csv: required column "amount" is missing/);
    expect((err as InputError).detail).toMatchObject({ column: 'amount' });
    const mapped = await buildFeatures({ dataDir: data, asOf: '2026-06-30', columnMap: { transactions: { Montant_TTC: 'amount' } } });
    expect(numericColumn(mapped.table, 'monetary_12m')![0]).toBe(160);
  });

  it('drops a line whose stray quote would swallow the lines after it, naming its line, and keeps the rest', async () => {
    // Line 4 (the -20 refund) gets an opening quote that nothing closes on its line.
    const { build, rejected } = await buildEdited((text) => text.replace('A,2026-03-01,-20,store,food,0', 'A,2026-03-01,-20,store,"food,0'));
    expect(build.rejects.filter((r) => r.file === 'transactions')).toEqual([{ file: 'transactions', reason: 'stray_quote', action: 'dropped', rows: 1 }]);
    expect(rejected).toEqual([['4', '3', 'stray_quote']]);
    // The lines after it are read as their own records: A keeps 100 + 50 + 30 in the window.
    expect(numericColumn(build.table, 'monetary_12m')![build.table.ids.indexOf('A')]).toBe(180);
  });

  it('reads quoted fields of a well-formed file as values, not as stray quotes', async () => {
    const data = tempDir();
    writeBase(data);
    const path = join(data, 'transactions.csv');
    writeFileSync(path, readFileSync(path, 'utf8').replace('A,2026-03-01,-20,store,food,0', 'A,2026-03-01,-20,"store","food",0'));
    const build = await buildFeatures({ dataDir: data, asOf: '2026-06-30' });
    expect(build.rejects.filter((r) => r.file === 'transactions')).toEqual([]);
    expect(numericColumn(build.table, 'monetary_12m')![build.table.ids.indexOf('A')]).toBe(160);
  });

  it('keeps a quote escaped in a quoted field, and rejects one inside an unquoted field (RFC 4180)', async () => {
    const data = tempDir();
    writeBase(data);
    const path = join(data, 'customers.csv');
    // An empty line before it: the broken line is found by its rank among the lines that hold something.
    const text = readFileSync(path, 'utf8').replace(',gold,platinum,', ',"Club ""Or""",platinum,').replace(',bronze,silver,', ',O"Neil,silver,');
    writeFileSync(path, text.replace('\nB,Jade', '\n\nB,Jade'));
    const out = tempDir();
    const build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    expect(build.rejects.filter((r) => r.file === 'customers')).toEqual([
      { file: 'customers', reason: 'stray_quote', action: 'dropped', rows: 1 },
      { file: 'customers', reason: 'empty_line', action: 'dropped', rows: 1 },
    ]);
    const rejected = readFileSync(join(out, 'rejects', 'customers.csv'), 'utf8').trim().split('\n');
    expect(rejected.slice(1).map((l) => l.split(',').slice(0, 4))).toEqual([
      ['3', '', 'empty_line', 'dropped'],
      ['6', '4', 'stray_quote', 'dropped'],
    ]);
    expect(build.table.ids).toEqual(['A', 'B', 'C']);
    expect(categoricalColumn(build.table, 'segment')![0]).toBe('Club "Or"');
  });

  it('in a file a stray quote broke, still reads the well-formed quoted fields of the other lines', async () => {
    const { build, rejected } = await buildEdited((text) =>
      text
        .replace('A,2026-03-01,-20,store,food,0', 'A,2026-03-01,-20,store,"food,0')
        .replace('A,2026-06-27,100,store,food,0', 'A,2026-06-27,100,"store","fo""od",0')
        .replace('A,2025-12-10,50,web,gifts,1', 'A,2025-12-10,50,web,"gifts",1'),
    );
    expect(build.rejects.filter((r) => r.file === 'transactions')).toEqual([{ file: 'transactions', reason: 'stray_quote', action: 'dropped', rows: 1 }]);
    expect(rejected).toEqual([['4', '3', 'stray_quote']]);
    // The quoted lines are read as the quoted read would: 100 (store) + 50 (web) + 30 in the window.
    const a = build.table.ids.indexOf('A');
    expect(numericColumn(build.table, 'monetary_12m')![a]).toBe(180);
    expect(numericColumn(build.table, 'share_store')![a]).toBeCloseTo(1 / 3, 5);
    expect(numericColumn(build.table, 'share_cat_gifts')![a]).toBeCloseTo(1 / 3, 5);
    expect(build.table.numericNames.filter((n) => n.startsWith('share_cat_')).sort()).toEqual(['share_cat_fo_od', 'share_cat_food', 'share_cat_gifts']);
  });

  /** The base with an address column on its customer file, whose rows `rows` writes from the base's lines. */
  const withAddresses = (rows: (lines: string[]) => string[]) => {
    const data = tempDir();
    writeBase(data);
    const path = join(data, 'customers.csv');
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    const text = [`${lines[0]},address`, ...rows(lines)].join('\n') + '\n';
    writeFileSync(path, text);
    return { data, path, text };
  };

  it('reads a quoted field holding line breaks as one value, and numbers the lines after it', async () => {
    // A's address on two lines, B's on three with an empty line inside, D's with quotes of its own.
    const { data } = withAddresses((lines) => [
      `${lines[1]},"12 rue Oberkampf\n75011 Paris"`,
      `${lines[2]},"Bât. B\n\n3, place Bellecour"`,
      `${lines[3]},`,
      `${lines[4]},"ZA ""Les Prés""\nBP 12"`,
      `${lines[3]},`, // C again: a duplicate, on line 10 of the file
    ]);
    const out = tempDir();
    const build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    expect(build.rejects.filter((r) => r.file === 'customers')).toEqual([{ file: 'customers', reason: 'duplicate_id', action: 'dropped', rows: 1 }]);
    const rejected = readFileSync(join(out, 'rejects', 'customers.csv'), 'utf8').trim().split('\n');
    expect(rejected.slice(1).map((l) => l.split(',').slice(0, 3))).toEqual([['10', '5', 'duplicate_id']]);
    expect(build.table.ids).toEqual(['A', 'B', 'C', 'D']);
    expect(build.summary.formats?.customers.multilineRecords).toBe(3);
    expect(describeFormat(build.summary.formats!.customers)).toEqual(['3 row(s) with a line break inside a quoted field, each read as one row']);
    expect(categoricalColumn(build.table, 'address')).toEqual(['12 rue Oberkampf\n75011 Paris', 'Bât. B\n\n3, place Bellecour', null, 'ZA "Les Prés"\nBP 12']);
    const plain = tempDir();
    writeBase(plain);
    const reference = await buildFeatures({ dataDir: plain, asOf: '2026-06-30' });
    expect(build.table.numeric).toEqual(reference.table.numeric);
  });

  for (const [gzip, crlf] of [[false, false], [true, false], [false, true]]) {
    it(`keeps the rows holding a line break in a file where a stray quote leaves a field open${gzip ? ' (gzip)' : ''}${crlf ? ' (CRLF line ends)' : ''}`, async () => {
      // B's first name holds a stray quote, on the line just before D's address on two lines; so
      // does C's segment, on the line opening its own address, whose second line is then read alone.
      const { data, path, text } = withAddresses((lines) => [
        `${lines[1]},"12 rue Oberkampf\n75011 Paris"`,
        `${lines[3].replace('new', 'ne"w')},"1 place Bellecour\nLyon"`,
        `${lines[2].replace('Jade', 'Ja"de')},`,
        `${lines[4]},"ZA ""Les Prés""\nBP 12"`,
      ]);
      if (gzip) {
        rmSync(path);
        writeFileSync(`${path}.gz`, gzipSync(text));
      }
      if (crlf) writeFileSync(path, text.replaceAll('\n', '\r\n'));
      const out = tempDir();
      const build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
      expect(build.rejects.filter((r) => r.file === 'customers')).toEqual([{ file: 'customers', reason: 'stray_quote', action: 'dropped', rows: 3 }]);
      const rejected = readFileSync(join(out, 'rejects', 'customers.csv'), 'utf8').trim().split('\n');
      // Each line as a read without quoting gives it: the stray quotes are the values', doubled in the rejects file.
      expect(rejected.slice(1)).toEqual([
        '4,2,stray_quote,dropped,C,,M,,,,,2025-06-30,"ne""w",,2,"""1 place Bellecour"',
        '5,3,stray_quote,dropped,"Lyon""",,,,,,,,,,,',
        '6,4,stray_quote,dropped,B,"Ja""de",F,,69001,,,2026-01-01,,silver,,',
      ]);
      expect(build.table.ids).toEqual(['A', 'D']);
      expect(build.summary.formats?.customers.multilineRecords).toBe(2);
      // A line break inside a value is the file's own (CR LF in a file of CR LF line ends).
      const nl = crlf ? '\r\n' : '\n';
      expect(categoricalColumn(build.table, 'address')).toEqual([`12 rue Oberkampf${nl}75011 Paris`, `ZA "Les Prés"${nl}BP 12`]);
    });
  }

  it('tells a stray quote that swallowed the next line from a field holding a line break', async () => {
    // The quote opened on line 4 is closed by a stray quote on line 5, just before a delimiter:
    // one well-formed record of six fields, but holding two lines' worth of delimiters.
    const { build, rejected } = await buildEdited((text) =>
      text.replace('A,2026-03-01,-20,store,food,0', 'A,2026-03-01,-20,store,"food,0').replace('A,2025-06-30,999,store,food,0', 'A,2025-06-30,999,store,food",0'),
    );
    expect(build.rejects.filter((r) => r.file === 'transactions')).toEqual([{ file: 'transactions', reason: 'stray_quote', action: 'dropped', rows: 2 }]);
    expect(rejected).toEqual([['4', '3', 'stray_quote'], ['5', '4', 'stray_quote']]);
    expect(numericColumn(build.table, 'monetary_12m')![build.table.ids.indexOf('A')]).toBe(180);
  });

  it('rejects the header line of files joined end to end as such, and reads the rows after it', async () => {
    const { build, rejected } = await buildEdited((text) => text + text.split('\n')[0] + '\nB,2026-06-01,25,web,food,0\n');
    expect(rejected).toEqual([['8', '7', 'repeated_header']]);
    const b = build.table.ids.indexOf('B');
    expect(numericColumn(build.table, 'monetary_12m')![b]).toBe(25);
  });

  it('sums amounts exactly, the same whatever order they are added in, and rejects an amount past 10^15', async () => {
    const data = tempDir();
    writeBase(data);
    const path = join(data, 'transactions.csv');
    // Ten purchases of 0.10: 1 exactly (doubles added one by one give 0.9999999999999999).
    const tens = Array.from({ length: 10 }, (_, i) => `B,2026-05-${String(i + 10)},0.1,web,food,0`);
    writeFileSync(path, readFileSync(path, 'utf8') + [...tens, 'B,2026-05-30,1e15,web,food,0'].join('\n') + '\n');
    const out = tempDir();
    const build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    expect(build.rejects.filter((r) => r.file === 'transactions')).toEqual([{ file: 'transactions', reason: 'bad_amount', action: 'dropped', rows: 1 }]);
    // The feature file keeps doubles (the in-memory table is single precision, where both round to 1).
    const { db, conn } = await openDuck();
    try {
      const [row] = (await conn.runAndReadAll(`SELECT monetary_12m, avg_basket_12m FROM '${join(out, 'features.parquet')}' WHERE customer_id = 'B'`)).getRowObjects();
      expect(row).toEqual({ monetary_12m: 1, avg_basket_12m: 0.1 });
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });

  it('matches ids a spreadsheet wrote without their leading zeros, or as 123.0, to their one customer', async () => {
    const plain = tempDir();
    writeBase(plain);
    const data = tempDir();
    writeBase(data);
    const rewrite = (file: string, edit: (line: string, i: number) => string) => {
      const path = join(data, file);
      writeFileSync(path, readFileSync(path, 'utf8').split('\n').map(edit).join('\n'));
    };
    // Customer A is 00042 in the customer file; its purchases say 42 or 42.0, its contacts 0042.
    rewrite('customers.csv', (l) => l.replace(/^A,/, '00042,'));
    rewrite('transactions.csv', (l, i) => l.replace(/^A,/, i % 2 ? '42,' : '42.0,'));
    rewrite('interactions.csv', (l) => l.replace(/^A,/, '0042,'));
    // A customer 99 nowhere in the customer file stays an orphan.
    writeFileSync(join(data, 'transactions.csv'), readFileSync(join(data, 'transactions.csv'), 'utf8') + '99,2026-05-01,10,web,food,0\n');
    const out = tempDir();
    const build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    expect(build.rejects).toEqual([
      { file: 'transactions', reason: 'orphan_id', action: 'dropped', rows: 1 },
      { file: 'transactions', reason: 'reformatted_id', action: 'kept: matched to its customer', rows: 5 },
      { file: 'interactions', reason: 'reformatted_id', action: 'kept: matched to its customer', rows: 11 },
    ]);
    expect(build.table.ids).toEqual(['00042', 'B', 'C', 'D']);
    const reference = await buildFeatures({ dataDir: plain, asOf: '2026-06-30' });
    expect(build.table.numeric).toEqual(reference.table.numeric);
    const rejected = readFileSync(join(out, 'rejects', 'transactions.csv'), 'utf8').trim().split('\n');
    expect(rejected.slice(1, 3)).toEqual([
      '2,1,reformatted_id,kept: matched to its customer,42,2026-06-27,100,store,food,0',
      '3,2,reformatted_id,kept: matched to its customer,42.0,2025-12-10,50,web,gifts,1',
    ]);
  });

  it('reads values written as Excel text formulas (="00042"), unquoted or quoted, as their text, and says so', async () => {
    // The customer file as an export meant for Excel writes it: ids and postcodes as text formulas;
    // the purchases the same, quoted as a CSV writer quotes a field holding quotes.
    const { plain, data } = rewrittenBase({
      'customers.csv': (l) => l.replace(/^([ABCD]),/, '="$1",').replace(/,(\d{5}),/, ',="$1",'),
      'transactions.csv': (l) => l.replace(/^([ABCD]),/, '"=""$1""",'),
    });
    const out = tempDir();
    const build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    const reference = await buildFeatures({ dataDir: plain, asOf: '2026-06-30' });
    expect(build.rejects).toEqual(reference.rejects);
    expect(build.table.ids).toEqual(reference.table.ids);
    expect(build.table.numeric).toEqual(reference.table.numeric);
    expect(build.table.categorical).toEqual(reference.table.categorical);
    const formats = readDataSummary(join(out, 'features.json'))!.formats!;
    expect(formats.customers.formulaText).toEqual(['customer_id', 'postcode']);
    expect(formats.transactions.formulaText).toEqual(['customer_id']);
    expect(describeFormat(formats.customers)).toContain('values written as Excel text formulas (="00042") read as their text, in customer_id, postcode');
  });

  it('matches an id that is not a number written in another case to its one customer, and leaves it an orphan where two customers share it so written', async () => {
    // Customers written as e-mail addresses; the purchase and contact files lower-case them.
    const lowered = (l: string) => l.replace(/^([ABCD]),/, (_, id: string) => `${id.toLowerCase()}.dupont@mail.fr,`);
    const { plain, data } = rewrittenBase({
      'customers.csv': (l) => l.replace(/^([ABCD]),/, (_, id: string) => `${id}.Dupont@Mail.fr,`),
      'transactions.csv': lowered,
      'interactions.csv': lowered,
    });
    const build = await buildFeatures({ dataDir: data, asOf: '2026-06-30' });
    const reference = await buildFeatures({ dataDir: plain, asOf: '2026-06-30' });
    expect(build.rejects.map((r) => [r.file, r.reason])).toEqual([['transactions', 'reformatted_id'], ['interactions', 'reformatted_id']]);
    expect(build.table.ids).toEqual(['A.Dupont@Mail.fr', 'B.Dupont@Mail.fr', 'C.Dupont@Mail.fr', 'D.Dupont@Mail.fr']);
    expect(build.table.numeric).toEqual(reference.table.numeric);
    // Two customers whose ids differ by their case alone: whose is "a.dupont@mail.fr" cannot be told.
    const path = join(data, 'customers.csv');
    writeFileSync(path, readFileSync(path, 'utf8') + 'A.DUPONT@MAIL.FR,,,,,,,2026-01-01,,,\n');
    const ambiguous = await buildFeatures({ dataDir: data, asOf: '2026-06-30' });
    const orphans = ambiguous.rejects.find((r) => r.file === 'transactions' && r.reason === 'orphan_id');
    expect(orphans?.rows).toBeGreaterThan(0);
    expect(numericColumn(ambiguous.table, 'frequency_12m')![0]).toBe(0);
  });

  it(`lists a repair's first ${KEPT_LISTED} rows and counts the rest; every rejected row is listed`, async () => {
    const data = tempDir();
    writeBase(data);
    const path = join(data, 'customers.csv');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/\nA,/, '\n00042,'));
    // Customer 00042's purchases written 42, one more than are listed, and among them (after the
    // listed ones) purchases of an unknown customer and a bad date: rejected, so listed.
    const repaired = Array.from({ length: KEPT_LISTED + 1 }, (_, i) => `42,2026-05-01,${1 + (i % 7)},store,food,0`);
    const rejectedLines = ['99,2026-05-01,10,web,food,0', '42,2026-13-45,10,web,food,0'];
    writeFileSync(
      join(data, 'transactions.csv'),
      ['customer_id,ts,amount,channel,category,promo', ...repaired.slice(0, KEPT_LISTED), ...rejectedLines, repaired[KEPT_LISTED], 'B,2026-06-01,25,web,food,0'].join('\n') + '\n',
    );
    const out = tempDir();
    const build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    expect(build.rejects.filter((r) => r.file === 'transactions')).toEqual([
      { file: 'transactions', reason: 'bad_date', action: 'dropped', rows: 1 },
      { file: 'transactions', reason: 'orphan_id', action: 'dropped', rows: 1 },
      { file: 'transactions', reason: 'reformatted_id', action: 'kept: matched to its customer', rows: KEPT_LISTED + 1, listed: KEPT_LISTED },
    ]);
    // Every repaired purchase counts in the features, the unlisted one too.
    const sum = repaired.reduce((s, l) => s + Number(l.split(',')[2]), 0);
    expect(numericColumn(build.table, 'monetary_12m')![build.table.ids.indexOf('00042')]).toBe(sum);
    const lines = readFileSync(join(out, 'rejects', 'transactions.csv'), 'utf8').trim().split('\n').slice(1);
    expect(lines).toHaveLength(KEPT_LISTED + 2);
    expect(lines.filter((l) => l.includes(',reformatted_id,'))).toHaveLength(KEPT_LISTED);
    expect(lines.slice(-2).map((l) => l.split(',').slice(0, 3).join(','))).toEqual([`${KEPT_LISTED + 2},${KEPT_LISTED + 1},orphan_id`, `${KEPT_LISTED + 3},${KEPT_LISTED + 2},bad_date`]);
    expect(readDataSummary(join(out, 'features.json'))!.rejects.find((r) => r.reason === 'reformatted_id')).toMatchObject({ rows: KEPT_LISTED + 1, listed: KEPT_LISTED });
  });

  it('reads amounts carrying a euro sign or EUR in a comma-separated file where most do, and rejects one that is still no number', async () => {
    const { build, rejected } = await buildEdited((text) =>
      text
        .replace('A,2026-06-27,100,store', 'A,2026-06-27,100.00 €,store')
        .replace('A,2025-12-10,50,web', 'A,2025-12-10,€50,web')
        .replace('A,2026-06-30T18:30:00,30,app', 'A,2026-06-30T18:30:00,EUR 30,app')
        .replace('B,2024-01-01,10,store', 'B,2024-01-01,dix €,store'),
    );
    expect(rejected).toEqual([['7', '6', 'bad_amount']]);
    expect(build.summary.formats?.transactions.euroAmounts).toBe(true);
    // Where most amounts are plain numbers, one with a sign is no amount (a row typed by hand).
    const plainMost = await buildEdited((text) => text.replace('A,2026-06-27,100,store', 'A,2026-06-27,EUR 100,store'));
    expect(plainMost.rejected).toEqual([['2', '1', 'bad_amount']]);
    expect(plainMost.build.summary.formats?.transactions).toBeUndefined();
    // A's features as the plain file's (B lost its only purchase).
    const data = tempDir();
    writeBase(data);
    const plain = await buildFeatures({ dataDir: data, asOf: '2026-06-30' });
    expect(numericColumn(build.table, 'monetary_12m')![0]).toBe(160);
    expect(build.table.numeric.map((c) => c[0])).toEqual(plain.table.numeric.map((c) => c[0]));
  });

  it('stops when every purchase names a customer the customers file does not hold, saying so', async () => {
    const data = tempDir();
    writeBase(data);
    const path = join(data, 'transactions.csv');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/^([AB]),/gm, 'X$1,'));
    const err = await buildFeatures({ dataDir: data, asOf: '2026-06-30' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(
      `${path}: no transaction could be read (every row was rejected: orphan_id 6; orphan_id: the purchases name customers the customers file does not hold (ids written otherwise in the two files, or files of two bases?); a column file maps columns named otherwise)`,
    );
  });

  it('leaves an id orphan when, without leading zeros, it would name two customers', async () => {
    const data = tempDir();
    writeBase(data);
    const path = join(data, 'customers.csv');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace(/\nA,/, '\n0042,').replace(/\nB,/, '\n042,'));
    // C's purchase read, so that not every purchase is an orphan (which stops the build).
    writeFileSync(join(data, 'transactions.csv'), readFileSync(join(data, 'transactions.csv'), 'utf8').replace(/^A,/gm, '42,') + 'C,2026-05-01,5,store,food,0\n');
    const build = await buildFeatures({ dataDir: data, asOf: '2026-06-30' });
    // A's five purchases (42), and B's one (B is now 042, its purchase still says B).
    expect(build.rejects.filter((r) => r.file === 'transactions')).toEqual([{ file: 'transactions', reason: 'orphan_id', action: 'dropped', rows: 6 }]);
  });

  it('reads ids, dates, amounts, channels, categories, promos and contact types whatever their surrounding spaces (and case), and flags unknown ones', async () => {
    const clean = tempDir();
    writeBase(clean);
    const messy = tempDir();
    writeBase(messy);
    const edit = (file: string, from: string, to: string) => {
      const path = join(messy, file);
      const text = readFileSync(path, 'utf8');
      expect(text).toContain(from);
      writeFileSync(path, text.replace(from, to));
    };
    edit('transactions.csv', 'A,2025-12-10,50,web,gifts,1', 'A,2025-12-10,50, WEB ,gifts,1');
    edit('interactions.csv', 'A,2026-01-02T10:00:00,email_open', 'A,2026-01-02T10:00:00, Email_Open ');
    edit('transactions.csv', 'A,2026-03-01,-20,store,food,0', ' A , 2026-03-01 , -20 ,store , food , 0 ');
    edit('interactions.csv', 'A,2026-01-01T10:00:00,email_sent', '  A, 2026-01-01T10:00:00 ,email_sent ');
    const same = await buildFeatures({ dataDir: messy, asOf: '2026-06-30' });
    expect(same.rejects).toEqual([]);
    expect(same.table).toEqual((await buildFeatures({ dataDir: clean, asOf: '2026-06-30' })).table);
    edit('transactions.csv', 'A,2026-06-27,100,store,food,0', 'A,2026-06-27,100,fax,food,0');
    edit('interactions.csv', 'A,2026-05-07T12:00:00,complaint', 'A,2026-05-07T12:00:00,Fax');
    const flagged = await buildFeatures({ dataDir: messy, asOf: '2026-06-30' });
    expect(flagged.rejects).toEqual([
      { file: 'transactions', reason: 'unknown_channel', action: 'kept: channel other', rows: 1, values: [{ value: 'fax', rows: 1 }] },
      { file: 'interactions', reason: 'unknown_type', action: 'kept: type other', rows: 1, values: [{ value: 'Fax', rows: 1 }] },
    ]);
  });

  it("writes the rejects' own columns first, a file's column of the same name after them with _1 added", async () => {
    const data = tempDir();
    writeBase(data);
    const path = join(data, 'interactions.csv');
    const [header, ...rest] = readFileSync(path, 'utf8').trimEnd().split('\n');
    writeFileSync(path, [`${header},reason`, ...rest.map((l) => `${l},promo`), 'Z,2026-05-01T10:00:00,call,claim'].join('\n') + '\n');
    const out = tempDir();
    const build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    expect(build.rejects).toEqual([{ file: 'interactions', reason: 'orphan_id', action: 'dropped', rows: 1 }]);
    const rejected = readFileSync(join(out, 'rejects', 'interactions.csv'), 'utf8').trim().split('\n');
    expect(rejected).toEqual(['line,record,reason,action,customer_id,ts,type,reason_1', `${rest.length + 2},${rest.length + 1},orphan_id,dropped,Z,2026-05-01T10:00:00,call,claim`]);
  });

  it('rejects a malformed as_of', async () => {
    const data = tempDir();
    writeBase(data);
    await expect(buildFeatures({ dataDir: data, asOf: '30/06/2026' })).rejects.toThrow(/as_of "30\/06\/2026" is not a date/);
  });
});
