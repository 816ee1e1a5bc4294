// Client exports as French spreadsheets write them: Windows-1252 or UTF-16 text, semicolons or
// tabs, decimal commas, dates day first. The same base written both ways gives the same features.
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBase } from '../../src/demo/index.ts';
import { InputError } from '../../src/errors.ts';
import { describeFormat, detectEncoding, scanStream, scanText, sniffDelimiter, transcodeToUtf8 } from '../../src/features/formats.ts';
import { buildFeatures, numericColumn, type FeatureBuild } from '../../src/features/index.ts';
import { readDataSummary } from '../../src/features/summary.ts';
import { tempDir } from '../helpers/world.ts';

/** The rows of a demo CSV (no quoted fields there), header first. */
const readRows = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => l.split(','));

/** ISO date or datetime -> 25/04/2026 [14:32:05]. */
const dayFirst = (iso: string) => {
  const [y, m, d] = iso.slice(0, 10).split('-');
  return `${d}/${m}/${y}${iso.length > 10 ? ' ' + iso.slice(11, 19) : ''}`;
};

/** 1234.5 -> "1 234,50" with a no-break space between thousands, as a French spreadsheet writes it. */
const frenchNumber = (text: string) => {
  const [int, frac] = text.split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');
  return frac === undefined ? grouped : `${grouped},${frac}`;
};

