// The report's tables as an Excel workbook (`personas report --out FILE.xlsx`), read back with a
// workbook reader: the figures of quantification.json, metrics.json and assignments.csv, each
// persona's label beside its id, numbers as numbers.
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import ExcelJS from 'exceljs';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { buildFeatures } from '../../src/features/index.ts';
import { EvaluationSchema, QuantificationSchema, RunMetricsSchema } from '../../src/models/artefacts.ts';
import { buildReport, writeReportWorkbook } from '../../src/report/index.ts';
import { tempDir } from '../helpers/world.ts';

const runs = inject('runs');
const bin = resolve('bin/personas.js');
const execFileP = promisify(execFile);

const readBook = async (file: string) => {
  const book = new ExcelJS.Workbook();
  await book.xlsx.readFile(file);
  return book;
};

/** A sheet's rows as arrays of cell values (row 1, the header, first). */
const sheetRows = (sheet: ExcelJS.Worksheet) => {
  const out: ExcelJS.CellValue[][] = [];
  sheet.eachRow((row) => out.push((row.values as ExcelJS.CellValue[]).slice(1)));
  return out;
};

describe('the report as an Excel workbook', () => {
  const quant = QuantificationSchema.parse(JSON.parse(readFileSync(join(runs.a, 'quantification.json'), 'utf8')));
  const metrics = RunMetricsSchema.parse(JSON.parse(readFileSync(join(runs.a, 'metrics.json'), 'utf8')));
  const csv = readFileSync(join(runs.a, 'assignments.csv'), 'utf8').trim().split('\n');
  let file: string;
  let book: ExcelJS.Workbook;

  beforeAll(async () => {
    file = join(tempDir('personas-xlsx-report-'), 'rapport.xlsx');
    const r = await execFileP(process.execPath, [bin, 'report', '--run', runs.a, '--out', file, '--lang', 'fr']);
    expect(r.stderr).toContain(file);
    book = await readBook(file);
  }, 60_000);

  it('has the tables of the report in French, then every customer', () => {
    expect(book.worksheets.map((s) => s.name)).toEqual(['Quantification', 'Segments', 'Qualité des modèles', 'Données', 'Affectations']);
    for (const sheet of book.worksheets) {
      const view = sheet.views[0] as Partial<ExcelJS.WorksheetViewFrozen>;
      expect([sheet.name, view.state, view.ySplit]).toEqual([sheet.name, 'frozen', 1]);
    }
  });

  it('gives the quantification of quantification.json, labelled, with shares as percentages', () => {
    const rows = sheetRows(book.getWorksheet('Quantification')!);
    expect(rows[0]).toEqual(['Persona', 'Clients', 'Part de la base', 'Chiffre d’affaires (12 mois)', 'Part du chiffre d’affaires', 'Confiance moyenne', 'Prévalence estimée']);
    expect(rows.slice(1).map((r) => [r[1], r[2], r[3], r[4], r[5] ?? null, r[6] ?? null])).toEqual(
      quant.personas.map((p) => [p.customers, p.share, p.revenue, p.revenueShare, p.meanConfidence, p.estimatedPrevalence]),
    );
    expect(rows.at(-1)![0]).toBe('Non affectés');
    expect(book.getWorksheet('Quantification')!.getColumn(3).numFmt).toBe('0.0%');
  });

  it('gives what the base held by file, with what to check (a column that looks like the contract’s, amounts far above the median purchase)', async () => {
    const rows = sheetRows(book.getWorksheet('Données')!);
    expect(rows[0]).toEqual(['Fichier', 'Lignes rejetées', 'Lignes corrigées', 'Motifs', 'Lecture', 'À vérifier']);
    // A run whose features.json names a column and amounts to check.
    const run = tempDir('personas-xlsx-check-');
    cpSync(runs.a, run, { recursive: true });
    const summary = join(run, 'features', 'features.json');
    writeFileSync(summary, JSON.stringify({
      ...JSON.parse(readFileSync(summary, 'utf8')),
      suggestions: [{ file: 'customers', column: 'Code Postal', contract: 'postcode' }],
      outliers: [{ file: 'transactions', rows: 1, median: 45.2, largest: [{ line: 12, amount: 1250000 }] }],
    }));
    const out = join(run, 'report.xlsx');
    await writeReportWorkbook(await buildReport(run, { lang: 'en', features: null }), out, null);
    const data = sheetRows((await readBook(out)).getWorksheet('Data')!);
    expect(data.slice(1).map((r) => [r[0], r[5] ?? null])).toEqual([
      ['Customers', expect.stringContaining('"Code Postal" looks like one')],
      ['Purchases', '1 amount(s) over 1,000 times the median purchase (45.20), kept: 1,250,000.00 (line 12); check them (typed in cents, a total line?): they weigh on the means that "Kx mean" rules compare with'],
      ['Contacts', null],
    ]);
  });

  it('gives the check against known customers drawn at random, with the sizes they correct, in two sheets', async () => {
    const run = tempDir('personas-xlsx-known-');
    cpSync(runs.a, run, { recursive: true });
    const truth = readFileSync(join(runs.data, 'truth.csv'), 'utf8').trim().split('\n');
    const known = join(run, 'survey.csv');
    writeFileSync(known, [truth[0], ...truth.slice(1).filter((_, i) => i % 4 === 1)].join('\n') + '\n');
    await execFileP(process.execPath, [bin, 'evaluate', '--run', run, '--known', known, '--empty', 'none', '--random-sample']);
    const e = EvaluationSchema.parse(JSON.parse(readFileSync(join(run, 'evaluation.json'), 'utf8')));
    const out = join(run, 'report.xlsx');
    await execFileP(process.execPath, [bin, 'report', '--run', run, '--out', out]);
    const known2 = await readBook(out);
    expect(known2.worksheets.map((s) => s.name)).toEqual(['Quantification', 'Segments', 'Model quality', 'Known customers', 'Sizes from the sample', 'Data', 'Assignments']);
    const rows = sheetRows(known2.getWorksheet('Sizes from the sample')!);
    expect(rows[0]).toEqual(['Persona', 'Estimated by the models', 'Corrected', 'Interval low (95 %)', 'Interval high (95 %)', 'Sample share', 'Sample interval low (95 %)', 'Sample interval high (95 %)']);
    expect(rows.slice(1).map((r) => r.slice(1))).toEqual(e.sizes.map((z) => [z.estimated, z.corrected, ...z.interval, z.sampleShare, ...z.sampleInterval]));
  }, 60_000);

  it('gives each persona model’s figures of metrics.json, and the warnings the report gives it', async () => {
    const [header, ...rows] = sheetRows(book.getWorksheet('Qualité des modèles')!);
    expect(rows.map((r) => [r[1], r[2], r[3] ?? null, r[4] ?? null, r[6]])).toEqual(metrics.personas.map((p) => [p.seeds, p.twins, p.validationAuc, p.threshold, p.coverage]));
    expect(header.at(-1)).toBe('Alertes');
    const report = await buildReport(runs.a, { lang: 'fr' });
    const warned = metrics.personas.filter((p) => report.warnings.some((w) => w.persona === p.persona));
    expect(warned.length).toBeGreaterThan(0);
    for (const [k, p] of metrics.personas.entries()) {
      // Each of the report's warnings on the persona, without its label in front (the row's first cell).
      const front = `${rows[k][0]} : `;
      const messages = report.warnings.filter((w) => w.persona === p.persona).map((w) => w.message);
      expect(messages.every((m) => m.startsWith(front))).toBe(true);
      expect(rows[k][7] ?? '', p.persona).toBe(messages.map((m) => m.slice(front.length)).join(' ; '));
    }
  });

  it('gives every line of assignments.csv, the persona’s label beside its id, scores as numbers', () => {
    const sheet = book.getWorksheet('Affectations')!;
    const rows = sheetRows(sheet);
    const header = csv[0].split(',');
    expect(rows[0].slice(0, 5)).toEqual(['customer_id', 'Persona', 'persona_id', 'Confiance', 'Marge']);
    expect(rows.length).toBe(csv.length);
    const labels = new Map(quant.personas.map((p) => [p.persona, p.label]));
    csv.slice(1).forEach((line, i) => {
      const f = line.split(',');
      const row = rows[i + 1];
      expect(row[0]).toBe(f[0]);
      expect(row[1]).toBe(f[1] ? labels.get(f[1]) : 'Non affectés');
      expect(row[2] ?? '').toBe(f[1]);
      header.slice(2).forEach((h, j) => {
        if (h === 'confidence' || h === 'margin' || h.startsWith('score_')) expect([h, row[j + 3] ?? null]).toEqual([h, f[j + 2] === '' ? null : Number(f[j + 2])]);
      });
    });
  });

  it('lists every usable feature of each persona’s portrait, the report’s highlights marked', async () => {
    const features = join(tempDir('personas-xlsx-features-'), 'features');
    await buildFeatures({ dataDir: runs.data, outDir: features });
    const model = await buildReport(runs.a, { lang: 'en', features: join(features, 'features.parquet') });
    const out = join(tempDir('personas-xlsx-portraits-'), 'report.xlsx');
    const r = await writeReportWorkbook(model, out, null);
    expect(r.sheets).toEqual(['Quantification', 'Segments', 'Portraits', 'Model quality', 'Data']);
    const rows = sheetRows((await readBook(out)).getWorksheet('Portraits')!);
    expect(rows[0]).toEqual(['Persona', 'Feature', 'Persona average', 'Base average', 'Index (base = 100)', 'Effect (SD)', 'In the report', 'In words']);
    const expected = model.portraits!.flatMap((p) => p.all.map((x) => [x.label, x.personaMean, x.baseMean, p.highlights.some((h) => h.feature === x.feature) ? 'yes' : null, x.sentence]));
    expect(expected.length).toBeGreaterThan(20);
    expect(rows.slice(1).map((row) => [row[1], row[2], row[3], row[6] ?? null, row[7]])).toEqual(expected);
  }, 60_000);

  it('goes on to a next sheet past the rows a sheet holds, and leaves the previous file when a line does not read', async () => {
    const model = await buildReport(runs.a, { lang: 'en', features: null });
    const out = join(tempDir('personas-xlsx-split-'), 'report.xlsx');
    const r = await writeReportWorkbook(model, out, join(runs.a, 'assignments.csv'), { sheetRows: 400 });
    const parts = Math.ceil((csv.length - 1) / 400);
    expect(r.assignmentRows).toBe(csv.length - 1);
    const split = await readBook(out);
    const names = split.worksheets.map((s) => s.name).filter((n) => n.startsWith('Assignments'));
    expect(names).toEqual(['Assignments', ...Array.from({ length: parts - 1 }, (_, i) => `Assignments (${i + 2})`)]);
    expect(names.map((n) => sheetRows(split.getWorksheet(n)!).length - 1).reduce((a, b) => a + b, 0)).toBe(csv.length - 1);
    expect(sheetRows(split.getWorksheet('Assignments (2)')!)[1][0]).toBe(csv[401].split(',')[0]);

    const run = tempDir('personas-xlsx-bad-');
    cpSync(runs.a, run, { recursive: true });
    writeFileSync(join(run, 'assignments.csv'), [...csv.slice(0, 3), 'C1,"unclosed', ...csv.slice(3)].join('\n') + '\n');
    const before = readFileSync(out);
    const err = await writeReportWorkbook(model, out, join(run, 'assignments.csv')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(`${join(run, 'assignments.csv')}: line 4: a quote that does not close`);
    expect(readFileSync(out).equals(before)).toBe(true);
  });
});
