// Purchases and contacts given as a folder of files, as systems export them (a month or a year a
// file): every file read as it is written, the rows of overlapping exports counted once, rejects
// and errors naming the file.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBase } from '../../src/demo/index.ts';
import { InputError } from '../../src/errors.ts';
import { describeFormat } from '../../src/features/formats.ts';
import { buildFeatures, numericColumn, type FeatureBuild } from '../../src/features/index.ts';
import { KEPT_LISTED, readDataSummary } from '../../src/features/summary.ts';
import { writeBase } from '../helpers/hand-base.ts';
import { tempDir } from '../helpers/world.ts';

/** A demo CSV's lines (no quoted fields there): its header, and its rows. */
function csvLines(path: string): { header: string; rows: string[] } {
  const [header, ...rows] = readFileSync(path, 'utf8').split('\n').filter((l) => l);
  return { header, rows };
}

/** A row of the demo's purchases written as a French spreadsheet saves it: semicolons, decimal comma, dates day first. */
const french = (row: string) => {
  const f = row.split(',');
  const [y, m, d] = f[1].slice(0, 10).split('-');
  f[1] = `${d}/${m}/${y}`;
  f[2] = f[2].replace('.', ',');
  return f.join(';');
};

/** The features of two builds, column by column, to the value. */
function expectSameFeatures(a: FeatureBuild, b: FeatureBuild): void {
  expect(a.asOf).toBe(b.asOf);
  expect(a.table.ids).toEqual(b.table.ids);
  expect(a.table.numericNames).toEqual(b.table.numericNames);
  a.table.numericNames.forEach((name, i) => expect([name, Array.from(a.table.numeric[i])]).toEqual([name, Array.from(b.table.numeric[i])]));
  expect(a.table.categorical).toEqual(b.table.categorical);
}

