// The reference files (INSEE tiles, births by first name, La Poste's postcodes) are validated as
// the client's files are: a row that cannot be used is rejected, named by its line in
// rejects/<file>.csv, and changes nothing else; a cell listed twice no longer doubles its customers.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { buildFeatures, categoricalColumn, cellId, cellOf, numericColumn, readPostcode, type FeatureBuild } from '../../src/features/index.ts';
import { describeFormat } from '../../src/features/formats.ts';
import { readPostcodePoints } from '../../src/features/tiles.ts';
import { reasonLabel } from '../../src/report/labels.ts';
import { A, D, tile, TILE_HEADER, writeBase, writeBaseWith } from '../helpers/hand-base.ts';
import { tempDir } from '../helpers/world.ts';

const POSTCODE_HEADER = 'Code_commune_INSEE;Nom_commune;Code_postal;Ligne_5;Libellé_d_acheminement;coordonnees_gps';
const LYON = '69381;LYON 1ER;69001;;LYON;45.7675,4.8345';
const NO_POINT = '01001;SANS POINT;01400;;SANS POINT;';

/** The hand-written base with a postcode file of its own (the valid lines only). */
function cleanBase(dir: string): void {
  writeBase(dir);
  writeFileSync(join(dir, 'laposte_hexasmal.csv'), [POSTCODE_HEADER, LYON, NO_POINT].join('\n') + '\n');
}

/** Rows of rejects/<file>.csv as [line, record, reason, action]. */
function rejected(out: string, file: string): string[][] {
  return readFileSync(join(out, 'rejects', `${file}.csv`), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 4));
}

