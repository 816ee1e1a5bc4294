// The report's tables as an Excel workbook, for a consultant who builds the client's slides or
// hands the labels to a marketing team that works in Excel: quantification, persona x segment,
// model quality, the data received, and every customer's assignment (the run's assignments.csv
// with each persona's label beside its id). Written beside its place and renamed once complete.
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type ExcelJS from 'exceljs';
import { InputError } from '../errors.ts';
import { splitCsvLine } from '../store/registry.ts';
import { formatters } from './format.ts';
import { TEXT, type Lang } from './labels.ts';
import type { ReportModel } from './model.ts';

/** Data rows a sheet holds at most (Excel's 1,048,576 rows, less the header); more go on to a next sheet. */
export const SHEET_ROWS = 1_048_575;

interface SheetWords {
  quantification: string;
  segments: string;
  quality: string;
  /** The model quality sheet's column of the report's warnings on the persona. */
  warnings: string;
  data: string;
  known: string;
  /** The sizes corrected by a random sample of known customers, and their columns. */
  sizes: string;
  corrected: string;
  sample: string;
  sampleLow: string;
  sampleHigh: string;
  precision: string;
  low: string;
  high: string;
  assignments: string;
  id: string;
  margin: string;
  confidence: string;
  score: (label: string) => string;
  file: string;
  reasons: string;
  toCheck: string;
  feature: string;
  effect: string;
  highlight: string;
  sentence: string;
  yes: string;
}

const SHEETS: Record<Lang, SheetWords> = {
  en: {
    quantification: 'Quantification',
    segments: 'Segments',
    quality: 'Model quality',
    warnings: 'Warnings',
    data: 'Data',
    known: 'Known customers',
    sizes: 'Sizes from the sample',
    corrected: 'Corrected',
    sample: 'Sample share',
    sampleLow: 'Sample interval low (95 %)',
    sampleHigh: 'Sample interval high (95 %)',
    precision: 'Precision',
    low: 'Interval low (95 %)',
    high: 'Interval high (95 %)',
    assignments: 'Assignments',
    id: 'persona_id',
    margin: 'Margin',
    confidence: 'Confidence',
    score: (label) => `Score ${label}`,
    file: 'File',
    reasons: 'Reasons',
    toCheck: 'To check',
    feature: 'Feature',
    effect: 'Effect (SD)',
    highlight: 'In the report',
    sentence: 'In words',
    yes: 'yes',
  },
  fr: {
    quantification: 'Quantification',
    segments: 'Segments',
    quality: 'Qualité des modèles',
    warnings: 'Alertes',
    data: 'Données',
    known: 'Clients connus',
    sizes: 'Tailles par l’échantillon',
    corrected: 'Corrigée',
    sample: 'Part de l’échantillon',
    sampleLow: 'Échantillon, intervalle bas (95 %)',
    sampleHigh: 'Échantillon, intervalle haut (95 %)',
    precision: 'Précision',
    low: 'Intervalle bas (95 %)',
    high: 'Intervalle haut (95 %)',
    assignments: 'Affectations',
    id: 'persona_id',
    margin: 'Marge',
    confidence: 'Confiance',
    score: (label) => `Score ${label}`,
    file: 'Fichier',
    reasons: 'Motifs',
    toCheck: 'À vérifier',
    feature: 'Caractéristique',
    effect: 'Effet (écarts-types)',
    highlight: 'Dans le rapport',
    sentence: 'En clair',
    yes: 'oui',
  },
};

type Cells = (string | number | null)[];

/** A warning's message without the persona's label it starts with (`Léa: ` or `Léa : `). */
const warningText = (message: string, label: string) => (message.startsWith(label) ? message.slice(label.length).replace(/^\s?:\s/, '') : message);

const INT = '#,##0';
const PCT = '0.0%';
const EUR = '#,##0 "€"';
const DEC = '0.000';

interface Column {
  header: string;
  width: number;
  numFmt?: string;
}

/** A sheet with a bold, frozen, filterable header row. */
function addSheet(book: ExcelJS.stream.xlsx.WorkbookWriter, name: string, columns: Column[]): ExcelJS.Worksheet {
  const sheet = book.addWorksheet(name.slice(0, 31), { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.columns = columns.map((c, i) => ({ header: c.header, key: `c${i}`, width: c.width, style: c.numFmt ? { numFmt: c.numFmt } : {} }));
  sheet.getRow(1).font = { bold: true };
  sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: columns.length } };
  return sheet;
}

const add = (sheet: ExcelJS.Worksheet, values: Cells) => sheet.addRow(values).commit();

/** The lines of an assignment file (header first), and what to name in an error: a file, or a version's labels. */
export interface AssignmentLines {
  lines: AsyncIterable<string>;
  source: string;
}