describe('purchases and contacts given as folders of files', () => {
  let demo: string;
  let plain: FeatureBuild;
  let tx: { header: string; rows: string[] };

  beforeAll(async () => {
    demo = (await writeDemoBase(join(tempDir('personas-folders-'), 'demo'), { customers: 600, seed: 3 })).dir;
    plain = await buildFeatures({ dataDir: demo });
    tx = csvLines(join(demo, 'transactions.csv'));
  }, 120_000);

  /** A data directory of the demo's customers and references, with `write` making the event inputs. */
  function base(write: (dir: string) => void): string {
    const dir = tempDir('personas-folder-base-');
    for (const f of ['customers.csv', 'tiles.csv', 'first_names.csv']) copyFileSync(join(demo, f), join(dir, f));
    write(dir);
    return dir;
  }

  it('reads monthly exports, each as written (CSV, French CSV, gzip, workbook, a subfolder), as the one file', async () => {
    // Twelve files of two months each, named so that only a reading of their numbers orders them (export-2 before export-10).
    const period = (row: string) => {
      const [y, m] = row.split(',')[1].split('-').map(Number);
      return Math.floor(((y - 2024) * 12 + m - 7) / 2) + 1;
    };
    const ix = csvLines(join(demo, 'interactions.csv'));
    let dir = '';
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Achats');
    dir = base((d) => {
      mkdirSync(join(d, 'transactions', 'later'), { recursive: true });
      for (let k = 1; k <= 12; k++) {
        const rows = tx.rows.filter((r) => period(r) === k);
        const at = join(d, 'transactions', k > 9 ? 'later' : '', `export-${k}.csv`);
        if (k === 3) writeFileSync(at, [tx.header.replaceAll(',', ';'), ...rows.map(french)].join('\r\n') + '\r\n');
        else if (k === 5) writeFileSync(`${at}.gz`, gzipSync([tx.header, ...rows].join('\n') + '\n'));
        else if (k === 7) [tx.header, ...rows].forEach((r, i) => sheet.addRow(i === 0 ? r.split(',') : r.split(',').map((v, j) => (j === 2 ? Number(v) : v))));
        else writeFileSync(at, [tx.header, ...rows].join('\n') + '\n');
      }
      mkdirSync(join(d, 'interactions'));
      for (const year of ['2024', '2025', '2026']) writeFileSync(join(d, 'interactions', `${year}.csv`), [ix.header, ...ix.rows.filter((r) => r.split(',')[1].startsWith(year))].join('\n') + '\n');
      writeFileSync(join(d, 'interactions', 'README.md'), 'contacts exported each year\n');
      writeFileSync(join(d, 'interactions', '.DS_Store'), '');
    });
    await book.xlsx.writeFile(join(dir, 'transactions', 'export-7.xlsx'));

    const out = tempDir('personas-folder-out-');
    const folders = await buildFeatures({ dataDir: dir, outDir: out });
    expect(folders.rejects).toEqual([]);
    expectSameFeatures(folders, plain);

    const summary = readDataSummary(join(out, 'features.json'))!;
    const files = summary.formats!.transactions.files!;
    expect(files.map((f) => f.file)).toEqual([
      ...[1, 2, 3, 4].map((k) => `export-${k}.csv`),
      'export-5.csv.gz',
      'export-6.csv',
      'export-7.xlsx',
      'export-8.csv',
      'export-9.csv',
      ...[10, 11, 12].map((k) => join('later', `export-${k}.csv`)),
    ]);
    expect(files.reduce((n, f) => n + f.rows, 0)).toBe(tx.rows.length);
    expect(files[0]).toMatchObject({ rows: tx.rows.filter((r) => period(r) === 1).length, from: '2024-07-01' });
    expect(files[11].to).toBe(plain.asOf);
    // The files written otherwise than the first carry their own format.
    expect(files.filter((f) => f.format).map((f) => f.file)).toEqual(['export-3.csv', 'export-7.xlsx']);
    expect(files[2].format).toMatchObject({ delimiter: ';', decimalComma: true, dateOrder: 'day-first' });
    const words = describeFormat(summary.formats!.transactions);
    expect(words[0]).toMatch(/^read from the 12 files of its folder, in name order: export-1\.csv \([\d,]+ rows, 2024-07-01 to 2024-08-31\); export-2\.csv/);
    expect(words).toContain('export-3.csv read otherwise: semicolon-separated, decimal comma accepted (12,50), slashed dates read day first (25/04/2026)');
    expect(describeFormat(summary.formats!.transactions, 'fr')[0]).toMatch(/^lu dans les 12 fichiers de son dossier, dans l’ordre de leurs noms : export-1\.csv \([\d  ]+ lignes, du 2024-07-01 au 2024-08-31\)/);
    // A file of the folder that holds no data is named, a hidden one is not.
    expect(summary.formats!.interactions.ignoredFiles).toEqual(['README.md']);
    expect(describeFormat(summary.formats!.interactions)).toContain('files of the folder passed over (not .csv, .csv.gz, .parquet, .txt or .xlsx): README.md');
  }, 120_000);

  it('counts once the rows two overlapping exports both hold, a row bought twice the same day twice', async () => {
    // The base with one June purchase written twice (the same customer, day, amount, channel, category).
    const june = tx.rows.findIndex((r) => r.split(',')[1].startsWith('2025-06'));
    const rows = [...tx.rows.slice(0, june + 1), tx.rows[june], ...tx.rows.slice(june + 1)];
    const single = base((d) => {
      writeFileSync(join(d, 'transactions.csv'), [tx.header, ...rows].join('\n') + '\n');
      copyFileSync(join(demo, 'interactions.csv'), join(d, 'interactions.csv'));
    });
    // January to June 2025's export, then June to December's: June is in both.
    const day = (r: string) => r.split(',')[1].slice(0, 10);
    const first = rows.filter((r) => day(r) <= '2025-06-30');
    const second = rows.filter((r) => day(r) >= '2025-06-01');
    const overlap = rows.filter((r) => day(r) >= '2025-06-01' && day(r) <= '2025-06-30').length;
    const dir = base((d) => {
      mkdirSync(join(d, 'transactions'));
      writeFileSync(join(d, 'transactions', 'to-2025-06.csv'), [tx.header, ...first].join('\n') + '\n');
      writeFileSync(join(d, 'transactions', 'from-2025-06.csv'), [tx.header, ...second].join('\n') + '\n');
      copyFileSync(join(demo, 'interactions.csv'), join(d, 'interactions.csv'));
    });
    const out = tempDir('personas-overlap-out-');
    const folders = await buildFeatures({ dataDir: dir, outDir: out });
    expectSameFeatures(folders, await buildFeatures({ dataDir: single }));
    // from-2025-06.csv comes first by name: the later file, to-2025-06.csv, has its June rows dropped.
    expect(folders.rejects).toEqual([{ file: 'transactions', reason: 'repeated_in_other_file', action: 'dropped', rows: overlap }]);
    const listed = readFileSync(join(out, 'rejects', 'transactions', 'to-2025-06.csv'), 'utf8').trim().split('\n');
    expect(listed).toHaveLength(overlap + 1);
    const firstJune = first.findIndex((r) => day(r) >= '2025-06-01');
    expect(listed[1]).toBe(`${firstJune + 2},${firstJune + 1},repeated_in_other_file,dropped,${first[firstJune]}`);
    expect(existsSync(join(out, 'rejects', 'transactions', 'from-2025-06.csv'))).toBe(false);
    const files = readDataSummary(join(out, 'features.json'))!.formats!.transactions.files!;
    expect(files.map((f) => [f.file, f.rows, f.repeated])).toEqual([
      ['from-2025-06.csv', second.length, undefined],
      ['to-2025-06.csv', first.length, overlap],
    ]);
    expect(files[1]).toMatchObject({ from: first.map(day).sort()[0], to: '2025-05-31' });
  }, 60_000);

  it('compares overlapping exports on the columns both hold', async () => {
    // The first half-year exported without its categories, the second with them: June alike but for them.
    const day = (r: string) => r.split(',')[1].slice(0, 10);
    const category = tx.header.split(',').indexOf('category');
    const without = (r: string) => r.split(',').filter((_, j) => j !== category).join(',');
    const dir = base((d) => {
      mkdirSync(join(d, 'transactions'));
      writeFileSync(join(d, 'transactions', '1.csv'), [without(tx.header), ...tx.rows.filter((r) => day(r) <= '2025-06-30').map(without)].join('\n') + '\n');
      writeFileSync(join(d, 'transactions', '2.csv'), [tx.header, ...tx.rows.filter((r) => day(r) >= '2025-06-01')].join('\n') + '\n');
      copyFileSync(join(demo, 'interactions.csv'), join(d, 'interactions.csv'));
    });
    const built = await buildFeatures({ dataDir: dir });
    const june = tx.rows.filter((r) => day(r) >= '2025-06-01' && day(r) <= '2025-06-30').length;
    expect(built.rejects).toEqual([{ file: 'transactions', reason: 'repeated_in_other_file', action: 'dropped', rows: june }]);
    expect(numericColumn(built.table, 'frequency_12m')).toEqual(numericColumn(plain.table, 'frequency_12m'));
  }, 60_000);

  it('keeps both files, and says so, where many rows over common dates are alike but under half (a corrected re-export?)', async () => {
    const day = (r: string) => r.split(',')[1].slice(0, 10);
    const inJune = (r: string) => day(r) >= '2025-06-01' && day(r) <= '2025-06-30';
    // The second export's June: seven purchases in ten with their amounts corrected by a cent.
    let k = 0;
    const corrected = (r: string) => {
      if (!inJune(r) || k++ % 10 < 3) return r;
      const f = r.split(',');
      f[2] = (Number(f[2]) + 0.01).toFixed(2);
      return f.join(',');
    };
    const first = tx.rows.filter((r) => day(r) <= '2025-06-30');
    const second = tx.rows.filter((r) => day(r) >= '2025-06-01');
    const amended = second.map(corrected);
    const dir = base((d) => {
      mkdirSync(join(d, 'transactions'));
      writeFileSync(join(d, 'transactions', 'a.csv'), [tx.header, ...first].join('\n') + '\n');
      writeFileSync(join(d, 'transactions', 'b.csv'), [tx.header, ...amended].join('\n') + '\n');
      copyFileSync(join(demo, 'interactions.csv'), join(d, 'interactions.csv'));
    });
    const built = await buildFeatures({ dataDir: dir });
    expect(built.rejects).toEqual([]);
    const alike = amended.filter((r, i) => inJune(r) && r === second[i]).length;
    const june = tx.rows.filter(inJune).map(day).sort();
    const files = built.summary.formats!.transactions.files!;
    expect(files[1].alike).toEqual([{ file: 'a.csv', from: june[0], to: june.at(-1), rows: alike }]);
    expect(describeFormat(built.summary.formats!.transactions)).toContain(
      `b.csv shares ${alike} rows alike with a.csv from ${june[0]} to ${june.at(-1)}, fewer than half of either's there: both kept; check whether one corrects the other`,
    );
  }, 60_000);

  it('reads a corrected re-export once: an amended row replaces its original, a row the later export lacks is kept', async () => {
    const day = (r: string) => r.split(',')[1].slice(0, 10);
    const inJune = (r: string) => day(r) >= '2025-06-01' && day(r) <= '2025-06-30';
    const who = (r: string) => `${r.split(',')[0]} ${day(r)}`;
    // The later export's June: two purchases in ten with their amount corrected, and one purchase (alone that day for its customer) missing.
    const june = tx.rows.filter(inJune);
    const lone = june.find((r, i) => i % 10 >= 2 && june.filter((x) => who(x) === who(r)).length === 1)!;
    let k = 0;
    const corrected = new Map<string, string>();
    for (const r of june) {
      if (k++ % 10 >= 2 || r === lone) continue;
      const f = r.split(',');
      f[2] = (Number(f[2]) + 0.01).toFixed(2);
      corrected.set(r, f.join(','));
    }
    const amended = (r: string) => corrected.get(r) ?? r;
    // The earlier file also holds an unreadable amount on its second line: its rejects file has a row before the originals are added.
    const first = tx.rows.filter((r) => day(r) <= '2025-06-30');
    first.splice(1, 0, `${tx.rows[0].split(',')[0]},2025-01-02,douze,store,food,0`);
    const second = tx.rows.filter((r) => day(r) >= '2025-06-01' && r !== lone).map(amended);
    const dir = base((d) => {
      mkdirSync(join(d, 'transactions'));
      writeFileSync(join(d, 'transactions', '2025-h1.csv'), [tx.header, ...first].join('\n') + '\n');
      writeFileSync(join(d, 'transactions', '2025-h2.csv'), [tx.header, ...second].join('\n') + '\n');
      copyFileSync(join(demo, 'interactions.csv'), join(d, 'interactions.csv'));
    });
    // What the base holds: the corrected amounts, the missing purchase once.
    const single = base((d) => {
      writeFileSync(join(d, 'transactions.csv'), [tx.header, ...tx.rows.map(amended)].join('\n') + '\n');
      copyFileSync(join(demo, 'interactions.csv'), join(d, 'interactions.csv'));
    });
    const out = tempDir('personas-reexport-out-');
    const built = await buildFeatures({ dataDir: dir, outDir: out });
    expectSameFeatures(built, await buildFeatures({ dataDir: single }));
    expect(built.rejects).toEqual([
      { file: 'transactions', reason: 'bad_amount', action: 'dropped', rows: 1 },
      { file: 'transactions', reason: 'repeated_in_other_file', action: 'dropped', rows: june.length - corrected.size - 1 },
      { file: 'transactions', reason: 'replaced_in_later_file', action: 'dropped', rows: corrected.size },
    ]);
    // The originals are listed in the earlier file's rejects, by its own lines, as read.
    const listed = readFileSync(join(out, 'rejects', 'transactions', '2025-h1.csv'), 'utf8').trim().split('\n');
    expect(listed[0]).toBe('line,record,reason,action,customer_id,ts,amount,channel,category,promo');
    const originals = [...corrected.keys()];
    expect(listed).toHaveLength(originals.length + 2);
    expect(listed[1]).toBe(`3,2,bad_amount,dropped,${first[1]}`);
    const at = first.indexOf(originals[0]);
    const [id, , amount, channel, category, promo] = originals[0].split(',');
    expect(listed.slice(2).map((l) => Number(l.split(',')[0]))).toEqual(originals.map((r) => first.indexOf(r) + 2));
    expect(listed[2]).toBe(`${at + 2},${at + 1},replaced_in_later_file,dropped,${id},${day(originals[0])},${Number(amount)},${channel},${category},${promo}`);
    const files = built.summary.formats!.transactions.files!;
    expect(files.map((f) => [f.file, f.replaced, f.repeated])).toEqual([
      ['2025-h1.csv', corrected.size, undefined],
      ['2025-h2.csv', undefined, june.length - corrected.size - 1],
    ]);
    expect(describeFormat(built.summary.formats!.transactions)[0]).toContain(`, ${corrected.size} of them amended in a later file, left out for its rows)`);
    expect(describeFormat(built.summary.formats!.transactions, 'fr')[0]).toContain(`, dont ${corrected.size} corrigées dans un fichier suivant, écartées au profit des siennes)`);
  }, 60_000);

  it('keeps every row of files cut otherwise over the same dates (a store each), the few alike included', async () => {
    // Customers split in two halves, each file all their purchases; three purchases written in both
    // files alike (a customer buying the same thing the same day in both stores).
    const half = (r: string) => Number(r.split(',')[0].slice(1)) % 2;
    const alike = tx.rows.filter((r) => half(r) === 0).slice(0, 3);
    const single = base((d) => {
      writeFileSync(join(d, 'transactions.csv'), [tx.header, ...tx.rows, ...alike].join('\n') + '\n');
      copyFileSync(join(demo, 'interactions.csv'), join(d, 'interactions.csv'));
    });
    const dir = base((d) => {
      mkdirSync(join(d, 'transactions'));
      writeFileSync(join(d, 'transactions', 'store-a.csv'), [tx.header, ...tx.rows.filter((r) => half(r) === 0)].join('\n') + '\n');
      writeFileSync(join(d, 'transactions', 'store-b.csv'), [tx.header, ...tx.rows.filter((r) => half(r) === 1), ...alike].join('\n') + '\n');
      copyFileSync(join(demo, 'interactions.csv'), join(d, 'interactions.csv'));
    });
    const folders = await buildFeatures({ dataDir: dir });
    expect(folders.rejects).toEqual([]);
    expect(folders.summary.formats!.transactions.files!.some((f) => f.alike)).toBe(false);
    expectSameFeatures(folders, await buildFeatures({ dataDir: single }));
  }, 60_000);
});