describe('reference files with bad rows', () => {
  let clean: FeatureBuild;
  let dirty: FeatureBuild;
  let out: string;
  beforeAll(async () => {
    const a = cellOf(A.lat, A.lon);
    const d = cellOf(D.lat, D.lon);
    const cleanDir = tempDir();
    cleanBase(cleanDir);
    clean = await buildFeatures({ dataDir: cleanDir, outDir: tempDir(), asOf: '2026-06-30' });

    const data = tempDir();
    cleanBase(data);
    // Lines 6 to 12 of the tiles file (the base's four tiles are on lines 2 to 5).
    const withInd = (row: string, ind: string) => row.split(',').map((v, k) => (k === 1 ? ind : v)).join(',');
    const withoutPoorShare = (row: string) => row.split(',').map((v, k) => (k === 3 ? '' : v)).join(',');
    appendFileSync(
      join(data, 'tiles.csv'),
      [
        tile(cellId(a), 999), // A's cell again: the first row stays A's
        withInd(tile(cellId(d), 100), 'abc'), // D's own cell, unreadable: D keeps its neighbours' mean
        tile(`CRS3035RES1000mN${a.y}E${a.x}`, 500), // a 1 km cell
        withoutPoorShare(tile(cellId({ ...d, x: d.x + 1400 }), 100)), // an empty value: kept, missing
        withInd(tile(cellId({ ...d, x: d.x + 1600 }), 100), '-5'),
        tile(cellId({ ...d, x: d.x + 1600 }), 100), // the same cell, usable: kept, not a repeat
        tile(`CRS4326RES200mN${a.y}E${a.x}`, 500), // a CRS the grid does not use
      ].join('\n') + '\n',
    );
    // Lines 8 to 15 of the births file (CRLF, as INSEE writes it).
    appendFileSync(
      join(data, 'first_names.csv'),
      ['2;ZOÉ;2010;400', '3;ZOÉ;1950;1000', '2;ZOÉ;19x5;1000', '2;ZOÉ;1960;-5', '2;;1960;5', '2;ZOÉ;1961;', '2;ZOÉ;1962;5;9', '1;ZOÉ;XXXX;30'].join('\r\n') + '\r\n',
    );
    writeFileSync(
      join(data, 'laposte_hexasmal.csv'),
      [POSTCODE_HEADER, '69999;NULLE;69001;;NULLE;45.9,200', LYON, '', NO_POINT, 'tronquee', '01002;SANS CODE;;;SANS CODE;46.1,5.2', '01003;DEUX;01500;;DEUX;46.1'].join('\n') + '\n',
    );
    out = tempDir();
    dirty = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
  }, 60_000);

  it('gives the features the files without those rows give, one row per customer', () => {
    expect(dirty.table.ids).toEqual(['A', 'B', 'C', 'D']);
    expect(dirty.table.numericNames).toEqual(clean.table.numericNames);
    dirty.table.numericNames.forEach((name, k) => expect([...dirty.table.numeric[k]], name).toEqual([...clean.table.numeric[k]]));
    expect(dirty.table.categorical).toEqual(clean.table.categorical);
    expect(clean.rejects).toEqual([]);
  });

  it('names each rejected tile by its line, keeps the first usable row of a cell, and a value left empty as missing', () => {
    expect(rejected(out, 'tiles')).toEqual([
      ['6', '5', 'duplicate_cell', 'dropped'],
      ['7', '6', 'bad_number', 'dropped'],
      ['8', '7', 'bad_cell_id', 'dropped'],
      ['10', '9', 'bad_number', 'dropped'],
      ['12', '11', 'bad_cell_id', 'dropped'],
    ]);
    // The row's own fields follow, as read.
    const lines = readFileSync(join(out, 'rejects', 'tiles.csv'), 'utf8').trim().split('\n');
    expect(lines[0].split(',').slice(0, 6)).toEqual(['line', 'record', 'reason', 'action', 'idcar_200m', 'ind']);
    expect(lines[2].split(',')[5]).toBe('abc');
  });

  it('names each rejected births row, and leaves out the rows the contract ignores without rejecting them', () => {
    expect(rejected(out, 'first_names')).toEqual([
      ['8', '7', 'duplicate_name_year', 'dropped'],
      ['9', '8', 'bad_sex_code', 'dropped'],
      ['10', '9', 'bad_year', 'dropped'],
      ['11', '10', 'bad_count', 'dropped'],
      ['12', '11', 'missing_first_name', 'dropped'],
      ['13', '12', 'bad_count', 'dropped'],
      ['14', '13', 'extra_fields', 'dropped'],
    ]);
  });

  it("names each unusable postcode line; a commune without coordinates is not a reject", () => {
    expect(rejected(out, 'postcodes')).toEqual([
      ['2', '1', 'bad_gps', 'dropped'],
      ['4', '', 'empty_line', 'dropped'],
      ['6', '4', 'missing_fields', 'dropped'],
      ['7', '5', 'missing_postcode', 'dropped'],
      ['8', '6', 'bad_gps', 'dropped'],
    ]);
  });

  it('counts them in the summary, by file and reason', () => {
    const count = (file: string, reason: string) => dirty.summary.rejects.find((r) => r.file === file && r.reason === reason)?.rows;
    expect(count('tiles', 'bad_number')).toBe(2);
    expect(count('tiles', 'duplicate_cell')).toBe(1);
    expect(count('first_names', 'bad_count')).toBe(2);
    expect(count('postcodes', 'bad_gps')).toBe(2);
    expect(dirty.summary.rejects.filter((r) => r.file === 'tiles').reduce((s, r) => s + r.rows, 0)).toBe(5);
  });

  it('has every reason worded for the report, in both languages', () => {
    for (const r of dirty.summary.rejects) for (const lang of ['en', 'fr'] as const) expect(reasonLabel(r.reason, lang), `${r.reason} ${lang}`).not.toBe(r.reason);
  });
});

/**
 * The clean base with A's postcode, coordinates (`,75011,lat,lon,` in its row) written as `written`,
 * and A's postcode placed exactly at A's point: placed by its postcode, A has its own point's features.
 */