/**
 * Writes the workbook of `model` to `file`; with `assignments` (a run's assignments.csv, or the
 * lines of a published version's labels), one more sheet of every customer's label, continued on
 * further sheets past Excel's row limit.
 */
export async function writeReportWorkbook(
  model: ReportModel,
  file: string,
  assignments: string | AssignmentLines | null,
  opts: { sheetRows?: number } = {},
): Promise<{ sheets: string[]; assignmentRows: number }> {
  if (typeof assignments === 'string' && !existsSync(assignments)) throw new InputError('INPUT_MISSING_FILE', `${assignments}: assignment file not found`, { file: assignments });
  const t = TEXT[model.lang];
  const w = SHEETS[model.lang];
  const fmt = formatters(model.lang);
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.partial-${process.pid}.xlsx`;
  // Loaded when a workbook is written (a third of a second), not by every command that imports the report.
  const { default: excel } = await import('exceljs');
  const book = new excel.stream.xlsx.WorkbookWriter({ filename: partial, useStyles: true, useSharedStrings: false });
  book.creator = `personas ${model.codeVersion}`;
  const sheets: string[] = [];
  let assignmentRows = 0;
  /** One table sheet: a column per [header, width, number format], then its rows. */
  const table = (name: string, columns: [string, number, string?][], rows: Cells[]) => {
    const sheet = addSheet(book, name, columns.map(([header, width, numFmt]) => ({ header, width, numFmt })));
    for (const r of rows) add(sheet, r);
    sheet.commit();
    sheets.push(name);
  };
  const list = (items: string[]) => items.join(model.lang === 'fr' ? ' ; ' : '; ');
  try {
    table(
      w.quantification,
      [[t.persona, 28], [t.customers, 12, INT], [t.share, 14, PCT], [t.revenue, 22, EUR], [t.revenueShare, 16, PCT], [t.meanConfidence, 18, DEC], [t.estimatedPrevalence, 20, PCT]],
      model.quantification.map((r) => [r.label, r.customers, r.share, r.revenue, r.revenueShare, r.meanConfidence, r.estimatedPrevalence]),
    );
    const { segments, rows: segmentRows } = model.segments;
    if (segmentRows.length && segments.length) {
      const segLabel = (s: string | null) => (s === null ? t.noSegment : s);
      table(
        w.segments,
        [[t.persona, 28], ...segments.map((s): [string, number, string] => [segLabel(s), Math.max(10, segLabel(s).length + 2), INT]), ['Total', 12, INT]],
        segmentRows.map((r) => [r.label, ...segments.map((s) => r.cells.find((c) => c.segment === s)?.customers ?? 0), r.total]),
      );
    }
    if (model.portraits?.some((p) => p.all.length)) {
      // Every usable feature of each persona, strongest first: the highlights of the HTML and the rest.
      const labelOf = new Map(model.personas.map((p) => [p.id, p.label]));
      table(
        t.portraits,
        [[t.persona, 24], [w.feature, 34], [t.personaMean, 18, '#,##0.00'], [t.baseMean, 18, '#,##0.00'], [t.index, 18, '0'], [w.effect, 14, '0.00'], [w.highlight, 12], [w.sentence, 90]],
        model.portraits.flatMap((p) => {
          const shown = new Set(p.highlights.map((h) => h.feature));
          return p.all.map((x) => [labelOf.get(p.persona) ?? p.persona, x.label, x.personaMean, x.baseMean, x.index, x.effect, shown.has(x.feature) ? w.yes : '', x.sentence]);
        }),
      );
    }
    table(
      w.quality,
      [[t.persona, 28], [t.seeds, 10, INT], [t.twins, 10, INT], [t.auc, 16, DEC], [t.threshold, 12, DEC], [t.expectedPrecision, 20, PCT], [t.coverage, 12, PCT], [w.warnings, 100]],
      // The report's warnings on each persona (a workbook passed on without the report keeps them), its label off their front.
      model.quality.map((q) => [q.label, q.seeds, q.twins, q.validationAuc, q.threshold, q.expectedPrecision, q.coverage, list(model.warnings.filter((x) => x.persona === q.persona).map((x) => warningText(x.message, q.label)))]),
    );
    if (model.evaluation) {
      table(
        w.known,
        [[t.persona, 28], [t.knownCustomers, 10, INT], [t.assigned, 12, INT], [t.right, 10, INT], [w.precision, 12, PCT], [w.low, 20, PCT], [w.high, 20, PCT], [t.expectedPrecision, 20, PCT], [t.recall, 10, PCT], [t.knownShare, 14, PCT], [t.meanProbability, 18, PCT], [t.verdict, 30]],
        model.evaluation.personas.map((p) => [p.label, p.known, p.assigned, p.correct, p.precision, p.precisionInterval?.[0] ?? null, p.precisionInterval?.[1] ?? null, p.expectedPrecision, p.recall, p.knownShare, p.meanProbability, t.verdicts[p.verdict]]),
      );
      if (model.evaluation.sizes.length) {
        table(
          w.sizes,
          [[t.persona, 28], [t.estimatedByModels, 22, PCT], [w.corrected, 14, PCT], [w.low, 20, PCT], [w.high, 20, PCT], [w.sample, 14, PCT], [w.sampleLow, 26, PCT], [w.sampleHigh, 26, PCT]],
          model.evaluation.sizes.map((z) => [z.label, z.estimated, z.corrected, z.interval[0], z.interval[1], z.sampleShare, z.sampleInterval[0], z.sampleInterval[1]]),
        );
      }
    }
    if (model.data) {
      table(
        w.data,
        [[w.file, 16], [t.rejected, 12, INT], [t.repaired, 12, INT], [w.reasons, 60], [t.readAs, 60], [w.toCheck, 60]],
        model.data.files.map((f) => [
          f.label,
          f.rejected,
          f.repaired,
          list(f.reasons.map((x) => fmt.labelled(x.label, fmt.count(x.rows)) + (x.detail ? ` (${x.detail})` : ''))),
          list(f.readAs),
          list(f.toCheck),
        ]),
      );
    }

    if (assignments !== null) {
      const source = typeof assignments === 'string' ? { lines: createInterface({ input: createReadStream(assignments, 'utf8'), crlfDelay: Infinity }), source: assignments } : assignments;
      assignmentRows = await addAssignments(book, model, source, sheets, opts.sheetRows ?? SHEET_ROWS);
    }
    await book.commit();
    renameSync(partial, file);
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  }
  return { sheets, assignmentRows };
}

/** The assignment sheets: the CSV's columns with the persona's label after its id, numbers as numbers. */
async function addAssignments(book: ExcelJS.stream.xlsx.WorkbookWriter, model: ReportModel, { lines, source: path }: AssignmentLines, sheets: string[], sheetRows: number): Promise<number> {
  const t = TEXT[model.lang];
  const w = SHEETS[model.lang];
  const labels = new Map(model.personas.map((p) => [p.id, p.label]));
  let header: string[] | null = null;
  let columns: Column[] = [];
  let sheet: ExcelJS.Worksheet | null = null;
  let inSheet = 0;
  let rows = 0;
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (header === null) {
      header = splitCsvLine(line) ?? [];
      if (header[0] !== 'customer_id' || header[1] !== 'persona') throw new InputError('INPUT_INVALID', `${path}: line 1: not an assignment file (expected customer_id,persona,... got ${line.slice(0, 80)})`, { file: path });
      columns = [
        { header: 'customer_id', width: 16 },
        { header: t.persona, width: 24 },
        { header: w.id, width: 20 },
        ...header.slice(2).map((h): Column => {
          if (h === 'confidence') return { header: w.confidence, width: 12, numFmt: DEC };
          if (h === 'margin') return { header: w.margin, width: 10, numFmt: DEC };
          if (h.startsWith('score_')) return { header: w.score(labels.get(h.slice(6)) ?? h.slice(6)), width: 16, numFmt: DEC };
          return { header: h, width: 18 };
        }),
      ];
      continue;
    }
    if (!line) continue;
    const f = splitCsvLine(line);
    if (f === null) throw new InputError('INPUT_INVALID', `${path}: line ${lineNo}: a quote that does not close`, { file: path });
    if (f.length !== header.length) throw new InputError('INPUT_INVALID', `${path}: line ${lineNo}: ${f.length} fields where the header has ${header.length}`, { file: path });
    if (sheet === null || inSheet === sheetRows) {
      sheet?.commit();
      const name = sheets.filter((s) => s.startsWith(w.assignments)).length ? `${w.assignments} (${sheets.filter((s) => s.startsWith(w.assignments)).length + 1})` : w.assignments;
      sheet = addSheet(book, name, columns);
      sheets.push(name);
      inSheet = 0;
    }
    const persona = f[1] || null;
    const rest = f.slice(2).map((v, i) => (header![i + 2] === 'confidence' || header![i + 2] === 'margin' || header![i + 2].startsWith('score_') ? (v === '' ? null : Number(v)) : v));
    add(sheet, [f[0], persona === null ? t.unassigned : (labels.get(persona) ?? persona), persona, ...rest]);
    inSheet++;
    rows++;
  }
  sheet?.commit();
  return rows;
}