describe('a folder of files: dates, rejects and errors', () => {
  /** The hand base with its purchases given as the folder's `files` (name -> lines), and no transactions.csv. */
  function handFolder(files: Record<string, string[]>, input = 'transactions'): string {
    const dir = tempDir('personas-hand-folder-');
    writeBase(dir);
    rmSync(join(dir, `${input}.csv`));
    mkdirSync(join(dir, input));
    for (const [name, lines] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, input, name)), { recursive: true });
      writeFileSync(join(dir, input, name), lines.join('\n') + '\n');
    }
    return dir;
  }
  const HEADER = 'customer_id,ts,amount,channel,category,promo';

  it('reads dates whose parts do not tell their order as another file of the folder does, whichever comes first', async () => {
    // B's only purchase, 03/01/2026, reads 1 March month first, 3 January day first; A's 06/25/2026 is month first.
    const open = [HEADER, 'B,03/01/2026,10,store,food,0'];
    const settled = [HEADER, 'A,06/25/2026,20,store,food,0', 'A,01/10/2026,5,web,food,0'];
    const orders: Record<string, string[]>[] = [{ '1-open.csv': open, '2-settled.csv': settled }, { '1-settled.csv': settled, '2-open.csv': open }];
    for (const files of orders) {
      const built = await buildFeatures({ dataDir: handFolder(files), asOf: '2026-06-30' });
      const b = built.table.ids.indexOf('B');
      expect(numericColumn(built.table, 'recency_days')![b]).toBe(121);
      expect(built.summary.formats!.transactions.files!.every((f) => !f.format)).toBe(true);
      expect(built.summary.formats!.transactions.dateOrder).toBe('month-first');
    }
    // The progress of the stage goes back when the files are read again, and ends at its total.
    const ticks: number[] = [];
    let total = 0;
    let stage = '';
    const progress = {
      stage: (name: string, n?: number) => {
        stage = name;
        if (name === 'load and validate inputs') total = n ?? 0;
      },
      tick: (done?: number) => {
        if (stage === 'load and validate inputs') ticks.push(done ?? -1);
      },
      log: () => {},
    };
    await buildFeatures({ dataDir: handFolder({ '1-open.csv': open, '2-settled.csv': settled }), asOf: '2026-06-30', progress });
    expect(total).toBe(12);
    expect(ticks).toEqual([1, 2, 3, 4, 5, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // Alone, the same file reads day first.
    const alone = await buildFeatures({ dataDir: handFolder({ 'only.csv': open }), asOf: '2026-06-30' });
    expect(numericColumn(alone.table, 'recency_days')![alone.table.ids.indexOf('B')]).toBe(178);
  });

  it('takes for the amended row the one most alike, where a later export cut at an hour lacks that day’s first purchase', async () => {
    // Three weeks of purchases both exports hold, then the customer A's two purchases of 1 March:
    // the later export, cut at noon on 1 March, lacks the morning's, and corrects the afternoon's amount.
    const common = Array.from({ length: 20 }, (_, i) => `${'BCD'[i % 3]},2026-03-${String(2 + i).padStart(2, '0')},${10 + i},store,food,0`);
    const dir = handFolder({
      '1-early.csv': [HEADER, 'A,2026-02-10,5,store,food,0', 'A,2026-03-01,20,store,food,0', 'A,2026-03-01,35,web,toys,0', ...common],
      '2-later.csv': [HEADER, 'A,2026-03-01,38,web,toys,0', ...common, 'B,2026-04-02,12,store,food,0'],
    });
    const out = tempDir('personas-cut-out-');
    const built = await buildFeatures({ dataDir: dir, outDir: out, asOf: '2026-06-30' });
    const a = built.table.ids.indexOf('A');
    // The morning's 20 kept, the afternoon's 35 read as amended to 38: 5 + 20 + 38.
    expect(numericColumn(built.table, 'monetary_12m')![a]).toBe(63);
    const listed = readFileSync(join(out, 'rejects', 'transactions', '1-early.csv'), 'utf8').trim().split('\n');
    expect(listed.slice(1)).toEqual(['4,3,replaced_in_later_file,dropped,A,2026-03-01,35,web,toys,0']);
  });

  it('passes over a text file naming none of the input’s columns as a note, and reads one that names them', async () => {
    const dir = handFolder({
      '1-jan.csv': [HEADER, 'A,2026-01-05,10,store,food,0'],
      // Tab-separated text, as a spreadsheet saves it, its client id under the client's name (mapped).
      '2-feb.txt': ['id_client\tts\tamount', 'B\t2026-02-01\t20', 'A\t2026-02-03\t5'],
      // Notes left beside the exports, one of them with semicolons and commas in its sentences.
      'LISEZMOI.txt': ['Exports des achats ; un fichier par mois, fait par Jean.', '', 'Les montants sont TTC, en euros.'],
    });
    // Excel's "Unicode text": UTF-16 with its byte order mark.
    writeFileSync(join(dir, 'transactions', 'notes.txt'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Relu le 3 mars\r\n', 'utf16le')]));
    const columnMap = { transactions: { id_client: 'customer_id' } };
    const out = tempDir('personas-folder-notes-');
    const built = await buildFeatures({ dataDir: dir, outDir: out, asOf: '2026-06-30', columnMap });
    const format = readDataSummary(join(out, 'features.json'))!.formats!.transactions;
    expect(format.files!.map((f) => [f.file, f.rows])).toEqual([['1-jan.csv', 1], ['2-feb.txt', 2]]);
    expect(format.noteFiles).toEqual(['LISEZMOI.txt', 'notes.txt']);
    expect(describeFormat(format)).toContain('text files of the folder passed over as notes (no line of their first 20 names a column of the input): LISEZMOI.txt, notes.txt');
    expect(describeFormat(format, 'fr')).toContain('fichiers texte du dossier laissés de côté comme des notes (aucune de leurs 20 premières lignes ne nomme une colonne du fichier attendu) : LISEZMOI.txt, notes.txt');
    const frequency = numericColumn(built.table, 'frequency_12m')!;
    expect(['A', 'B'].map((id) => frequency[built.table.ids.indexOf(id)])).toEqual([2, 1]);
    // Without the column map, the February export names ts and amount still: read as data, and its missing column said.
    const error = await buildFeatures({ dataDir: dir, asOf: '2026-06-30' }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/2-feb\.txt: required column "customer_id" is missing \(found: id_client, ts, amount/);
    // A table whose columns are all named otherwise is read all the same: its missing column is said, its rows not passed over.
    writeFileSync(join(dir, 'transactions', '3-mar.txt'), ['client\tdate\tmontant', 'A\t2026-03-02\t7'].join('\n') + '\n');
    const foreign = await buildFeatures({ dataDir: dir, asOf: '2026-06-30', columnMap }).catch((e: unknown) => e);
    expect((foreign as Error).message).toMatch(/3-mar\.txt: required column "customer_id" is missing \(found: client, date, montant/);
    // One export and its note: the one file said as one.
    const single = await buildFeatures({ dataDir: handFolder({ 'jan.csv': [HEADER, 'A,2026-01-05,10,store,food,0'], 'LISEZMOI.txt': ['Rien de plus.'] }), asOf: '2026-06-30' });
    expect(describeFormat(single.summary.formats!.transactions)[0]).toBe('read from the one file of its folder: jan.csv (1 row, 2026-01-05 to 2026-01-05)');
    expect(describeFormat(single.summary.formats!.transactions, 'fr')[0]).toBe('lu dans l’unique fichier de son dossier : jan.csv (1 ligne, du 2026-01-05 au 2026-01-05)');
    // A folder of notes alone holds no data file, and says what it found.
    const notes = handFolder({ 'LISEZMOI.txt': ['Rien ici pour le moment.'] });
    const empty = await buildFeatures({ dataDir: notes, asOf: '2026-06-30' }).catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(InputError);
    expect((empty as Error).message).toMatch(/transactions: the folder holds no data file \(expected .*; found LISEZMOI\.txt \(a text file naming none of the columns of transactions\)\)/);
  });

  it('reads a text file of customer ids alone under the client’s name for them, not passing it over as a note', async () => {
    // A customers folder: one export with every column, one text file of ids only, headed as the client names them.
    const dir = handFolder({ 'base.csv': ['customer_id,segment', 'A,gold', 'B,silver'], 'nouveaux.txt': ['id_client', 'N1', 'N2'] }, 'customers');
    const error = await buildFeatures({ dataDir: dir, asOf: '2026-06-30' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/nouveaux\.txt: required column "customer_id" is missing \(found: id_client; "id_client" looks like it: map it with --columns/);
    const built = await buildFeatures({ dataDir: dir, asOf: '2026-06-30', columnMap: { customers: { id_client: 'customer_id' } } });
    expect(built.table.ids.filter((id) => id.startsWith('N')).sort()).toEqual(['N1', 'N2']);
    expect(built.summary.formats!.customers.noteFiles).toBeUndefined();
  });

  it('reads a text file whose extension is in capitals (EXPORT_02.CSV)', async () => {
    const built = await buildFeatures({ dataDir: handFolder({ 'EXPORT_01.csv': [HEADER, 'A,2026-01-05,10,store,food,0'], 'EXPORT_02.CSV': [HEADER, 'A,2026-02-05,12,web,food,0'] }), asOf: '2026-06-30' });
    expect(built.summary.formats!.transactions.files!.map((f) => [f.file, f.rows])).toEqual([['EXPORT_01.csv', 1], ['EXPORT_02.CSV', 1]]);
    expect(numericColumn(built.table, 'monetary_12m')![built.table.ids.indexOf('A')]).toBe(22);
  });

  it('writes each file’s rejects under its own name, numbered by its own lines, and names its large amounts', async () => {
    const dir = handFolder({
      'jan.csv': [HEADER, 'A,2026-01-05,10,store,food,0', 'A,2026-01-06,12,store,food,0', 'A,2026-01-07,11,store,food,0'],
      'feb.csv': [HEADER, 'A,2026-02-01,10,store,food,0', '', 'A,not a date,10,store,food,0', 'A,2026-02-03,99999,store,food,0', 'A,2026-02-04,9,fax,food,0'],
    });
    const out = tempDir('personas-hand-folder-out-');
    const built = await buildFeatures({ dataDir: dir, outDir: out, asOf: '2026-06-30' });
    expect(built.rejects.filter((r) => r.file === 'transactions')).toEqual([
      { file: 'transactions', reason: 'bad_date', action: 'dropped', rows: 1 },
      { file: 'transactions', reason: 'empty_line', action: 'dropped', rows: 1 },
      { file: 'transactions', reason: 'unknown_channel', action: 'kept: channel other', rows: 1, values: [{ value: 'fax', rows: 1 }] },
    ]);
    expect(readFileSync(join(out, 'rejects', 'transactions', 'feb.csv'), 'utf8').trim().split('\n')).toEqual([
      'line,record,reason,action,customer_id,ts,amount,channel,category,promo',
      '3,,empty_line,dropped,,,,,,',
      '4,2,bad_date,dropped,A,not a date,10,store,food,0',
      '6,4,unknown_channel,kept: channel other,A,2026-02-04,9,fax,food,0',
    ]);
    expect(existsSync(join(out, 'rejects', 'transactions', 'jan.csv'))).toBe(false);
    expect(existsSync(join(out, 'rejects', 'transactions.csv'))).toBe(false);
    expect(built.summary.outliers).toEqual([{ file: 'transactions', rows: 1, median: expect.any(Number), largest: [{ line: 5, amount: 99999, in: 'feb.csv' }] }]);
  });

  it(`lists the first ${KEPT_LISTED} rows repeating another file, as a repair's, since they are read from it`, async () => {
    const rows = Array.from({ length: KEPT_LISTED + 5 }, (_, i) => `A,2026-05-${String(1 + (i % 28)).padStart(2, '0')},${1 + (i % 97)},store,food,0`);
    const dir = handFolder({ 'a.csv': [HEADER, ...rows], 'b.csv': [HEADER, ...rows] });
    const out = tempDir('personas-hand-folder-out-');
    const built = await buildFeatures({ dataDir: dir, outDir: out, asOf: '2026-06-30' });
    expect(built.rejects.filter((r) => r.file === 'transactions')).toEqual([
      { file: 'transactions', reason: 'repeated_in_other_file', action: 'dropped', rows: KEPT_LISTED + 5, listed: KEPT_LISTED },
    ]);
    const listed = readFileSync(join(out, 'rejects', 'transactions', 'b.csv'), 'utf8').trim().split('\n');
    expect(listed).toHaveLength(KEPT_LISTED + 1);
    expect(listed.at(-1)).toBe(`${KEPT_LISTED + 1},${KEPT_LISTED},repeated_in_other_file,dropped,${rows[KEPT_LISTED - 1]}`);
    expect(numericColumn(built.table, 'frequency_12m')![built.table.ids.indexOf('A')]).toBe(KEPT_LISTED + 5);
  });

  it('reads customers from a folder, each file as written; a customer in several files from the last, the earlier rows listed', async () => {
    const hand = tempDir('personas-hand-folder-');
    writeBase(hand);
    const [header, a, b, c, d] = readFileSync(join(hand, 'customers.csv'), 'utf8').trim().split('\n');
    // B again in a later file without the client's columns, its segment changed; A again as it was, in a French spreadsheet's CSV.
    const cols = header.split(',');
    const bAgain = `B,Jade,F,,69001,,,2026-01-01,platinum`;
    const french = (line: string) => line.split(',').map((v) => (/^-?\d+\.\d+$/.test(v) ? v.replace('.', ',') : v)).join(';');
    const dir = handFolder({ 'store-a.csv': [header, a, b], 'store-b.csv': [header.replaceAll(',', ';'), ...[c, d, a].map(french)], 'sub/store-c.csv': [cols.slice(0, 9).join(','), bAgain] }, 'customers');
    const single = tempDir('personas-hand-folder-');
    writeBase(single);
    writeFileSync(join(single, 'customers.csv'), [header, c, d, a, `${bAgain},,`].join('\n') + '\n');
    const out = tempDir('personas-hand-folder-out-');
    const built = await buildFeatures({ dataDir: dir, outDir: out, asOf: '2026-06-30' });
    expectSameFeatures(built, await buildFeatures({ dataDir: single, asOf: '2026-06-30' }));
    expect(built.table.ids).toEqual(['C', 'D', 'A', 'B']);
    expect(built.rejects.filter((r) => r.file === 'customers')).toEqual([{ file: 'customers', reason: 'customer_in_later_file', action: 'dropped', rows: 2 }]);
    // Listed in the earlier file's rejects by its own lines, as read.
    expect(readFileSync(join(out, 'rejects', 'customers', 'store-a.csv'), 'utf8').trim().split('\n')).toEqual([
      'line,record,reason,action,customer_id,first_name,sex,birth_year,postcode,lat,lon,signup_date,segment,loyalty_tier,household_size',
      '2,1,customer_in_later_file,dropped,A,MARIE,F,1976,75011,48.8566,2.3522,2020-06-30,gold,platinum,3',
      '3,2,customer_in_later_file,dropped,B,JADE,F,,69001,,,2026-01-01,,silver,',
    ]);
    const formats = built.summary.formats!.customers;
    expect(formats.files!.map((f) => [f.file, f.rows, f.later, f.laterChanged])).toEqual([
      ['store-a.csv', 2, 2, 1],
      ['store-b.csv', 3, undefined, undefined],
      ['sub/store-c.csv', 1, undefined, undefined],
    ]);
    expect(formats.files![1].format).toMatchObject({ delimiter: ';', decimalComma: true });
    expect(describeFormat(formats)[0]).toBe('read from the 3 files of its folder, in name order: store-a.csv (2 rows, 2 of them in a later file too (1 written otherwise there), read from it); store-b.csv (3 rows); sub/store-c.csv (1 row)');
  });

  it("keeps a customers file's own rejects beside its rows read from a later file, in line order; purchases find customers of any file", async () => {
    // a.csv: C, then A twice (the second a duplicate_id), then B; b.csv: A and B again, D.
    const head = 'customer_id,first_name,sex,birth_year,postcode,lat,lon,signup_date,segment';
    const row = (id: string, segment = 'gold', name = 'Marie') => `${id},${name},F,1976,75011,,,2020-06-30,${segment}`;
    // The duplicate's name holds a comma and quotes: its line in the rejects stays as written when the later rows are added.
    const dir = handFolder({ 'a.csv': [head, row('C'), row('A'), row('A', 'silver', '"Marie, ""Anne"""'), row('B')], 'b.csv': [head, row('A'), row('B', 'bronze'), row('D')] }, 'customers');
    const out = tempDir('personas-hand-folder-out-');
    const built = await buildFeatures({ dataDir: dir, outDir: out, asOf: '2026-06-30' });
    expect(built.table.ids).toEqual(['C', 'A', 'B', 'D']);
    expect(built.table.categorical[built.table.categoricalNames.indexOf('segment')]).toEqual(['gold', 'gold', 'bronze', 'gold']);
    expect(built.rejects.filter((r) => r.file === 'customers')).toEqual([
      { file: 'customers', reason: 'customer_in_later_file', action: 'dropped', rows: 2 },
      { file: 'customers', reason: 'duplicate_id', action: 'dropped', rows: 1 },
    ]);
    expect(readFileSync(join(out, 'rejects', 'customers', 'a.csv'), 'utf8').trim().split('\n')).toEqual([
      `line,record,reason,action,${head}`,
      '3,2,customer_in_later_file,dropped,A,MARIE,F,1976,75011,,,2020-06-30,gold',
      `4,3,duplicate_id,dropped,${row('A', 'silver', '"Marie, ""Anne"""')}`,
      '5,4,customer_in_later_file,dropped,B,MARIE,F,1976,75011,,,2020-06-30,gold',
    ]);
    expect(existsSync(join(out, 'rejects', 'customers', 'b.csv'))).toBe(false);
    // The base's purchases are A's and B's: none is an orphan, though A and B are read from b.csv.
    expect(built.rejects.filter((r) => r.reason === 'orphan_id')).toEqual([]);
    expect(built.summary.formats!.customers.files!.map((f) => [f.file, f.later, f.laterChanged])).toEqual([
      ['a.csv', 2, 1],
      ['b.csv', undefined, undefined],
    ]);
  });

  it('reads a customers file whose dates do not tell their order as another file of the folder does', async () => {
    const head = 'customer_id,first_name,sex,birth_year,postcode,lat,lon,signup_date,segment';
    // a.csv's 03/01/2026 reads 1 March month first, 3 January day first; b.csv's 06/25/2026 is month first.
    const dir = handFolder({ 'a.csv': [head, 'A,Marie,F,1976,75011,,,03/01/2026,gold', 'B,Jade,F,,69001,,,01/02/2026,'], 'b.csv': [head, 'C,,M,,,,,06/25/2025,new', 'D,Zoé,,,,,,05/30/2026,bronze'] }, 'customers');
    const built = await buildFeatures({ dataDir: dir, asOf: '2026-06-30' });
    const tenure = numericColumn(built.table, 'tenure_days')!;
    const days = (from: string) => (Date.parse('2026-06-30') - Date.parse(from)) / 86_400_000;
    expect(Array.from(tenure)).toEqual([days('2026-03-01'), days('2026-01-02'), days('2025-06-25'), days('2026-05-30')]);
    expect(built.summary.formats!.customers.dateOrder).toBe('month-first');
  });

  it('stops with an error naming the folder or the file when it cannot be read', async () => {
    const fails = async (dir: string, message: RegExp) => {
      const error = await buildFeatures({ dataDir: dir, asOf: '2026-06-30' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toMatch(message);
    };
    // Both a file and a folder of purchases: which is meant is not guessed.
    const both = handFolder({ 'jan.csv': [HEADER, 'A,2026-01-05,10,store,food,0'] });
    writeFileSync(join(both, 'transactions.csv'), `${HEADER}\n`);
    await fails(both, /both .*transactions\.csv and the folder .*transactions hold transactions; keep one/);
    await fails(handFolder({ 'notes.md': ['nothing here'] }), /transactions: the folder holds no data file \(expected \.csv, \.csv\.gz, \.parquet, \.txt or \.xlsx files; found notes\.md\)/);
    await fails(handFolder({ 'jan.csv': [HEADER], 'feb.xls': ['binary'] }), /feb\.xls: Excel 97-2003 \(\.xls\) and OpenDocument \(\.ods\) workbooks are not read/);
    await fails(handFolder({ 'jan.csv': [HEADER], 'FEB.XLSX': ['binary'] }), /FEB\.XLSX: write its extension in lower case \(\.xlsx\) to have it read/);
    // A second file without the amount column: named before any file is read.
    await fails(handFolder({ 'jan.csv': [HEADER, 'A,2026-01-05,10,store,food,0'], 'feb.csv': ['customer_id,ts,total', 'A,2026-02-01,10'] }), /feb\.csv: required column "amount" is missing \(found: customer_id, ts, total; "total" looks like it/);
    // The reference grid is one file.
    const tiles = handFolder({ 'a.csv': ['IdCar_200m'] }, 'tiles');
    await fails(tiles, /tiles: tiles is read from one file .*only customers, transactions and interactions may be a folder of files/);
    // The missing file's message says a folder would do.
    const none = tempDir('personas-hand-folder-');
    writeBase(none);
    rmSync(join(none, 'interactions.csv'));
    await fails(none, /interactions\.csv: required input file is missing \(expected .*, or a folder interactions\/ of such files\)/);
  });
});