async function withCustomerA(written: string) {
  const data = tempDir();
  cleanBase(data);
  appendFileSync(join(data, 'laposte_hexasmal.csv'), `75111;PARIS 11;75011;;PARIS;${A.lat},${A.lon}\n`);
  const path = join(data, 'customers.csv');
  writeFileSync(path, readFileSync(path, 'utf8').replace(`,75011,${A.lat},${A.lon},`, `,${written},`));
  const out = tempDir();
  return { out, build: await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' }) };
}

describe('coordinates past ±90 / ±180 degrees', () => {
  it('are set missing, and the customer is placed at its postcode', async () => {
    const build = (lon: string) => withCustomerA(`75011,${A.lat},${lon}`);
    const right = await build(String(A.lon));
    const typo = await build(String(A.lon * 1000)); // 2352.2: the decimal point lost
    expect(right.build.rejects).toEqual([]);
    expect(rejected(typo.out, 'customers')).toEqual([['2', '1', 'bad_coordinates', 'kept: set missing']]);
    for (const name of ['tile_found', 'tile_ind', 'tile_income', 'tile_share_owner']) {
      expect(numericColumn(typo.build.table, name)![0], name).toBe(numericColumn(right.build.table, name)![0]);
    }
    expect(numericColumn(typo.build.table, 'tile_ind')![0]).toBe(100);
  });
});

describe('coordinates written longitude first, or at 0, 0', () => {
  const build = (point: string) => withCustomerA(`75011,${point}`);
  const tiles = ['tile_found', 'tile_ind', 'tile_income', 'tile_share_owner', 'tile_share_age_65p'];

  it('are read swapped back where the point is outside France and the swapped one inside, and listed', async () => {
    const right = await build(`${A.lat},${A.lon}`);
    const swapped = await build(`${A.lon},${A.lat}`);
    expect(right.build.rejects).toEqual([]);
    expect(swapped.build.rejects).toEqual([{ file: 'customers', reason: 'swapped_coordinates', action: 'kept: latitude and longitude swapped back', rows: 1 }]);
    expect(rejected(swapped.out, 'customers')).toEqual([['2', '1', 'swapped_coordinates', 'kept: latitude and longitude swapped back']]);
    for (const name of tiles) expect(numericColumn(swapped.build.table, name)![0], name).toBe(numericColumn(right.build.table, name)![0]);
    expect(numericColumn(swapped.build.table, 'tile_found')![0]).toBe(1);
    for (const lang of ['en', 'fr'] as const) expect(reasonLabel('swapped_coordinates', lang)).not.toBe('swapped_coordinates');
  });

  it("at 0, 0 (a geocoder's placeholder) are set missing and the postcode places the customer; a point abroad stays", async () => {
    const right = await build(`${A.lat},${A.lon}`);
    const nowhere = await build('0,0');
    expect(rejected(nowhere.out, 'customers')).toEqual([['2', '1', 'bad_coordinates', 'kept: set missing']]);
    for (const name of tiles) expect(numericColumn(nowhere.build.table, name)![0], name).toBe(numericColumn(right.build.table, name)![0]);
    // New York: no cell there, and its swapped point is not in France either.
    const abroad = await build('40.7128,-74.006');
    expect(abroad.build.rejects).toEqual([]);
    expect(numericColumn(abroad.build.table, 'tile_found')![0]).toBe(0);
    expect(numericColumn(abroad.build.table, 'tile_ind')![0]).toBeNaN();
  });
});

describe('a postcode written as a decimal number (a data frame with missing postcodes writes 75011.0)', () => {
  it('is read without its decimals, and places the customer', async () => {
    const build = (postcode: string) => withCustomerA(`${postcode},,`);
    const plain = await build('75011');
    const decimal = await build('75011.0');
    expect(rejected(decimal.out, 'customers')).toEqual([['2', '1', 'decimal_postcode', 'kept: read without its decimals']]);
    expect(categoricalColumn(decimal.build.table, 'postcode')![0]).toBe('75011');
    for (const name of ['tile_found', 'tile_ind', 'tile_income', 'tile_share_owner']) expect(numericColumn(decimal.build.table, name)![0], name).toBe(numericColumn(plain.build.table, name)![0]);
    expect(numericColumn(decimal.build.table, 'tile_ind')![0]).toBe(100);
    for (const lang of ['en', 'fr'] as const) expect(reasonLabel('decimal_postcode', lang)).not.toBe('decimal_postcode');
  });

  it('is read by the API as by the pipeline', () => {
    expect(['75011', ' 75011.0 ', '75011,00', '1000', '1000.0', '2A004', '', 'B-1000'].map(readPostcode)).toEqual(['75011', '75011', '75011', '01000', '01000', '2A004', null, 'B-1000']);
  });
});

describe('files joined end to end', () => {
  it("read as one file, the second file's header line counted as repeated_header", async () => {
    // The base's tiles cut in two files (as INSEE ships the metropolitan and overseas grids), then joined with `cat`.
    const data = tempDir();
    writeBaseWith(data, 'tiles.csv', (header, cells) => [header, ...cells.slice(0, 2), header, ...cells.slice(2)]);
    const out = tempDir();
    const joined = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    expect(rejected(out, 'tiles')).toEqual([['4', '3', 'repeated_header', 'dropped']]);
    const single = tempDir();
    writeBase(single);
    const one = await buildFeatures({ dataDir: single, outDir: tempDir(), asOf: '2026-06-30' });
    one.table.numericNames.forEach((name, k) => expect([...joined.table.numeric[k]], name).toEqual([...one.table.numeric[k]]));
  });

  it('read overlapping exports joined with cat as a folder of them is read: the overlap once', async () => {
    const data = tempDir();
    // Two exports: the first four purchases, then the last four (two in both, over the dates both cover).
    writeBaseWith(data, 'transactions.csv', (header, lines) => [header, ...lines.slice(0, 4), header, ...lines.slice(2)]);
    const out = tempDir();
    const overlapping = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    expect(overlapping.summary.formats?.transactions.joinedParts).toEqual({ parts: 2, repeated: 0, leftOut: 2 });
    expect(describeFormat(overlapping.summary.formats!.transactions).join('; ')).toContain(
      "2 exports joined end to end (the header line repeated), overlapping: 2 row(s) of a later one repeating an earlier one's over the dates both cover left out",
    );
    expect(describeFormat(overlapping.summary.formats!.transactions, 'fr').join(' ; ')).toContain('2 exports mis bout à bout (la ligne d’en-tête répétée), qui se chevauchent : 2 ligne(s)');
    // The second export's copies of lines 4 and 5 (records 6 and 7, after the header's record 5), listed as read from the first.
    expect(rejected(out, 'transactions')).toEqual([['6', '5', 'repeated_header', 'dropped'], ['7', '6', 'repeated_in_earlier_part', 'dropped'], ['8', '7', 'repeated_in_earlier_part', 'dropped']]);
    expect(reasonLabel('repeated_in_earlier_part', 'en')).toMatch(/^repeats a row of an earlier export of the same file/);
    // The overlap's purchases counted once: the features of the base written once.
    const plain = tempDir();
    writeBase(plain);
    const once = await buildFeatures({ dataDir: plain, asOf: '2026-06-30' });
    once.table.numericNames.forEach((name, k) => expect([...overlapping.table.numeric[k]], name).toEqual([...once.table.numeric[k]]));
    // Exports that do not overlap: nothing to say.
    writeBaseWith(data, 'transactions.csv', (header, lines) => [header, ...lines.slice(0, 3), header, ...lines.slice(3)]);
    expect((await buildFeatures({ dataDir: data, asOf: '2026-06-30' })).summary.formats?.transactions?.joinedParts).toBeUndefined();
  });

  it('read a later export amending a row of an earlier one from the later, and keep a few exact repeats that are no overlap', async () => {
    const data = tempDir();
    const day = (d: number) => `2026-01-${String(d).padStart(2, '0')}`;
    // January 1 to 10, then January 6 to 15 with the 8th's amount amended: the 6th to 10th in both.
    const first = Array.from({ length: 10 }, (_, k) => `A,${day(k + 1)},10,store,food,0`);
    const second = Array.from({ length: 10 }, (_, k) => `A,${day(k + 6)},${k + 6 === 8 ? 12 : 10},store,food,0`);
    writeBaseWith(data, 'transactions.csv', (header) => [header, ...first, header, ...second]);
    const out = tempDir();
    const amended = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    expect(amended.summary.formats?.transactions.joinedParts).toEqual({ parts: 2, repeated: 0, leftOut: 4, replaced: 1 });
    expect(describeFormat(amended.summary.formats!.transactions).join('; ')).toContain('and 1 row(s) of an earlier one amended in a later one (the same customer and day) left out for the later rows');
    // The first export's 8 January (line 9), then the second's repeats of the 6th, 7th, 9th and 10th.
    expect(rejected(out, 'transactions')).toEqual([
      ['9', '8', 'replaced_in_later_part', 'dropped'],
      ['12', '11', 'repeated_header', 'dropped'],
      ...[12, 13, 15, 16].map((r) => [String(r + 1), String(r), 'repeated_in_earlier_part', 'dropped']),
    ]);
    // Fifteen days, one purchase each, the 8th at its amended 12.
    expect(numericColumn(amended.table, 'frequency_12m')![0]).toBe(15);
    expect(numericColumn(amended.table, 'monetary_12m')![0]).toBe(14 * 10 + 12);

    // Exports cut otherwise over the same days (a till each): one row alike of six over January 5 to 10, kept and said.
    const other = Array.from({ length: 10 }, (_, k) => `A,${day(k + 5)},${k === 0 ? 10 : 11},web,gifts,0`);
    writeBaseWith(data, 'transactions.csv', (header) => [header, ...first, header, ...other]);
    const kept = await buildFeatures({ dataDir: data, asOf: '2026-06-30' });
    expect(kept.summary.formats?.transactions.joinedParts).toBeUndefined();
    const alike = Array.from({ length: 10 }, (_, k) => `A,${day(k + 5)},${k === 0 ? 10 : 11},${k === 0 ? 'store,food' : 'web,gifts'},0`);
    writeBaseWith(data, 'transactions.csv', (header) => [header, ...first, header, ...alike]);
    const few = await buildFeatures({ dataDir: data, asOf: '2026-06-30' });
    expect(few.summary.formats?.transactions.joinedParts).toEqual({ parts: 2, repeated: 1 });
    expect(describeFormat(few.summary.formats!.transactions).join('; ')).toContain(
      "2 exports joined end to end (the header line repeated), 1 row(s) of a later one repeating an earlier one's exactly, too few over the dates both cover for overlapping exports: kept",
    );
    expect(numericColumn(few.table, 'frequency_12m')![0]).toBe(20);
  });

  it('stop the run at a second header listing the columns in another order, naming its line', async () => {
    const data = tempDir();
    writeBase(data);
    const path = join(data, 'tiles.csv');
    const [header, ...cells] = readFileSync(path, 'utf8').trimEnd().split('\n');
    const reordered = header.replace('Ind,Men,', 'Men,Ind,');
    expect(reordered).not.toBe(header);
    writeFileSync(path, [header, ...cells.slice(0, 2), reordered, ...cells.slice(2)].join('\n') + '\n');
    await expect(buildFeatures({ dataDir: data, outDir: tempDir(), asOf: '2026-06-30' })).rejects.toThrow(/tiles\.csv: line 4 repeats the header with its columns in another order/);
  });

  it('stop the run at a reordered header even in a file whose every column is free text (no value fails a check)', async () => {
    const data = tempDir();
    writeBase(data);
    const path = join(data, 'customers.csv');
    const joined = ['Customer_ID,First_Name,Segment', 'A,Marie,gold', 'B,Jade,', 'First_Name,Customer_ID,Segment', 'Zoé,D,bronze', ',C,new'];
    writeFileSync(path, joined.join('\n') + '\n');
    await expect(buildFeatures({ dataDir: data, outDir: tempDir(), asOf: '2026-06-30' })).rejects.toThrow(/customers\.csv: line 4 repeats the header with its columns in another order/);
    // The same file with the header repeated in its own order reads the four customers.
    writeFileSync(path, [...joined.slice(0, 3), joined[0], 'D,Zoé,bronze', 'C,,new'].join('\n') + '\n');
    const out = tempDir();
    const build = await buildFeatures({ dataDir: data, outDir: out, asOf: '2026-06-30' });
    expect([...build.table.ids].sort()).toEqual(['A', 'B', 'C', 'D']);
    expect(rejected(out, 'customers')).toEqual([['4', '3', 'repeated_header', 'dropped']]);
  });
});

describe('a tiles file saved by a French spreadsheet', () => {
  it('reads its semicolons and decimal commas as the comma-separated file', async () => {
    const comma = tempDir();
    writeBase(comma);
    const semicolon = tempDir();
    writeBase(semicolon);
    const path = join(semicolon, 'tiles.csv');
    // Incomes with decimals (Ind_snv, the 9th column), written with a comma.
    const rows = readFileSync(path, 'utf8').trimEnd().split('\n').map((l, i) => (i === 0 ? l : l.split(',').map((v, k) => (k === 8 ? `${v}.25` : v)).join(',')));
    writeFileSync(join(comma, 'tiles.csv'), rows.join('\n') + '\n');
    writeFileSync(path, rows.map((l) => l.split(',').map((v) => v.replace('.', ',')).join(';')).join('\n') + '\n');
    expect(readFileSync(path, 'utf8')).toContain(',25;');
    const a = await buildFeatures({ dataDir: comma, outDir: tempDir(), asOf: '2026-06-30' });
    const b = await buildFeatures({ dataDir: semicolon, outDir: tempDir(), asOf: '2026-06-30' });
    expect(b.rejects).toEqual([]);
    expect(numericColumn(b.table, 'tile_income')![0]).toBeCloseTo(20000.0025, 2);
    a.table.numericNames.forEach((name, k) => expect([...b.table.numeric[k]], name).toEqual([...a.table.numeric[k]]));
  });
});

describe('a tiles file of which no row is a 200 m cell', () => {
  it('stops the run, naming the file, the reasons and the first id', async () => {
    const data = tempDir();
    writeBase(data);
    const a = cellOf(A.lat, A.lon);
    writeFileSync(join(data, 'tiles.csv'), [TILE_HEADER, tile(`CRS3035RES1000mN${a.y}E${a.x}`, 100), tile(`CRS3035RES1000mN${a.y + 1000}E${a.x}`, 100)].join('\n') + '\n');
    const run = buildFeatures({ dataDir: data, outDir: tempDir(), asOf: '2026-06-30' });
    await expect(run).rejects.toBeInstanceOf(InputError);
    await expect(run).rejects.toThrow(new RegExp(`tiles\\.csv: no row is a usable 200 m cell \\(2 bad_cell_id\\); expected .*; the first row reads idcar_200m "CRS3035RES1000mN${a.y}E${a.x}"$`));
  });
});

describe('a births file of which no row gives a count', () => {
  it('stops the run, naming the file, the reasons and the first row (here sexes written F and M)', async () => {
    const data = tempDir();
    writeBase(data);
    writeFileSync(join(data, 'first_names.csv'), ['sexe;preusuel;annais;nombre', 'F;JADE;2015;100', 'F;JADE;XXXX;50', 'M;LUC;1980;30'].join('\n') + '\n');
    const run = buildFeatures({ dataDir: data, outDir: tempDir(), asOf: '2026-06-30' });
    await expect(run).rejects.toBeInstanceOf(InputError);
    await expect(run).rejects.toThrow(/first_names\.csv: no row is a usable count of births \(3 bad_sex_code\); expected sexe 1 or 2, .*; the first row reads sexe "F", preusuel "JADE", annais "2015", nombre "100"$/);
  });
});

describe('the postcode file', () => {
  it('is parsed once while it does not change, and again when it does', () => {
    const path = join(tempDir(), 'laposte_hexasmal.csv');
    writeFileSync(path, [POSTCODE_HEADER, LYON].join('\n') + '\n');
    const first = readPostcodePoints(path);
    expect(readPostcodePoints(path)).toBe(first);
    expect(first.points.get('69001')).toEqual([{ lat: 45.7675, lon: 4.8345 }]);
    writeFileSync(path, [POSTCODE_HEADER, LYON, '69382;LYON 2E;69002;;LYON;45.75,4.83'].join('\n') + '\n');
    const second = readPostcodePoints(path);
    expect(second).not.toBe(first);
    expect(second.points.get('69002')).toEqual([{ lat: 45.75, lon: 4.83 }]);
  });
});
