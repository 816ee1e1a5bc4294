// Client files as Excel workbooks (.xlsx): the first visible sheet holding rows is read, cells as
// typed (numbers, dates, booleans), and rejects name the sheet's rows.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBase } from '../../src/demo/index.ts';
import { InputError } from '../../src/errors.ts';
import { buildFeatures, type FeatureBuild } from '../../src/features/index.ts';
import { describeFormat } from '../../src/features/formats.ts';
import { readDataSummary } from '../../src/features/summary.ts';
import { cellText } from '../../src/features/workbook.ts';
import { tempDir } from '../helpers/world.ts';

/** The rows of a demo CSV (no quoted fields there), header first. */
const readRows = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => l.split(','));

/** A date or date-time of the demo's CSV as the Date a spreadsheet cell holds (its clock, no time zone). */
const asDate = (iso: string) => new Date(`${iso.length > 10 ? iso : `${iso}T00:00:00`}Z`);

describe('a base given as Excel workbooks', () => {
  let plain: FeatureBuild;
  let excel: FeatureBuild;
  let excelDir: string;

  beforeAll(async () => {
    const demo = await writeDemoBase(join(tempDir('personas-xlsx-'), 'demo'), { customers: 600, seed: 5 });
    excelDir = tempDir('personas-xlsx-export-');
    for (const f of ['tiles.csv', 'first_names.csv', 'interactions.csv']) copyFileSync(join(demo.dir, f), join(excelDir, f));

    // customers: numbers as numbers (postcodes as text, keeping their 0), signup dates as dates;
    // a second sheet of notes, left out.
    const customers = readRows(join(demo.dir, 'customers.csv'));
    const numeric = new Set(['birth_year', 'lat', 'lon'].map((n) => customers[0].indexOf(n)));
    const signup = customers[0].indexOf('signup_date');
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Clients');
    customers.forEach((r, i) => sheet.addRow(i === 0 ? r : r.map((v, j) => (v === '' ? null : numeric.has(j) ? Number(v) : j === signup ? asDate(v) : v))));
    book.addWorksheet('Notes').addRow(['Export du 30/06/2026']);
    await book.xlsx.writeFile(join(excelDir, 'customers.xlsx'));

    // transactions: a hidden sheet of workings first; dates as dates, amounts as numbers, some as
    // text with a decimal comma (numbers stored as text), promo as TRUE/FALSE.
    const tx = readRows(join(demo.dir, 'transactions.csv'));
    const [ts, amount, promo] = ['ts', 'amount', 'promo'].map((n) => tx[0].indexOf(n));
    const txBook = new ExcelJS.Workbook();
    txBook.addWorksheet('calculs', { state: 'hidden' }).addRow(['total', 123.4]);
    const purchases = txBook.addWorksheet('Achats');
    tx.forEach((r, i) =>
      purchases.addRow(
        i === 0 ? r : r.map((v, j) => (j === ts ? asDate(v) : j === amount ? (i % 4 ? Number(v) : v.replace('.', ',')) : j === promo ? v === '1' : v)),
      ),
    );
    await txBook.xlsx.writeFile(join(excelDir, 'transactions.xlsx'));

    plain = await buildFeatures({ dataDir: demo.dir });
    excel = await buildFeatures({ dataDir: excelDir, outDir: join(excelDir, 'out') });
  }, 120_000);

  it('gives every feature of the CSV base, to the value', () => {
    expect(excel.rejects).toEqual([]);
    expect(excel.asOf).toBe(plain.asOf);
    expect(excel.table.ids).toEqual(plain.table.ids);
    expect(excel.table.numericNames).toEqual(plain.table.numericNames);
    plain.table.numericNames.forEach((name, i) => {
      expect([name, Array.from(excel.table.numeric[i])]).toEqual([name, Array.from(plain.table.numeric[i])]);
    });
    plain.table.categoricalNames.forEach((name, i) => expect([name, excel.table.categorical[i]]).toEqual([name, plain.table.categorical[i]]));
    for (const name of ['age', 'monetary_12m', 'promo_share', 'tenure_days']) {
      const i = plain.table.numericNames.indexOf(name);
      expect([name, Array.from(plain.table.numeric[i]).filter((v) => Number.isFinite(v) && v !== 0).length > 50]).toEqual([name, true]);
    }
  });

  it('says which sheet was read and which were left out, in features.json', () => {
    const summary = JSON.parse(readFileSync(join(excelDir, 'out', 'features.json'), 'utf8')) as FeatureBuild['summary'];
    expect(summary.formats?.customers).toEqual({ encoding: 'utf-8', delimiter: ';', decimalComma: true, workbook: { sheet: 'Clients', otherSheets: ['Notes'] } });
    // The hidden sheet of workings is not read, and said to be left out.
    expect(summary.formats?.transactions).toEqual({ encoding: 'utf-8', delimiter: ';', decimalComma: true, workbook: { sheet: 'Achats', otherSheets: ['calculs'] } });
    expect(summary.formats?.interactions).toBeUndefined();
    // Kept as such with a published version, for the report's data section.
    expect(readDataSummary(join(excelDir, 'out', 'features.json'))?.formats).toEqual(summary.formats);
    expect(describeFormat(summary.formats!.customers, 'fr')).toEqual(['feuille « Clients » du classeur', 'autres feuilles écartées : « Notes »', 'virgule décimale acceptée (12,50)']);
  });
});