describe('encodings', () => {
  const dir = tempDir('personas-enc-');

  it('reads UTF-8 whose multi-byte characters straddle the 1 MB read chunks as UTF-8', async () => {
    // A chunk is 1 MiB: put a 2-, 3- and 4-byte character across each of three chunk ends.
    const mib = 1 << 20;
    const parts = [Buffer.alloc(mib - 1, 'a'), Buffer.from('é'), Buffer.alloc(mib - 2, 'b'), Buffer.from('€'), Buffer.alloc(mib - 3, 'c'), Buffer.from('😀'), Buffer.from('\n')];
    const path = join(dir, 'straddle.csv');
    writeFileSync(path, Buffer.concat(parts));
    expect(await detectEncoding(path)).toBe('utf-8');
    // The native scan reads 16 MiB at a time: the same across its read ends, and a blank line
    // split by one (the first line end the last byte of a read).
    const big = 16 * mib;
    const scanned = join(dir, 'straddle-16.csv');
    writeFileSync(scanned, Buffer.concat([Buffer.alloc(big - 1, 'a'), Buffer.from('é'), Buffer.alloc(big - 3, 'b'), Buffer.from('😀'), Buffer.alloc(big - 2, 'c'), Buffer.from('€\n')]));
    expect(scanText(scanned)).toEqual({ encoding: 'utf-8', blankLine: false, quote: false });
    writeFileSync(scanned, Buffer.concat([Buffer.alloc(big - 1, 'a'), Buffer.from('\n\nb\n')]));
    expect(scanText(scanned)).toEqual({ encoding: 'utf-8', blankLine: true, quote: false });
    // A quote in the second read, found as well.
    writeFileSync(scanned, Buffer.concat([Buffer.alloc(big + 10, 'a'), Buffer.from('\n"b"\n')]));
    expect(scanText(scanned)).toEqual({ encoding: 'utf-8', blankLine: false, quote: true });
    writeFileSync(scanned, Buffer.concat([Buffer.alloc(big - 2, 'a'), Buffer.from('\n\r\nb\n')]));
    expect(scanText(scanned)).toEqual({ encoding: 'utf-8', blankLine: true, quote: false });
    // A cut sequence at the very end is not UTF-8.
    writeFileSync(scanned, Buffer.concat([Buffer.alloc(big, 'a'), Buffer.from([0xe2, 0x82])]));
    expect(scanText(scanned).encoding).toBe('windows-1252');
    // A gzip file in one pass of its decompressed chunks (16 KiB each): the same answers, a blank
    // line and a 3-byte character cut by a chunk end found, a quote far in.
    const gz = join(dir, 'straddle.csv.gz');
    const chunk = 16 * 1024;
    writeFileSync(gz, gzipSync(Buffer.concat([Buffer.alloc(chunk - 1, 'a'), Buffer.from('\n\nb'), Buffer.alloc(chunk - 4, 'c'), Buffer.from('€\n')])));
    expect(await scanStream(gz)).toEqual({ encoding: 'utf-8', blankLine: true, quote: false });
    writeFileSync(gz, gzipSync(Buffer.concat([Buffer.alloc(5 * chunk, 'a'), Buffer.from('\n"b"\r\n')])));
    expect(await scanStream(gz)).toEqual({ encoding: 'utf-8', blankLine: false, quote: true });
    writeFileSync(gz, gzipSync(Buffer.concat([Buffer.alloc(chunk - 2, 'a'), Buffer.from('\n\r\nb\n')])));
    expect(await scanStream(gz)).toEqual({ encoding: 'utf-8', blankLine: true, quote: false });
    writeFileSync(gz, gzipSync(Buffer.concat([Buffer.alloc(chunk, 'a'), Buffer.from([0xe2, 0x82])])));
    expect(await scanStream(gz)).toEqual({ encoding: 'windows-1252' });
  });

  it('tells Windows-1252 by a byte far into the file, and decodes its French letters', async () => {
    const path = join(dir, 'latin.csv');
    const body = 'customer_id;first_name\n' + Array.from({ length: 100_000 }, (_, i) => `C${i};Marie`).join('\n') + '\nC100000;Hélène Cœur\n';
    writeFileSync(path, encode1252(body));
    expect(await detectEncoding(path)).toBe('windows-1252');
    expect(scanText(path)).toEqual({ encoding: 'windows-1252' });
    const out = join(dir, 'latin.utf8.csv');
    await transcodeToUtf8(path, 'windows-1252', out);
    expect(readFileSync(out, 'utf8').endsWith('C100000;Hélène Cœur\n')).toBe(true);
    // Compressed, the same.
    const gz = join(dir, 'latin.csv.gz');
    writeFileSync(gz, gzipSync(readFileSync(path)));
    expect(await detectEncoding(gz)).toBe('windows-1252');
  });

  it('reads UTF-16 by its byte order mark, little- or big-endian', async () => {
    const le = join(dir, 'le.txt');
    writeFileSync(le, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a\tb\nZoé\t1\n', 'utf16le')]));
    expect(await detectEncoding(le)).toBe('utf-16le');
    expect(scanText(le)).toEqual({ encoding: 'utf-16le' });
    const out = join(dir, 'le.utf8.csv');
    await transcodeToUtf8(le, 'utf-16le', out);
    expect(readFileSync(out, 'utf8')).toBe('a\tb\nZoé\t1\n');
    const be = join(dir, 'be.txt');
    writeFileSync(be, Buffer.from(Buffer.from('\ufeffa\n', 'utf16le')).swap16());
    expect(await detectEncoding(be)).toBe('utf-16be');
  });

  it('finds the delimiter from the header: tab, semicolon or comma', () => {
    expect(sniffDelimiter('customer_id\tts\tamount')).toBe('\t');
    expect(sniffDelimiter('customer_id;ts;amount')).toBe(';');
    expect(sniffDelimiter('customer_id,ts,amount')).toBe(',');
    expect(sniffDelimiter('customer_id')).toBe(',');
  });
});

const TILES_HEADER =
  'idcar_200m,ind,men,men_pauv,men_1ind,men_5ind,men_prop,men_fmp,ind_snv,men_surf,men_coll,men_mais,log_av45,log_45_70,log_70_90,log_ap90,log_inc,log_soc,' +
  'ind_0_3,ind_4_5,ind_6_10,ind_11_17,ind_18_24,ind_25_39,ind_40_54,ind_55_64,ind_65_79,ind_80p,ind_inc\n';

/** Windows-1252 bytes of a text made of Latin-1 letters, the euro sign and the French ligatures. */
function encode1252(text: string): Buffer {
  const special: Record<string, number> = { '€': 0x80, 'œ': 0x9c, 'Œ': 0x8c, '’': 0x92 };
  return Buffer.from([...text].map((ch) => special[ch] ?? (ch.charCodeAt(0) < 256 ? ch.charCodeAt(0) : 0x3f)));
}

describe('a base exported from a French spreadsheet', () => {
  let plain: FeatureBuild;
  let french: FeatureBuild;
  let frenchDir: string;
  let shortPostcodes = 0;

  beforeAll(async () => {
    const demo = await writeDemoBase(join(tempDir('personas-fr-'), 'demo'), { customers: 600, seed: 3 });
    const plainDir = demo.dir;
    frenchDir = tempDir('personas-fr-export-');
    for (const f of ['tiles.csv', 'first_names.csv']) copyFileSync(join(plainDir, f), join(frenchDir, f));

    // A client column with decimals, in both bases: carried as a numeric feature either way.
    const customers = readRows(join(plainDir, 'customers.csv'));
    customers.forEach((r, i) => r.push(i === 0 ? 'basket_target' : i % 7 === 0 ? '' : `${(i % 50) * 10}.${i % 10}5`));
    writeFileSync(join(plainDir, 'customers.csv'), customers.map((r) => r.join(',')).join('\n') + '\n');
    const col = (name: string) => customers[0].indexOf(name);
    const [lat, lon, signup, target, sex, birthYear, postcode] = ['lat', 'lon', 'signup_date', 'basket_target', 'sex', 'birth_year', 'postcode'].map(col);
    // customers: Windows-1252, semicolons, CRLF, decimal commas, signup dates day first, the sex as
    // a title or INSEE's code, dates of birth for years, postcodes without their leading 0.
    const titles: Record<string, string[]> = { F: ['Mme', '2', 'Femme', 'F', 'Féminin', 'Madame', 'Mrs', 'mlle'], M: ['M.', '1', 'Homme', 'H', 'Masculin', 'Monsieur', 'Mr', 'm'] };
    shortPostcodes = 0;
    const customersFr = customers.map((r, i) => {
      if (i === 0) return r;
      return r.map((v, j) => {
        if (j === lat || j === lon || j === target) return frenchNumber(v);
        if (j === signup && v) return dayFirst(v);
        if (j === sex && v) return titles[v][i % 8];
        if (j === birthYear && v && i % 2) return i % 4 === 1 ? `15/03/${v}` : `${v}-03-15`;
        if (j === postcode && v.startsWith('0')) return shortPostcodes++, v.slice(1);
        return v;
      });
    });
    writeFileSync(join(frenchDir, 'customers.csv'), encode1252(customersFr.map((r) => r.join(';')).join('\r\n') + '\r\n'));

    // transactions: UTF-8 with a byte order mark, semicolons, "1 234,50", dates day first (some with a time).
    const tx = readRows(join(plainDir, 'transactions.csv'));
    const [ts, amount] = ['ts', 'amount'].map((n) => tx[0].indexOf(n));
    // Some amounts carry the euro sign; every line ends with a semicolon (an empty column without a name).
    const txFr = tx.map((r, i) => (i === 0 ? r : r.map((v, j) => (j === amount ? frenchNumber(v) + (i % 5 ? '' : '\u00a0€') : j === ts ? dayFirst(i % 3 ? v : `${v.slice(0, 10)}T12:30:00`) : v))));
    writeFileSync(join(frenchDir, 'transactions.csv'), '\ufeff' + txFr.map((r) => r.join(';') + ';').join('\r\n') + '\r\n');

    // interactions: "Unicode text": UTF-16 little-endian with its mark, tab-separated, as .txt.
    const ix = readRows(join(plainDir, 'interactions.csv'));
    const ixFr = ix.map((r, i) => (i === 0 ? r : r.map((v, j) => (j === 1 ? dayFirst(v) : v))));
    writeFileSync(join(frenchDir, 'interactions.txt'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(ixFr.map((r) => r.join('\t')).join('\r\n') + '\r\n', 'utf16le')]));

    plain = await buildFeatures({ dataDir: plainDir });
    french = await buildFeatures({ dataDir: frenchDir, outDir: join(frenchDir, 'out') });
  }, 120_000);

  it('gives every feature of the UTF-8, comma-separated base, to the value', () => {
    expect(shortPostcodes).toBeGreaterThan(10);
    expect(french.rejects).toEqual([{ file: 'customers', reason: 'short_postcode', action: 'kept: leading 0 restored', rows: shortPostcodes }]);
    expect(plain.rejects).toEqual([]);
    expect(french.asOf).toBe(plain.asOf);
    expect(french.table.ids).toEqual(plain.table.ids);
    expect(french.table.numericNames).toEqual(plain.table.numericNames);
    expect(french.table.categoricalNames).toEqual(plain.table.categoricalNames);
    plain.table.numericNames.forEach((name, i) => {
      expect([name, Array.from(french.table.numeric[i])]).toEqual([name, Array.from(plain.table.numeric[i])]);
    });
    plain.table.categoricalNames.forEach((name, i) => expect([name, french.table.categorical[i]]).toEqual([name, plain.table.categorical[i]]));
    // The features the conventions touch are really there: ages from accented first names,
    // amounts, coordinates (tiles found), the client's decimal column.
    for (const name of ['age', 'monetary_12m', 'tile_found', 'basket_target', 'email_open_rate']) {
      const i = plain.table.numericNames.indexOf(name);
      expect([name, Array.from(plain.table.numeric[i]).filter((v) => Number.isFinite(v) && v !== 0).length > 50]).toEqual([name, true]);
    }
  });

  it('says how each file was read, in features.json', () => {
    expect(plain.summary.formats).toBeUndefined();
    const summary = JSON.parse(readFileSync(join(frenchDir, 'out', 'features.json'), 'utf8')) as FeatureBuild['summary'];
    // What the report and a published version keep of it.
    expect(readDataSummary(join(frenchDir, 'out', 'features.json'))).toEqual({ rows: 600, asOf: french.asOf, rejects: french.rejects, formats: summary.formats });
    expect(summary.formats).toEqual({
      customers: { encoding: 'windows-1252', delimiter: ';', decimalComma: true, dateOrder: 'day-first' },
      transactions: { encoding: 'utf-8', delimiter: ';', decimalComma: true, dateOrder: 'day-first', ignoredColumns: 1 },
      interactions: { encoding: 'utf-16le', delimiter: '\t', decimalComma: true, dateOrder: 'day-first' },
    });
  });
});