describe('workbook rows that do not read', () => {
  const base = () => {
    const dir = tempDir('personas-xlsx-rows-');
    writeFileSync(join(dir, 'customers.csv'), 'customer_id\nA\n');
    writeFileSync(join(dir, 'interactions.csv'), 'customer_id,ts,type\n');
    writeFileSync(
      join(dir, 'tiles.csv'),
      'idcar_200m,ind,men,men_pauv,men_1ind,men_5ind,men_prop,men_fmp,ind_snv,men_surf,men_coll,men_mais,log_av45,log_45_70,log_70_90,log_ap90,log_inc,log_soc,' +
        'ind_0_3,ind_4_5,ind_6_10,ind_11_17,ind_18_24,ind_25_39,ind_40_54,ind_55_64,ind_65_79,ind_80p,ind_inc\n',
    );
    writeFileSync(join(dir, 'first_names.csv'), 'sexe;preusuel;annais;nombre\n');
    return dir;
  };

  it('names the sheet row of a rejected row and of an empty row, below a title block', async () => {
    const dir = base();
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Ventes');
    // Rows 1-2 empty (the header starts at row 3), row 6 empty between rows, an error cell at row 7.
    sheet.getRow(3).values = ['customer_id', 'ts', 'amount'];
    sheet.getRow(4).values = ['A', new Date('2026-04-25T14:32:05Z'), 12.5];
    sheet.getRow(5).values = ['A', new Date('2026-04-24T00:00:00Z'), '7,25'];
    sheet.getRow(7).values = ['A', new Date('2026-04-23T00:00:00Z'), { error: '#N/A' }];
    sheet.getRow(8).values = ['A', new Date('2026-04-22T00:00:00Z'), 'douze; ou treize'];
    sheet.getRow(9).values = ['A', new Date('2026-04-21T00:00:00Z'), { formula: 'B2*2', result: 3 }];
    // A cell's own quotes are kept: no stray quote in a workbook.
    sheet.getRow(3).values = ['customer_id', 'ts', 'amount', 'category'];
    sheet.getRow(4).getCell(4).value = 'Pack "Été"';
    // A line break inside a cell is a space: the row stays one line, not a quote left open.
    sheet.getRow(5).getCell(4).value = 'Cadeaux\nNoël';
    await book.xlsx.writeFile(join(dir, 'transactions.xlsx'));
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
    expect(built.asOf).toBe('2026-04-25');
    expect(built.rejects).toEqual([
      { file: 'transactions', reason: 'bad_amount', action: 'dropped', rows: 2 },
      { file: 'transactions', reason: 'empty_line', action: 'dropped', rows: 1 },
    ]);
    const rejected = readFileSync(join(dir, 'out', 'rejects', 'transactions.csv'), 'utf8').trim().split('\n');
    expect(rejected.slice(1)).toEqual(['6,,empty_line,dropped,,,,', '7,3,bad_amount,dropped,A,2026-04-23,"#N/A",', '8,4,bad_amount,dropped,A,2026-04-22,douze; ou treize,']);
    // 12.5 + 7.25 + the formula's 3.
    expect(Array.from(built.table.numeric[built.table.numericNames.indexOf('monetary_12m')])).toEqual([22.75]);
    expect(built.table.numericNames.filter((n) => n.startsWith('share_cat_')).sort()).toEqual(['share_cat_cadeaux_noel', 'share_cat_pack_ete']);
  });

  it('reads below a title block, naming the header row and the sheet rows of rejects and of a stray column', async () => {
    const dir = base();
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Ventes');
    // A title on row 2 (row 1 empty), a subtitle on row 3, row 4 empty, the header on row 5.
    sheet.getRow(2).values = ['Export des ventes du 25/04/2026'];
    sheet.getRow(3).values = ['Magasin', 'tous'];
    sheet.getRow(5).values = ['customer_id', 'ts', 'amount'];
    sheet.getRow(6).values = ['A', new Date('2026-04-25T00:00:00Z'), 12.5];
    sheet.getRow(7).values = ['A', new Date('2026-04-24T00:00:00Z'), 'douze'];
    await book.xlsx.writeFile(join(dir, 'transactions.xlsx'));
    const built = await buildFeatures({ dataDir: dir, outDir: join(dir, 'out') });
    expect(built.summary.formats?.transactions.headerLine).toBe(5);
    expect(describeFormat(built.summary.formats!.transactions, 'fr')).toContain('en-tête en ligne 5 de la feuille, les 4 ligne(s) au-dessus (un titre) non lue(s)');
    const rejected = readFileSync(join(dir, 'out', 'rejects', 'transactions.csv'), 'utf8').trim().split('\n');
    expect(rejected.slice(1)).toEqual(['7,2,bad_amount,dropped,A,2026-04-24,douze']);
    expect(Array.from(built.table.numeric[built.table.numericNames.indexOf('monetary_12m')])).toEqual([12.5]);

    // A value in a column the header does not name (column 4, between amount and note): the message gives its sheet row.
    sheet.getRow(5).getCell(5).value = 'note';
    sheet.getRow(7).getCell(4).value = 'oops';
    await book.xlsx.writeFile(join(dir, 'transactions.xlsx'));
    await expect(buildFeatures({ dataDir: dir })).rejects.toThrow(/column 4 has no name in the header but holds values \(first on line 7\)/);
  });

  it('says when no visible sheet holds rows, and that .xls and .ods are not read', async () => {
    const dir = base();
    const book = new ExcelJS.Workbook();
    book.addWorksheet('Feuil1');
    book.addWorksheet('data', { state: 'hidden' }).addRow(['customer_id', 'ts', 'amount']);
    await book.xlsx.writeFile(join(dir, 'transactions.xlsx'));
    const err = await buildFeatures({ dataDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(`${join(dir, 'transactions.xlsx')}: the workbook has no visible sheet holding rows (sheets: "Feuil1", "data" (hidden))`);

    const old = base();
    writeFileSync(join(old, 'transactions.xls'), Buffer.from([0xd0, 0xcf, 0x11, 0xe0]));
    await expect(buildFeatures({ dataDir: old })).rejects.toThrow(
      `${join(old, 'transactions.xls')}: Excel 97-2003 (.xls) and OpenDocument (.ods) workbooks are not read; save it as an Excel workbook (.xlsx), or the sheet as "CSV UTF-8"`,
    );

    const broken = base();
    writeFileSync(join(broken, 'transactions.xlsx'), 'not a zip');
    await expect(buildFeatures({ dataDir: broken })).rejects.toThrow(`${join(broken, 'transactions.xlsx')}: not a readable .xlsx workbook (`);
  });

  it('writes cells as text: dates in ISO, times to the second, errors as shown, formulas by their result', () => {
    expect(cellText(new Date('2026-04-25T00:00:00Z'))).toBe('2026-04-25');
    expect(cellText(new Date('2026-04-25T14:32:04.9996Z'))).toBe('2026-04-25T14:32:05');
    expect(cellText(0.1)).toBe('0.1');
    expect(cellText(true)).toBe('1');
    expect(cellText({ error: '#DIV/0!' })).toBe('#DIV/0!');
    expect(cellText({ richText: [{ text: 'Île-' }, { text: 'de-France' }] })).toBe('Île-de-France');
    expect(cellText({ formula: 'A1', result: new Date('2026-01-02T00:00:00Z') })).toBe('2026-01-02');
    expect(cellText({ text: 'site', hyperlink: 'https://example.org' })).toBe('site');
    expect(cellText(null)).toBe('');
  });
});