describe('columns under another name', () => {
  it('names the column that looks like a missing required one, with the mapping to give', async () => {
    const dir = tempDir('personas-cols-');
    writeFileSync(join(dir, 'customers.csv'), 'customer_id\nA\n');
    writeFileSync(join(dir, 'transactions.csv'), 'Id Client;Date d’achat;Montant TTC\nA;2026-04-25;10,5\n');
    writeFileSync(join(dir, 'interactions.csv'), 'customer_id,ts,type\n');
    writeFileSync(join(dir, 'tiles.csv'), TILES_HEADER);
    const err = await buildFeatures({ dataDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(
      `${join(dir, 'transactions.csv')}: required column "customer_id" is missing (found: Id Client, Date d’achat, Montant TTC; "Id Client" looks like it: map it with --columns, e.g. {"transactions":{"Id Client":"customer_id"}})`,
    );
  });

  it('says which client columns look like optional contract ones, and reads them as client columns until mapped', async () => {
    const dir = tempDir('personas-cols-');
    writeFileSync(join(dir, 'customers.csv'), 'customer_id,Prénom,Code Postal,segment\nA,Zoé,01000,gold\n');
    writeFileSync(join(dir, 'transactions.csv'), 'customer_id,ts,amount,canal\nA,2026-04-25,10.5,web\n');
    writeFileSync(join(dir, 'interactions.csv'), 'customer_id,ts,type\n');
    for (const f of ['tiles.csv', 'first_names.csv']) writeFileSync(join(dir, f), f === 'tiles.csv' ? TILES_HEADER : 'sexe;preusuel;annais;nombre\n');
    const logged: string[] = [];
    const progress = { stage() {}, tick() {}, done() {}, log: (m: string) => logged.push(m) };
    const built = await buildFeatures({ dataDir: dir, progress: progress as never });
    const expected = [
      `${join(dir, 'customers.csv')}: no "first_name" column, and "Prénom" looks like one: it is read as a client column of its own unless mapped with --columns, e.g. {"customers":{"Prénom":"first_name"}}`,
      `${join(dir, 'customers.csv')}: no "postcode" column, and "Code Postal" looks like one: it is read as a client column of its own unless mapped with --columns, e.g. {"customers":{"Code Postal":"postcode"}}`,
      `${join(dir, 'transactions.csv')}: no "channel" column, and "canal" looks like one: it is read as a client column of its own unless mapped with --columns, e.g. {"transactions":{"canal":"channel"}}`,
    ];
    expect(logged.filter((l) => l.includes('looks like one'))).toEqual(expected);
    expect(built.summary.suggestions).toEqual([
      { file: 'customers', column: 'Prénom', contract: 'first_name' },
      { file: 'customers', column: 'Code Postal', contract: 'postcode' },
      { file: 'transactions', column: 'canal', contract: 'channel' },
    ]);
    expect([...built.table.numericNames, ...built.table.categoricalNames]).toContain('code postal');
    // Mapped as suggested, they are the contract's columns.
    const mapped = await buildFeatures({ dataDir: dir, columnMap: { customers: { Prénom: 'first_name', 'Code Postal': 'postcode' }, transactions: { canal: 'channel' } } });
    expect(mapped.summary.suggestions).toBeUndefined();
    expect([...mapped.table.numericNames, ...mapped.table.categoricalNames]).not.toContain('code postal');
    expect(Array.from(mapped.table.numeric[mapped.table.numericNames.indexOf('share_web')])).toEqual([1]);
  });
});

describe('the data summary of a features.json', () => {
  it('is null without the file, and names the file and field of one that is not a summary', () => {
    const dir = tempDir('personas-summary-');
    expect(readDataSummary(join(dir, 'features.json'))).toBeNull();
    writeFileSync(join(dir, 'features.json'), JSON.stringify({ rows: 10, asOf: '2026-06-30', rejects: [{ file: 'transactions', reason: 'bad_date', action: 'dropped', rows: -1 }] }));
    expect(() => readDataSummary(join(dir, 'features.json'))).toThrow(new RegExp(`^${join(dir, 'features.json')}: field 'rejects.0.rows': `));
    writeFileSync(join(dir, 'features.json'), '{"rows": ');
    expect(() => readDataSummary(join(dir, 'features.json'))).toThrow(/features\.json: not valid JSON/);
  });
});

describe('dates, numbers and fields that do not read', () => {
  const write = (rows: string[]) => {
    const dir = tempDir('personas-fr-dates-');
    writeFileSync(join(dir, 'customers.csv'), 'customer_id;signup_date\nA;01/02/2025\nB;\n');
    writeFileSync(join(dir, 'transactions.csv'), ['customer_id;ts;amount', ...rows].join('\n') + '\n');
    writeFileSync(join(dir, 'interactions.csv'), 'customer_id,ts,type\n');
    writeFileSync(join(dir, 'tiles.csv'), TILES_HEADER);
    writeFileSync(join(dir, 'first_names.csv'), 'sexe;preusuel;annais;nombre\n');
    return dir;
  };

  it('reads month first when a date says so and none says day first; day first otherwise', async () => {
    const us = await buildFeatures({ dataDir: write(['A;04/25/2026;10,5', 'A;05/01/2026;1']) });
    expect(us.asOf).toBe('2026-05-01');
    expect(us.summary.formats?.transactions.dateOrder).toBe('month-first');
    // Every date could be either: the French reading, 5 January.
    const ambiguous = await buildFeatures({ dataDir: write(['A;04/01/2026;10,5', 'A;05/01/2026;1']) });
    expect(ambiguous.asOf).toBe('2026-01-05');
    expect(ambiguous.summary.formats?.transactions.dateOrder).toBe('day-first');
    // The customer's signup date is read day first in its own file.
    expect(ambiguous.summary.formats?.customers.dateOrder).toBe('day-first');
  });

  it("reads dates with a two-digit year (25/04/26, a spreadsheet's short date) as the four-digit ones, of this century up to next year, else of the last", async () => {
    const long = await buildFeatures({ dataDir: write(['A;25/04/2026;10,5', 'A;24/04/2026 14:32;3', 'A;20/04/2026;1']) });
    const dir = write(['A;25/04/26;10,5', 'A;24/04/26 14:32;3', 'A;20/04/2026;1', 'A;31/13/26;2']);
    writeFileSync(join(dir, 'customers.csv'), 'customer_id;signup_date\nA;15/03/55\nB;01/02/25\n');
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
    expect(built.summary.formats?.transactions).toMatchObject({ dateOrder: 'day-first', shortYear: true });
    expect(built.asOf).toBe('2026-04-25');
    const behaviour = long.table.numericNames.filter((n) => n !== 'tenure_days');
    for (const name of behaviour) expect(Array.from(numericColumn(built.table, name)!), name).toEqual(Array.from(numericColumn(long.table, name)!));
    expect(built.rejects).toEqual([{ file: 'transactions', reason: 'bad_date', action: 'dropped', rows: 1 }]);
    // 55 is 1955, not 2055; 25 is 2025.
    const day = (iso: string) => Date.parse(iso) / 86_400_000;
    expect(Array.from(numericColumn(built.table, 'tenure_days')!)).toEqual([day('2026-04-25') - day('1955-03-15'), day('2026-04-25') - day('2025-02-01')]);
    expect(built.summary.formats?.customers).toMatchObject({ dateOrder: 'day-first', shortYear: true });
    expect(describeFormat(built.summary.formats!.transactions)).toContain('a two-digit year of this century up to next year, else of the last (25/04/26)');
    expect(describeFormat(built.summary.formats!.transactions, 'fr')).toContain('une année en deux chiffres de ce siècle jusqu’à l’an prochain, sinon du précédent (25/04/26)');
  });

  it('reads dates whose parts a dash or a dot separates (25-04-2026, 25.04.2026) as the slashed ones, and says so', async () => {
    for (const sep of ['-', '.'] as const) {
      const slashed = await buildFeatures({ dataDir: write(['A;25/04/2026;10,5', 'A;24/04/2026 14:32:05;3', 'A;2026-04-20;1']) });
      const dir = write([`A;25${sep}04${sep}2026;10,5`, `A;24${sep}04${sep}2026 14:32:05;3`, 'A;2026-04-20;1', `A;31${sep}13${sep}2026;2`]);
      const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
      expect(built.summary.formats?.transactions).toMatchObject({ dateOrder: 'day-first', dateSeparator: sep });
      expect(built.asOf).toBe('2026-04-25');
      expect(built.table.numeric).toEqual(slashed.table.numeric);
      expect(built.rejects).toEqual([{ file: 'transactions', reason: 'bad_date', action: 'dropped', rows: 1 }]);
      expect(describeFormat(built.summary.formats!.transactions)).toContain(`dates read day first (25${sep}04${sep}2026)`);
      expect(describeFormat(built.summary.formats!.transactions, 'fr')).toContain(`dates lues jour en premier (25${sep}04${sep}2026)`);
      const us = await buildFeatures({ dataDir: write([`A;04${sep}25${sep}2026;10,5`, `A;05${sep}01${sep}2026;1`]) });
      expect(us.summary.formats?.transactions).toMatchObject({ dateOrder: 'month-first', dateSeparator: sep });
      expect(us.asOf).toBe('2026-05-01');
    }
  });

  /**
   * Purchases dated as numbers (`rows`, the fourth no date): read as `order` says, the features
   * those of the ISO-dated `iso`, the fourth rejected with its line; in a file of ISO dates, a
   * number (`number`) is no date.
   */
  const numberedDates = async (rows: string[], order: string, iso: FeatureBuild, bad: string, number: string) => {
    const dir = write(rows);
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
    expect(built.summary.formats?.transactions.dateOrder).toBe(order);
    expect(built.asOf).toBe('2026-04-25');
    expect(built.table.numeric).toEqual(iso.table.numeric);
    expect(built.rejects).toEqual([{ file: 'transactions', reason: 'bad_date', action: 'dropped', rows: 1 }]);
    expect(readFileSync(join(dir, 'out', 'rejects', 'transactions.csv'), 'utf8')).toContain(`5,4,bad_date,dropped,A,${bad},2`);
    const stray = await buildFeatures({ dataDir: write(['A;2026-04-25;10,5', 'A;2026-04-24;3', `A;${number};1`]) });
    expect(stray.summary.formats?.transactions.dateOrder).toBeUndefined();
    expect(stray.rejects).toEqual([{ file: 'transactions', reason: 'bad_date', action: 'dropped', rows: 1 }]);
    return { built, dir };
  };

  it("reads dates written as a spreadsheet's day numbers (46137 for 2026-04-25, a time as decimals) when they are the file's way", async () => {
    const iso = await buildFeatures({ dataDir: write(['A;2026-04-25;10,5', 'A;2026-04-24 14:24:00;3', 'A;2026-04-20;1']) });
    const { built } = await numberedDates(['A;46137;10,5', 'A;46136,6;3', 'A;46132;1', 'A;4613;2'], 'serial', iso, '4613', '46137');
    expect(describeFormat(built.summary.formats!.transactions)).toContain("dates written as a spreadsheet's day numbers (46137 for 2026-04-25)");
  });

  it("reads dates written as Unix times (seconds or milliseconds since 1970: what apps and web analytics export) when they are the file's way, as the time in France, and says so", async () => {
    // The moments below as a Paris clock shows them (summer time, UTC + 2): 22:30 UTC on the 24th is the 25th.
    const iso = await buildFeatures({ dataDir: write(['A;2026-04-25 00:30:00;10,5', 'A;2026-04-24 16:24:00;3', 'A;2026-04-20 23:59:59.5;1']) });
    const unix = (utc: string) => Date.parse(`${utc}Z`) / 1000;
    expect(unix('2026-04-25T00:00:00')).toBe(1777075200);
    // Seconds, milliseconds, seconds with decimals; an eleven-digit number is neither.
    const rows = [`A;${unix('2026-04-24T22:30:00')};10,5`, `A;${unix('2026-04-24T14:24:00') * 1000};3`, `A; ${unix('2026-04-20T21:59:59.5')} ;1`, 'A;17770752000;2'];
    const { built, dir } = await numberedDates(rows, 'unix', iso, '17770752000', String(unix('2026-04-25T00:00:00')));
    expect(describeFormat(built.summary.formats!.transactions)).toContain('dates written as Unix times, seconds or milliseconds since 1970 (1777075200 for 2026-04-25 at 02:00 in Paris), read as the time in France');
    expect(describeFormat(built.summary.formats!.transactions, 'fr')).toContain('dates écrites en temps Unix, secondes ou millisecondes depuis 1970 (1777075200 pour le 25/04/2026 à 2 h à Paris), lues à l’heure française');
    // Read back from features.json by the report's schema.
    expect(readDataSummary(join(dir, 'out', 'features.json'))?.formats?.transactions.dateOrder).toBe('unix');
  });

  it('reads an ISO time in UTC (ending in Z) as the time in France, one with another offset as its writer wrote it', async () => {
    const zoned = await buildFeatures({ dataDir: write(['A;2026-04-24T22:30:00Z;10,5', 'A;2026-04-24T23:30:00+02:00;3', 'A;2026-01-10T23:30:00.250Z;2']) });
    // Winter time in January (UTC + 1): 23:30 UTC on the 10th is the 11th at 00:30.
    const local = await buildFeatures({ dataDir: write(['A;2026-04-25 00:30:00;10,5', 'A;2026-04-24 23:30:00;3', 'A;2026-01-11 00:30:00.25;2']) });
    expect(zoned.asOf).toBe('2026-04-25');
    expect(zoned.table.numeric).toEqual(local.table.numeric);
    expect(zoned.rejects).toEqual([]);
  });

  it("reads dates with the month in words (Oracle's 25-APR-26, 25 avr. 2026) when they are the file's way, and says so", async () => {
    const dir = write(['A;25-APR-26;10', 'A;24-avr.-2026;5', 'A;3 mars 2026 14:05;2', 'A;15 Janvier 2026;3', 'A;01-DEC-95;4', 'A;31-FEB-26;1', 'A;12-XYZ-26;1', 'A;2026-04-20;7']);
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
    expect(built.asOf).toBe('2026-04-25');
    expect(built.summary.formats?.transactions.dateOrder).toBe('month-name');
    expect(describeFormat(built.summary.formats!.transactions)).toContain('dates with the month in words read (25-APR-26, 25 avr. 2026; a two-digit year of this century up to next year, else of the last)');
    // 31 February and a month named XYZ are no dates; 01-DEC-95 is 1995, before the twelve months.
    expect(built.rejects).toEqual([{ file: 'transactions', reason: 'bad_date', action: 'dropped', rows: 2 }]);
    const feature = (name: string) => built.table.numeric[built.table.numericNames.indexOf(name)][0];
    expect([feature('frequency_12m'), feature('monetary_12m'), feature('recency_days')]).toEqual([5, 27, 0]);
    expect(readFileSync(join(dir, 'out', 'rejects', 'transactions.csv'), 'utf8')).toContain('A,31-FEB-26,1');
  });

  it('rejects a date that reads neither way, with its line, and keeps the others', async () => {
    const dir = write(['A;25/04/2026;10,5', 'A;04/25/2026;3', 'A;2026-04-20;2,25', 'A;21/04/2026;1']);
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
    expect(built.rejects).toEqual([{ file: 'transactions', reason: 'bad_date', action: 'dropped', rows: 1 }]);
    expect(readFileSync(join(dir, 'out', 'rejects', 'transactions.csv'), 'utf8')).toContain('3,2,bad_date,dropped,A,04/25/2026,3');
    expect(built.asOf).toBe('2026-04-25');
  });

  it('reads 2026/04/25 as the ISO date it is, not as a slashed date of either order', async () => {
    const built = await buildFeatures({ dataDir: write(['A;2026/04/25;10,5', 'A;2026/04/24;3']) });
    expect(built.asOf).toBe('2026-04-25');
    expect(built.summary.formats?.transactions.dateOrder).toBeUndefined();
    expect(built.rejects).toEqual([]);
  });

  it("reads compact dates (20260425) when they are the file's way, and rejects one that is no date", async () => {
    const dir = write(['A;20260425;10,5', 'A;20260424 14:32;3', 'A;20261345;2', 'A;2026-04-20;1']);
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
    expect(built.summary.formats?.transactions.dateOrder).toBe('compact');
    expect(built.asOf).toBe('2026-04-25');
    // 13th month: no date; the ISO date still reads.
    expect(built.rejects).toEqual([{ file: 'transactions', reason: 'bad_date', action: 'dropped', rows: 1 }]);
    expect(readFileSync(join(dir, 'out', 'rejects', 'transactions.csv'), 'utf8')).toContain('4,3,bad_date,dropped,A,20261345,2');
    expect(Array.from(built.table.numeric[built.table.numericNames.indexOf('frequency_12m')])).toEqual([3, 0]);
    // In a file of ISO dates, a compact one is a corrupted row.
    const iso = await buildFeatures({ dataDir: write(['A;2026-04-25;10,5', 'A;2026-04-24;3', 'A;20260423;1']) });
    expect(iso.summary.formats?.transactions.dateOrder).toBeUndefined();
    expect(iso.rejects).toEqual([{ file: 'transactions', reason: 'bad_date', action: 'dropped', rows: 1 }]);
  });

  it('takes the year of a date of birth in any layout, reads a bare two-digit year, and sets implausible birth years missing', async () => {
    const dir = write(['A;2026-04-25;10,5']);
    // Two-digit years, of dates of birth or alone: this century where the customer is then 16 or
    // older (2010 in 2026), else the last; 00 and a single digit are not read.
    const years = ['1972', '19720315', '15/03/1972', '15-03-1972', '15.03.1972', '1972-03-15', '1900', '72', '2072', '1850', '2026', '15/03/72', '01.02.10', '01/02/11', '25/04/26', '05', '10', ' 11 ', '00', '7'];
    writeFileSync(join(dir, 'customers.csv'), ['customer_id;birth_year', ...years.map((y, i) => `C${i};${y}`), 'A;'].join('\n') + '\n');
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out'), asOf: '2026-06-30' });
    const age = Array.from(built.table.numeric[built.table.numericNames.indexOf('age')]);
    // No first name: an age comes from the birth year alone.
    expect(age.map((a) => (Number.isFinite(a) ? a : null))).toEqual([54, 54, 54, 54, 54, 54, null, 54, null, null, 0, 54, 16, 115, 100, 21, 16, 115, null, null, null]);
    expect(built.rejects).toEqual([
      { file: 'customers', reason: 'bad_birth_year', action: 'kept: set missing', rows: 5 },
      { file: 'customers', reason: 'two_digit_birth_year', action: 'kept: read as a year (72 as 1972)', rows: 4 },
    ]);
    const rejected = readFileSync(join(dir, 'out', 'rejects', 'customers.csv'), 'utf8');
    for (const [line, y] of [[8, '1900'], [10, '2072'], [11, '1850'], [20, '00'], [21, '7']]) expect(rejected).toContain(`${line},${Number(line) - 1},bad_birth_year,kept: set missing,C${Number(line) - 2},${y}`);
    for (const [line, y] of [[9, '72'], [17, '05'], [18, '10'], [19, ' 11 ']]) expect(rejected).toContain(`${line},${Number(line) - 1},two_digit_birth_year,kept: read as a year (72 as 1972),C${Number(line) - 2},${y}`);
  });

  it('says to save an OpenDocument workbook as .xlsx or CSV when the data directory holds one instead of the CSV', async () => {
    const dir = write([]);
    rmSync(join(dir, 'transactions.csv'));
    writeFileSync(join(dir, 'transactions.ods'), 'PK');
    await expect(buildFeatures({ dataDir: dir })).rejects.toThrow(
      `${join(dir, 'transactions.ods')}: Excel 97-2003 (.xls) and OpenDocument (.ods) workbooks are not read; save it as an Excel workbook (.xlsx), or the sheet as "CSV UTF-8" (or "CSV (semicolon)", which is read as well), as transactions.xlsx or transactions.csv in ${dir}`,
    );
  });

  it('keeps quoted fields in a file with an empty line (the line count leaves empty lines out)', async () => {
    const dir = write(['"A";2026-04-25;"10,5"', '', 'A;2026-04-24;3']);
    const built = await buildFeatures({ dataDir: dir });
    expect(built.rejects).toEqual([{ file: 'transactions', reason: 'empty_line', action: 'dropped', rows: 1 }]);
    expect(Array.from(built.table.numeric[built.table.numericNames.indexOf('monetary_12m')])).toEqual([13.5, 0]);
  });

  it('rejects slashed dates in a file whose dates are ISO: a corrupted row, not a convention', async () => {
    const dir = write(['A;2026-04-25;10,5', 'A;2026-04-24;3', 'A;31/12/2025;1']);
    const built = await buildFeatures({ dataDir: dir });
    expect(built.rejects).toEqual([{ file: 'transactions', reason: 'bad_date', action: 'dropped', rows: 1 }]);
    expect(built.summary.formats?.transactions.dateOrder).toBeUndefined();
  });

  it('stops at a column without a name that holds values, naming its position and first line', async () => {
    const dir = write([]);
    writeFileSync(join(dir, 'transactions.csv'), 'customer_id;ts;amount;\nA;2026-04-25;10,5;\nA;2026-04-24;3;oops\n');
    const err = await buildFeatures({ dataDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(`${join(dir, 'transactions.csv')}: column 4 has no name in the header but holds values (first on line 3); name it in the header, or remove it`);
    // Below a title block, the line is the file's.
    writeFileSync(join(dir, 'transactions.csv'), 'Ventes\n\ncustomer_id;ts;amount;\nA;2026-04-25;10,5;\nA;2026-04-24;3;oops\n');
    await expect(buildFeatures({ dataDir: dir })).rejects.toThrow(/column 4 has no name in the header but holds values \(first on line 5\)/);
  });

  it('reads below a title block above the header, numbering rejects by the file\'s lines, gzip-compressed too', async () => {
    const rows = ['A;2026-04-25;10,5', '', 'A;2026-04-24;douze', 'A;2026-04-23;2'];
    const plain = write(rows);
    const titled = write([]);
    const text = ['Export des ventes du 25/04/2026;;', 'Magasin : tous', '', 'customer_id;ts;amount', ...rows].join('\n') + '\n';
    writeFileSync(join(titled, 'transactions.csv'), text);
    const zipped = write([]);
    rmSync(join(zipped, 'transactions.csv'));
    writeFileSync(join(zipped, 'transactions.csv.gz'), gzipSync(text));
    const reference = await buildFeatures({ dataDir: plain, outDir: join(plain, 'out') });
    for (const dir of [titled, zipped]) {
      const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
      expect(built.table).toEqual(reference.table);
      expect(built.summary.formats?.transactions.headerLine).toBe(4);
      expect(describeFormat(built.summary.formats!.transactions)).toContain('header on line 4, the 3 line(s) above it (a title) not read');
      expect(built.rejects).toEqual(reference.rejects);
    }
    // The rejects name the file's lines: the header is line 4, so the empty line is 6 and "douze" 7.
    const rejected = readFileSync(join(titled, 'out', 'rejects', 'transactions.csv'), 'utf8').trim().split('\n').slice(1);
    expect(rejected).toEqual(['6,,empty_line,dropped,,,', '7,2,bad_amount,dropped,A,2026-04-24,douze']);
    expect(readFileSync(join(plain, 'out', 'rejects', 'transactions.csv'), 'utf8')).toContain('4,2,bad_amount,dropped,A,2026-04-24,douze');
  });

  it('says a missing column from the first line when no line near the top names every required column', async () => {
    const dir = write([]);
    writeFileSync(join(dir, 'transactions.csv'), 'Export des ventes\ncustomer_id;date;amount\nA;2026-04-25;10,5\n');
    await expect(buildFeatures({ dataDir: dir })).rejects.toThrow(`${join(dir, 'transactions.csv')}: required column "customer_id" is missing (found: Export des ventes;`);
    // The column map names the header's column: the header is then found below the title.
    const built = await buildFeatures({ dataDir: dir, columnMap: { transactions: { date: 'ts' } } });
    expect(built.summary.formats?.transactions.headerLine).toBe(2);
    expect(built.asOf).toBe('2026-04-25');
  });

  it('rejects a line with more fields than the header, whose fields a delimiter has shifted', async () => {
    const dir = write(['A;2026-04-25;10,5', 'A;2026-04-24;3;web', 'A;2026-04-23;2;;', 'A;2026-04-22;1']);
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
    // The empty fields at the end of line 4 hold nothing: kept.
    expect(built.rejects).toEqual([{ file: 'transactions', reason: 'extra_fields', action: 'dropped', rows: 1 }]);
    expect(readFileSync(join(dir, 'out', 'rejects', 'transactions.csv'), 'utf8')).toContain('3,2,extra_fields,dropped,A,2026-04-24,3');
    expect(Array.from(built.table.numeric[built.table.numericNames.indexOf('frequency_12m')])).toEqual([3, 0]);
  });

  it("reads amounts as accounting software and spreadsheets write them: thousands grouped, refunds as 12.50- or (12.50); a corrupted one stays unread", async () => {
    const amounts = async (dir: string) => {
      const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
      // The amounts rejected, as the rejects file writes them (after line, record, reason, action, customer_id, ts).
      const rows = readFileSync(join(dir, 'out', 'rejects', 'transactions.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.replace(/^([^,]*,){6}/, ''));
      return { rejects: built.rejects, rows, monetary: built.table.numeric[built.table.numericNames.indexOf('monetary_12m')][0] };
    };
    // A semicolon file: decimal commas, thousands by a dot, an apostrophe or a space; refunds after the amount or in brackets.
    const fr = await amounts(write(['A;2026-04-25;1.234,50', "A;2026-04-24;1'000", 'A;2026-04-23;2 000,25 €', 'A;2026-04-22;100,25-', 'A;2026-04-21;(0,75)', 'A;2026-04-20;1.234.567,5', 'A;2026-04-19;1.23,4', 'A;2026-04-18;12,5.0']));
    expect(fr.monetary).toBeCloseTo(1234.5 + 1000 + 2000.25 - 100.25 - 0.75 + 1234567.5, 2);
    expect(fr.rejects).toEqual([{ file: 'transactions', reason: 'bad_amount', action: 'dropped', rows: 2 }]);
    // A comma file: thousands by a comma (so the amount quoted) or an apostrophe; '1.234.56' and '--' (the benchmark's corrupted amounts) stay unread.
    const dir = write([]);
    writeFileSync(join(dir, 'transactions.csv'), ['customer_id,ts,amount', 'A,2026-04-25,"1,234.50"', "A,2026-04-24,1'000.5", 'A,2026-04-23,12.50-', 'A,2026-04-22,(7.5)', 'A,2026-04-21,"(1,000)"', 'A,2026-04-20,10', 'A,2026-04-19,1.234.56', 'A,2026-04-18,--', 'A,2026-04-17,"12,50"', 'A,2026-04-16,EUR 19.90', 'A,2026-04-15,"1,23"', 'A,2026-04-14,10.25', 'A,2026-04-13,3.5', 'A,2026-04-12,99.99'].join('\n') + '\n');
    const en = await amounts(dir);
    expect(en.monetary).toBeCloseTo(1234.5 + 1000.5 - 12.5 - 7.5 - 1000 + 10 + 10.25 + 3.5 + 99.99, 2);
    expect(en.rejects).toEqual([{ file: 'transactions', reason: 'bad_amount', action: 'dropped', rows: 5 }]);
    expect(en.rows).toEqual(['1.234.56', '--', '"12,50"', 'EUR 19.90', '"1,23"']);
  });

  it('names the amounts over 1,000 times the median purchase with their lines, and keeps them', async () => {
    const usual = Array.from({ length: 50 }, (_, i) => `A;${String(1 + (i % 25)).padStart(2, '0')}/04/2026;${40 + (i % 10)},5`);
    const dir = write([...usual, 'A;20/04/2026;1250000', 'A;21/04/2026;-98000,5', 'A;22/04/2026;40000']);
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
    expect(built.rejects).toEqual([]);
    const outliers = readDataSummary(join(dir, 'out', 'features.json'))!.outliers!;
    expect(outliers).toHaveLength(1);
    expect(outliers[0]).toMatchObject({ file: 'transactions', rows: 2, largest: [{ line: 52, amount: 1250000 }, { line: 53, amount: -98000.5 }] });
    expect(outliers[0].median).toBeGreaterThan(40);
    expect(outliers[0].median).toBeLessThan(50);
    // Kept: the money spent counts them.
    expect(built.table.numeric[built.table.numericNames.indexOf('monetary_12m')][0]).toBeGreaterThan(1_000_000);
    // A base without such amounts says nothing.
    const plain = await buildFeatures({ dataDir: write(usual), outDir: join(dir, 'plain') });
    expect(plain.summary.outliers).toBeUndefined();
  });

  it("reads a comma-separated file's quoted decimal commas when they are its amounts' way, and says so", async () => {
    const dir = write([]);
    writeFileSync(join(dir, 'transactions.csv'), ['customer_id,ts,amount', 'A,2026-04-25,"12,50"', 'A,2026-04-24,"3,5"', 'A,2026-04-23,"1.234,50"', 'A,2026-04-22,7', 'A,2026-04-21,"-2,25"', 'A,2026-04-20,"8.5"'].join('\n') + '\n');
    writeFileSync(join(dir, 'customers.csv'), 'customer_id,lat,lon\nA,"48,8566","2,3522"\nB,"43,2965","5,3698"\nC,45.75,4.85\n');
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
    expect(built.rejects).toEqual([]);
    expect(built.table.numeric[built.table.numericNames.indexOf('monetary_12m')][0]).toBeCloseTo(12.5 + 3.5 + 1234.5 + 7 - 2.25 + 8.5, 2);
    expect(built.summary.formats?.transactions).toMatchObject({ delimiter: ',', decimalComma: true });
    expect(built.summary.formats?.customers).toMatchObject({ delimiter: ',', decimalComma: true });
    expect(describeFormat(built.summary.formats!.transactions)).toEqual(['decimal comma accepted (12,50)']);
    // Where decimal points are the amounts' way, a quoted "12,50" is no amount.
    writeFileSync(join(dir, 'transactions.csv'), ['customer_id,ts,amount', 'A,2026-04-25,12.50', 'A,2026-04-24,3.5', 'A,2026-04-23,"12,50"', 'A,2026-04-22,"1,234"'].join('\n') + '\n');
    const plain = await buildFeatures({ dataDir: dir });
    expect(plain.summary.formats?.transactions?.decimalComma ?? false).toBe(false);
    expect(plain.rejects.find((r) => r.file === 'transactions')).toEqual({ file: 'transactions', reason: 'bad_amount', action: 'dropped', rows: 1 });
    expect(plain.table.numeric[plain.table.numericNames.indexOf('monetary_12m')][0]).toBeCloseTo(12.5 + 3.5 + 1234, 2);
  });

  it("sets aside dates no record can hold, after tomorrow (a typo, 9999-12-31) or placeholders (1900-01-01): the base's as_of stays its own", async () => {
    // 300 purchases in April 2026, then a year typed 2062, a far-future placeholder and a day-one one.
    const days = Array.from({ length: 300 }, (_, i) => `A;${String(1 + (i % 25)).padStart(2, '0')}/04/2026;1`);
    const dir = write([...days, 'A;24/04/2062;500', 'A;31/12/9999;700', 'A;01/01/1900;900', 'A;01/01/0001;1100']);
    // Future dates are told from a file's own by their rarity (FUTURE_SHARE): 200 customers and contacts more.
    const more = Array.from({ length: 200 }, (_, i) => `M${i};01/02/2025`);
    writeFileSync(join(dir, 'customers.csv'), ['customer_id;signup_date', 'A;01/02/2025', 'B;01/01/1900', 'C;15/03/2071', 'D;', ...more].join('\n') + '\n');
    const contacts = Array.from({ length: 200 }, () => 'A,2026-04-20T10:00:00,email_open');
    writeFileSync(join(dir, 'interactions.csv'), ['customer_id,ts,type', ...contacts, 'A,2099-01-01T00:00:00,email_open'].join('\n') + '\n');
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
    expect(built.asOf).toBe('2026-04-25');
    expect(built.rejects).toEqual([
      { file: 'customers', reason: 'implausible_date', action: 'kept: set missing', rows: 2 },
      { file: 'transactions', reason: 'implausible_date', action: 'dropped', rows: 4 },
      { file: 'interactions', reason: 'implausible_date', action: 'dropped', rows: 1 },
    ]);
    const feature = (name: string) => Array.from(built.table.numeric[built.table.numericNames.indexOf(name)]);
    expect(feature('monetary_12m')[0]).toBe(300);
    // The placeholder and the future signup dates are missing, not a tenure of 126 years or a negative one.
    expect(feature('tenure_days').slice(0, 4).map((v) => Number.isNaN(v))).toEqual([false, true, true, true]);
    expect(readFileSync(join(dir, 'out', 'rejects', 'transactions.csv'), 'utf8')).toContain('302,301,implausible_date,dropped,A,24/04/2062,500');
    // An explicit as_of later than today moves the bound with it.
    const ahead = await buildFeatures({ dataDir: dir, asOf: '2062-12-31' });
    expect(ahead.rejects.find((r) => r.file === 'transactions')).toEqual({ file: 'transactions', reason: 'implausible_date', action: 'dropped', rows: 3 });
  });

  it('keeps a customer whose signup date is shaped as a date but none (0000-00-00, 2025-02-30) or a placeholder (NA, -), its date missing; a row whose date is text is dropped', async () => {
    const dir = write(['A;2026-04-25;10', 'B;2026-04-24;5', 'E;2026-04-23;7']);
    const signups = ['2025-02-01', '0000-00-00', '2025-02-30', '31/12/2025', '2025-13-01 10:00:00', '00000000', 'Paris', '2025-03-01', 'NA', ' - ', '#N/A'];
    writeFileSync(join(dir, 'customers.csv'), ['customer_id,signup_date', ...signups.map((d, i) => `${'ABCDEFGHIJK'[i]},${d}`)].join('\n') + '\n');
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out'), asOf: '2026-04-30' });
    // G's "Paris" is no date of any shape: a row whose fields shifted, dropped.
    expect(built.table.ids).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'H', 'I', 'J', 'K']);
    expect(built.rejects).toEqual([
      { file: 'customers', reason: 'bad_date', action: 'dropped', rows: 1 },
      { file: 'customers', reason: 'bad_signup_date', action: 'kept: set missing', rows: 7 },
    ]);
    // K's #N/A is how a spreadsheet writes an empty cell: read as empty, said in the file's format, not flagged.
    expect(built.summary.formats?.customers.nullTokens).toEqual(['#N/A']);
    const tenure = Array.from(built.table.numeric[built.table.numericNames.indexOf('tenure_days')]);
    expect(tenure.map((v) => (Number.isNaN(v) ? null : v))).toEqual([453, null, null, null, null, null, 425, null, null, null]);
    // B and E keep their purchases (not orphans of a dropped customer).
    expect(Array.from(built.table.numeric[built.table.numericNames.indexOf('monetary_12m')])).toEqual([10, 5, 0, 0, 7, 0, 0, 0, 0, 0]);
    const rejected = readFileSync(join(dir, 'out', 'rejects', 'customers.csv'), 'utf8');
    expect(rejected).toContain('3,2,bad_signup_date,kept: set missing,B,0000-00-00');
    expect(rejected).toContain('8,7,bad_date,dropped,G,Paris');
  });

  it('reads NULL and \\N, as databases export an empty value, as empty in every file and says so: no customer dropped, no order or segment named NULL', async () => {
    const dir = write([]);
    writeFileSync(join(dir, 'customers.csv'), ['customer_id,signup_date,segment,birth_year', 'A,2025-02-01,gold,1970', 'B,NULL,NULL,NULL', 'C,\\N,silver,\\N', 'NULL,2025-01-01,gold,'].join('\n') + '\n');
    // Order lines: a purchase without an order id is its own purchase, not one order "NULL" of all of them.
    writeFileSync(
      join(dir, 'transactions.csv'),
      ['customer_id,ts,amount,category,order_id', 'A,2026-04-25,10,food,O1', 'A,2026-04-25,5,toys,O1', 'B,2026-04-20,7,NULL,NULL', 'B,2026-04-21,3,food,NULL', 'C,2026-04-22,4,food,null'].join('\n') + '\n',
    );
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out'), asOf: '2026-04-30' });
    expect(built.table.ids).toEqual(['A', 'B', 'C']);
    expect(built.rejects).toEqual([{ file: 'customers', reason: 'missing_customer_id', action: 'dropped', rows: 1 }]);
    const feature = (name: string) => Array.from(built.table.numeric[built.table.numericNames.indexOf(name)]).map((v) => (Number.isNaN(v) ? null : v));
    expect(feature('frequency_12m')).toEqual([1, 2, 1]);
    expect(feature('tenure_days')).toEqual([453, null, null]);
    expect(feature('age')).toEqual([56, null, null]);
    expect(built.table.categorical[built.table.categoricalNames.indexOf('segment')]).toEqual(['gold', null, 'silver']);
    expect(built.summary.categories).not.toContain('NULL');
    expect(built.summary.formats?.customers.nullText).toEqual(['customer_id', 'signup_date', 'segment', 'birth_year']);
    expect(built.summary.formats?.transactions.nullText).toEqual(['category', 'order_id']);
    expect(describeFormat(built.summary.formats!.transactions)).toContain('empty values written NULL, null (as databases, spreadsheets or data frames export them) read as empty, in category, order_id');
    expect(describeFormat(built.summary.formats!.transactions, 'fr')).toContain('valeurs vides écrites NULL, null (comme les exportent bases de données, tableurs ou data frames) lues comme vides, dans category, order_id');
  });

  it("reads a spreadsheet's #N/A and a data frame's nan, NaN, None and (null) as empty too, names them, and keeps Nan and NA, which are values", async () => {
    const dir = write([]);
    writeFileSync(
      join(dir, 'customers.csv'),
      ['customer_id,first_name,signup_date,segment,birth_year', 'A,Nan,2025-02-01,NA,1970', 'B,nan,(null),#N/A,NaN', 'C,None,#N/A,None,nan', 'D,Anne,2025-01-01,nan,'].join('\n') + '\n',
    );
    writeFileSync(
      join(dir, 'transactions.csv'),
      ['customer_id,ts,amount,category,order_id', 'A,2026-04-25,10,food,O1', 'A,2026-04-25,5,toys,O1', 'B,2026-04-20,7,#N/A,nan', 'B,2026-04-21,3,food,nan', 'C,2026-04-22,4,food,None', 'D,2026-04-23,2,None,(null)', 'D,2026-04-24,#N/A,food,O9'].join('\n') + '\n',
    );
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out'), asOf: '2026-04-30' });
    // No customer dropped for a signup date "(null)", none flagged for a birth year "NaN".
    expect(built.table.ids).toEqual(['A', 'B', 'C', 'D']);
    // A purchase's amount must read: #N/A there rejects the line, which the rejects file shows as written.
    expect(built.rejects).toEqual([{ file: 'transactions', reason: 'bad_amount', action: 'dropped', rows: 1 }]);
    expect(readFileSync(join(dir, 'out', 'rejects', 'transactions.csv'), 'utf8')).toContain('8,7,bad_amount,dropped,D,2026-04-24,"#N/A",food,O9');
    const feature = (name: string) => Array.from(built.table.numeric[built.table.numericNames.indexOf(name)]).map((v) => (Number.isNaN(v) ? null : v));
    // B's two lines without an order id are two purchases, not one order "nan".
    expect(feature('frequency_12m')).toEqual([1, 2, 1, 1]);
    expect(feature('tenure_days')).toEqual([453, null, null, 484]);
    expect(built.table.categorical[built.table.categoricalNames.indexOf('segment')]).toEqual(['NA', null, null, null]);
    expect(built.summary.categories).not.toContain('#N/A');
    expect(built.summary.categories).not.toContain('None');
    expect(built.summary.formats?.customers.nullText).toEqual(['first_name', 'signup_date', 'segment', 'birth_year']);
    expect(built.summary.formats?.customers.nullTokens).toEqual(['(null)', '#N/A', 'nan', 'NaN', 'None']);
    expect(built.summary.formats?.transactions.nullText).toEqual(['category', 'order_id']);
    expect(describeFormat(built.summary.formats!.transactions)).toContain('empty values written (null), #N/A, nan, None (as databases, spreadsheets or data frames export them) read as empty, in category, order_id');
  });

  it("keeps a file's dates when most are ahead of this machine's clock (a generated base, a clock behind)", async () => {
    const dir = write(['A;25/04/2071;10', 'A;24/04/2071;5', 'A;01/01/1900;2']);
    const built = await buildFeatures({ dataDir: dir });
    expect(built.asOf).toBe('2071-04-25');
    // The placeholder goes all the same.
    expect(built.rejects).toEqual([{ file: 'transactions', reason: 'implausible_date', action: 'dropped', rows: 1 }]);
  });

  it('names the file and why when no transaction reads, as_of given or not (the features would be empty)', async () => {
    const dir = write(['A;2026-04-25;12.50 EUR', 'A;2026-04-26;douze']);
    const expected = `${join(dir, 'transactions.csv')}: no transaction could be read (every row was rejected: bad_amount 2; dates are read as ISO (2026-04-25), day or month first with slashes, dashes or dots (25/04/2026, 25/04/26), compact (20260425), as a spreadsheet's day numbers (46137), with the month in words (25-APR-26) or as Unix times (1777075200), amounts as numbers (12.50, 1,234.50, a refund -12.50, 12.50- or (12.50); 12,50 and 1.234,50 in a semicolon-separated file, or where most amounts are written so); a column file maps columns named otherwise)`;
    for (const asOf of [undefined, '2026-04-30']) {
      const err = await buildFeatures({ dataDir: dir, ...(asOf ? { asOf } : {}) }).catch((e: unknown) => e);
      expect(err, asOf).toBeInstanceOf(InputError);
      expect((err as Error).message, asOf).toBe(expected);
    }
  });

  it('reads a purchases file holding no rows when as_of is given (customers without purchases), and asks for as_of otherwise', async () => {
    const dir = write([]);
    const err = await buildFeatures({ dataDir: dir }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`${join(dir, 'transactions.csv')}: no valid transaction to take as_of from (the file holds no rows); give --as-of YYYY-MM-DD`);
    const built = await buildFeatures({ dataDir: dir, asOf: '2026-04-30' });
    expect(built.asOf).toBe('2026-04-30');
    expect(built.table.rows).toBeGreaterThan(0);
    const frequency = built.table.numeric[built.table.numericNames.indexOf('frequency_12m')];
    expect(Array.from(frequency)).toEqual(Array(built.table.rows).fill(0));
  });
});
