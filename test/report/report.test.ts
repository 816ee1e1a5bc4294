// The consultant's report without a browser: its numbers equal the run's quantification.json and
// metrics.json (in the model and in the HTML tables), portraits are computed and phrased, weak
// personas get plain-word warnings, French and English labels, safe inlining, and the CLI.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ModelError } from '../../src/errors.ts';
import { buildFeatures, type FeatureTable } from '../../src/features/index.ts';
import { EvaluationSchema, QuantificationSchema, RunMetricsSchema, type PersonaMetrics, type Quantification } from '../../src/models/artefacts.ts';
import {
  buildCharts,
  buildReport,
  buildReportModel,
  computePortraitStats,
  describePersona,
  inlineJson,
  personaWarnings,
  phrase,
  readAssignedPersonas,
  readRunArtefacts,
  renderReportHtml,
  SECTION_IDS,
  type ReportModel,
} from '../../src/report/index.ts';
import { tempDir } from '../helpers/world.ts';

const runs = inject('runs');
const bin = resolve('bin/personas.js');
const execFileP = promisify(execFile);

/** Attribute values of the cells of one table row of the HTML, by data-field. */
const rowCells = (html: string, tableId: string, persona: string) => rowCellsBy(html, tableId, 'persona', persona);

/** The cells of the row of table `tableId` whose `data-<key>` is `value`, by data-field. */
function rowCellsBy(html: string, tableId: string, key: string, value: string): Record<string, string> {
  const table = html.slice(html.indexOf(`<table id="${tableId}"`), html.indexOf('</table>', html.indexOf(`<table id="${tableId}"`)));
  const start = table.indexOf(`<tr data-${key}="${value}"`);
  expect(start, `row ${value} of ${tableId}`).toBeGreaterThanOrEqual(0);
  const row = table.slice(start, table.indexOf('</tr>', start));
  return Object.fromEntries([...row.matchAll(/data-field="(\w+)" data-value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

const asNumber = (s: string) => (s === '' ? null : Number(s));

describe('report of a demo run', () => {
  let featuresPath: string;
  let model: ReportModel;
  let html: string;
  const quant = QuantificationSchema.parse(JSON.parse(readFileSync(join(runs.a, 'quantification.json'), 'utf8')));
  const metrics = RunMetricsSchema.parse(JSON.parse(readFileSync(join(runs.a, 'metrics.json'), 'utf8')));

  beforeAll(async () => {
    const out = join(tempDir('personas-report-'), 'features');
    await buildFeatures({ dataDir: runs.data, outDir: out });
    featuresPath = join(out, 'features.parquet');
    model = await buildReport(runs.a, { lang: 'en', features: featuresPath });
    html = renderReportHtml(model);
  }, 60_000);

  it('shows the quantification of quantification.json, in the model and in the HTML table', () => {
    expect(model.customers).toBe(quant.customers);
    expect(model.quantification.map((r) => r.persona)).toEqual(quant.personas.map((r) => r.persona));
    for (const r of quant.personas) {
      const m = model.quantification.find((x) => x.persona === r.persona)!;
      expect({ ...m, label: r.label }).toEqual(r.persona === null ? { ...r } : r);
      const cells = rowCells(html, 'table-quantification', r.persona ?? '');
      expect(asNumber(cells.customers)).toBe(r.customers);
      expect(asNumber(cells.share)).toBe(r.share);
      expect(asNumber(cells.revenue)).toBe(r.revenue);
      expect(asNumber(cells.revenueShare)).toBe(r.revenueShare);
      expect(asNumber(cells.meanConfidence)).toBe(r.meanConfidence);
      expect(asNumber(cells.estimatedPrevalence)).toBe(r.estimatedPrevalence);
    }
    expect(model.totalRevenue).toBeCloseTo(quant.personas.reduce((s, r) => s + r.revenue, 0), 6);
    // The charts draw the same numbers.
    const charts = buildCharts(model);
    const values = (id: string) => ((charts.find((c) => c.id === id)!.spec.data as { values: Record<string, unknown>[] }).values);
    expect(values('chart-quant-customers').map((v) => v.customers)).toEqual(quant.personas.map((r) => r.customers));
    expect(values('chart-quant-shares').map((v) => v.value)).toEqual(quant.personas.flatMap((r) => [r.share, r.revenueShare]));
    const reach = (charts.find((c) => c.id === 'chart-reach')!.spec.layer as { data: { values: Record<string, unknown>[] } }[])[0].data.values;
    expect(reach.map((v) => v.customers)).toEqual(metrics.personas.filter((p) => p.status === 'trained').flatMap((p) => p.reachCurve.map((c) => c.customers)));
  });

  it('shows the metrics of metrics.json: quality table, reach curves and thresholds', () => {
    for (const p of metrics.personas) {
      const q = model.quality.find((x) => x.persona === p.persona)!;
      const { label: _label, topFeatures, ...rest } = q;
      expect(rest).toEqual(p);
      expect(topFeatures.map((f) => f.gain)).toEqual(Object.values(p.featureImportance).sort((a, b) => b - a).slice(0, 10));
      const cells = rowCells(html, 'table-quality', p.persona);
      expect(asNumber(cells.seeds)).toBe(p.seeds);
      expect(asNumber(cells.twins)).toBe(p.twins);
      expect(asNumber(cells.views)).toBe(p.views.length);
      expect(asNumber(cells.validationAuc)).toBe(p.validationAuc);
      expect(asNumber(cells.estimatedC)).toBe(p.estimatedC);
      expect(asNumber(cells.threshold)).toBe(p.threshold);
      expect(asNumber(cells.expectedPrecision)).toBe(p.expectedPrecision);
      expect(asNumber(cells.coverage)).toBe(p.coverage);
      if (p.status === 'trained') {
        const r = model.reach.find((x) => x.persona === p.persona)!;
        expect(r.curve).toEqual(p.reachCurve);
        expect(r.threshold).toBe(p.threshold);
        expect(r.expectedPrecision).toBe(p.expectedPrecision);
        const reachCells = rowCells(html, 'table-reach', p.persona);
        expect(asNumber(reachCells.threshold)).toBe(p.threshold);
        expect(asNumber(reachCells.assigned)).toBe(quant.personas.find((x) => x.persona === p.persona)!.customers);
      }
    }
  });

  it('crosses personas with segments as in quantification.json, with row shares', () => {
    for (const c of quant.bySegment) {
      const row = model.segments.rows.find((r) => r.persona === c.persona)!;
      const cell = row.cells.find((x) => x.segment === c.segment)!;
      expect(cell.customers).toBe(c.customers);
      expect(cell.rowShare).toBeCloseTo(c.customers / row.total, 12);
    }
    for (const row of model.segments.rows) {
      expect(row.total).toBe(quant.personas.find((r) => r.persona === row.persona)!.customers);
      expect(row.cells.reduce((s, c) => s + c.rowShare, 0)).toBeCloseTo(1, 9);
    }
    expect(model.segments.segments.at(-1)).toBeNull();
  });

  it('gives the largest segments a column each and merges the rest into one', () => {
    const a = readRunArtefacts(runs.a);
    const bySegment: Quantification['bySegment'] = Array.from({ length: 20 }, (_, k) => ({ persona: null, segment: `s${String(k).padStart(2, '0')}`, customers: 100 - k }));
    bySegment.push({ persona: null, segment: null, customers: 7 });
    const model = buildReportModel({ ...a, quantification: { ...a.quantification, bySegment } });
    expect(model.segments.segments.length).toBe(13);
    expect(model.segments.segments.slice(0, 11)).toEqual(bySegment.slice(0, 11).map((c) => c.segment));
    expect(model.segments.segments.at(-1)).toBeNull();
    expect(model.segments.merged).toEqual(bySegment.slice(11, 20).map((c) => c.segment));
    const row = model.segments.rows.find((r) => r.persona === null)!;
    expect(row.cells[11].customers).toBe(bySegment.slice(11, 20).reduce((s, c) => s + c.customers, 0));
    expect(row.cells.reduce((s, c) => s + c.customers, 0)).toBe(row.total);
    const page = renderReportHtml(model);
    expect(page).toContain('9 other segments');
    expect(page).not.toContain('\u0000');
  });

  it('draws every portrait from members against the base, with the most telling features phrased', () => {
    expect(model.portraits).not.toBeNull();
    const assigned = readAssignedPersonas(join(runs.a, 'assignments.csv'));
    for (const p of model.portraits!) {
      const q = quant.personas.find((r) => r.persona === p.persona)!;
      expect(p.members).toBe(q.customers);
      expect([...assigned.values()].filter((v) => v === p.persona).length).toBe(p.members);
      if (!p.members) continue;
      expect(p.highlights.length).toBeGreaterThan(0);
      expect(p.highlights.length).toBeLessThanOrEqual(6);
      const themes = new Map<string, number>();
      for (const h of p.highlights) {
        themes.set(h.theme, (themes.get(h.theme) ?? 0) + 1);
        expect(Math.abs(h.effect)).toBeGreaterThanOrEqual(0.2);
        expect(h.sentence).toMatch(/the average customer/);
        if (h.index !== null) expect(h.index).toBeCloseTo((100 * h.personaMean) / h.baseMean, 9);
        expect(html).toContain(`<li data-feature="${h.feature}">`);
      }
      expect(Math.max(...themes.values())).toBeLessThanOrEqual(2);
      expect(p.all.map((x) => x.feature)).not.toContain('tile_found');
    }
  });

  it('inlines the chart library and the data, never a URL to fetch', () => {
    const data = JSON.parse(/<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html)![1]);
    const ids = data.charts.map((c: { id: string }) => c.id);
    expect(ids).toEqual(expect.arrayContaining(['chart-quant-shares', 'chart-quant-customers', 'chart-reach', 'chart-precision', 'chart-segments', 'chart-calibration', 'chart-importance']));
    for (const id of ids) expect(html).toContain(`id="${id}"`);
    expect(html).toMatch(/vegaEmbed/);
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    expect(html.match(/<script/g)!.length).toBe(html.match(/<\/script>/g)!.length);
    for (const id of SECTION_IDS) expect(html).toContain(`<section id="${id}"`);
  });

  it('speaks French for a French client', async () => {
    const fr = renderReportHtml(await buildReport(runs.a, { lang: 'fr', features: featuresPath }));
    expect(fr).toContain('<html lang="fr">');
    expect(fr).toContain('Qui pèse quoi');
    expect(fr).toContain('Non affectés');
    expect(fr).toContain('Portée et précision');
    expect(fr).toMatch(/que le client moyen/);
    expect(fr).not.toContain('than the average customer');
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('Unassigned');
  });

  it('says portraits are unavailable without the feature table, in both languages', async () => {
    const en = await buildReport(runs.a, { lang: 'en' });
    expect(existsSync(join(runs.a, 'features', 'features.parquet'))).toBe(false);
    expect(en.portraits).toBeNull();
    expect(renderReportHtml(en)).toContain('Portraits are unavailable');
    const fr = buildReportModel(readRunArtefacts(runs.a), { lang: 'fr' });
    expect(renderReportHtml(fr)).toContain('Portraits indisponibles');
  });

  it("shows what the base held and how it was read, from the run's features.json", () => {
    const summary = JSON.parse(readFileSync(join(runs.a, 'features', 'features.json'), 'utf8')) as { rows: number; asOf: string; rejects: unknown[] };
    expect(model.data).toEqual({
      customers: summary.rows,
      asOf: summary.asOf,
      files: ['customers', 'transactions', 'interactions'].map((file) => ({ file, label: { customers: 'Customers', transactions: 'Purchases', interactions: 'Contacts' }[file], rejected: 0, repaired: 0, reasons: [], readAs: [], toCheck: [] })),
      suggestions: [],
      outliers: [],
      spellings: [],
      names: [],
      birthYears: [],
      renamed: [],
      asOfCheck: [],
    });
    expect(summary.rejects).toEqual([]);
    expect(html).toContain(`The base held ${summary.rows.toLocaleString('en')} customers, described at ${summary.asOf}.`);
    expect(rowCellsBy(html, 'table-data', 'file', 'transactions')).toEqual({ rejected: '0', repaired: '0' });
    expect(html).toContain('as the contract writes it (UTF-8, commas, ISO dates)');
    expect(html).not.toContain('id="data-suggestions"');
    expect(html).not.toContain('id="data-outliers"');
  });

  it('counts rejected and repaired rows by file and reason, and says how each file was read, in both languages', async () => {
    const a = readRunArtefacts(runs.a);
    const data = {
      rows: 1500,
      asOf: '2026-06-30',
      rejects: [
        { file: 'transactions', reason: 'bad_amount', action: 'dropped', rows: 12 },
        {
          file: 'transactions',
          reason: 'unknown_channel',
          action: 'kept: channel other',
          rows: 30,
          values: [{ value: 'Magasin', rows: 2900, suggestion: 'store' }, { value: 'Drive', rows: 100 }],
        },
        { file: 'transactions', reason: 'bad_date', action: 'dropped', rows: 40 },
        { file: 'transactions', reason: 'bad_promo', action: 'kept: promo 0', rows: 5, values: [{ value: 'PROMO', rows: 5 }] },
        { file: 'customers', reason: 'short_postcode', action: 'kept: leading 0 restored', rows: 77 },
      ],
      formats: { customers: { encoding: 'windows-1252' as const, delimiter: ';' as const, decimalComma: true, dateOrder: 'day-first' as const } },
      suggestions: [{ file: 'customers', column: 'Code Postal', contract: 'postcode' }],
      outliers: [{ file: 'transactions', rows: 2, median: 45.2, largest: [{ line: 5480, amount: 1250000 }, { line: 12, amount: -98000.5 }] }],
    };
    const en = buildReportModel({ ...a, data });
    const page = renderReportHtml(en);
    expect(rowCellsBy(page, 'table-data', 'file', 'transactions')).toEqual({ rejected: '52', repaired: '35' });
    expect(rowCellsBy(page, 'table-data', 'file', 'customers')).toEqual({ rejected: '0', repaired: '77' });
    expect(rowCellsBy(page, 'table-data', 'file', 'interactions')).toEqual({ rejected: '0', repaired: '0' });
    // The largest reason first.
    expect(en.data!.files[1].reasons.map((r) => [r.reason, r.rows])).toEqual([['bad_date', 40], ['unknown_channel', 30], ['bad_amount', 12], ['bad_promo', 5]]);
    expect(page).toContain('<span data-reason="bad_amount" data-value="12">amount not a number: 12</span>');
    // The channels the contract does not know, named with what each looks like.
    expect(page).toContain('unknown channel (counted as other): 30</span> <span class="detail">(values: &quot;Magasin&quot; 2,900 (like store), &quot;Drive&quot; 100; map them in the --columns file (values))</span>');
    // What to check, by file (the workbook's data sheet gives it in a column).
    expect(en.data!.files.map((f) => [f.file, f.toCheck.length])).toEqual([['customers', 1], ['transactions', 1], ['interactions', 0]]);
    expect(en.data!.files[1].toCheck[0]).toMatch(/^2 amount\(s\) over 1,000 times the median purchase/);
    // Amounts far above the median purchase, named with their lines.
    expect(page).toContain('<ul id="data-outliers"><li>Purchases: 2 amount(s) over 1,000 times the median purchase (45.20), kept: 1,250,000.00 (line 5480), -98,000.50 (line 12); check them');
    // A promotion flag neither yes nor no, named, and read as no promotion (nothing to map).
    expect(page).toContain('set to 0): 5</span> <span class="detail">(values: &quot;PROMO&quot; 5; read as no promotion)</span>');
    expect(page).toContain('read as Windows-1252 (the file is not valid UTF-8); semicolon-separated; decimal comma accepted (12,50); slashed dates read day first (25/04/2026)');
    expect(page).toContain('<ul id="data-suggestions"><li>Customers: no &quot;postcode&quot; column, and &quot;Code Postal&quot; looks like one: it is read as a client column of its own unless mapped with --columns, e.g. {&quot;customers&quot;:{&quot;Code Postal&quot;:&quot;postcode&quot;}}</li></ul>');
    const frModel = buildReportModel({ ...a, data }, { lang: 'fr' });
    const fr = renderReportHtml(frModel);
    // French puts a space before the colon, in the tables and in the chart titles alike.
    const portraitTitles = buildCharts(await buildReport(runs.a, { lang: 'fr', features: featuresPath })).filter((c) => c.section === 'portraits').map((c) => c.title);
    expect(portraitTitles.length).toBeGreaterThan(0);
    for (const title of portraitTitles) expect(title).toMatch(/\S : \S/);
    expect(fr).toContain('<li>Clients : pas de colonne « postcode », et « Code Postal » y ressemble');
    expect(fr).toContain('Les données reçues');
    expect(fr).toContain('<span data-reason="short_postcode" data-value="77">code postal sans son 0 initial (rétabli) : 77</span>');
    expect(fr).toContain('lu en Windows-1252 (le fichier n’est pas en UTF-8 valide) ; séparateur point-virgule');
    expect(fr).toContain(`<li>Achats : 2 montant(s) de plus de 1 000 fois l’achat médian (45,20), gardé(s) : 1${'\u202f'}250${'\u202f'}000,00 (ligne 5480)`);
    expect(fr).toContain('mis à 0) : 5</span> <span class="detail">(valeurs : &quot;PROMO&quot; 5 ; lues comme sans promotion)</span>');
    expect(fr).toContain(`(valeurs : &quot;Magasin&quot; 2${'\u202f'}900 (comme store), &quot;Drive&quot; 100 ; à associer par le fichier --columns (values))`);
    // Without the run's features.json, the section says so.
    const none = renderReportHtml(buildReportModel({ ...a, data: null }, { lang: 'fr' }));
    expect(none).toContain('<p id="data-unavailable">Résumé des données indisponible');
    expect(none).not.toContain('id="table-data"');
  });

  it('lists the files of purchases given as a folder, the repeats of overlapping exports, where large amounts are and the segments written several ways, in both languages', () => {
    const a = readRunArtefacts(runs.a);
    const data = {
      rows: 1500,
      asOf: '2026-06-30',
      rejects: [{ file: 'transactions', reason: 'repeated_in_other_file', action: 'dropped', rows: 1234 }],
      formats: {
        transactions: {
          encoding: 'utf-8' as const,
          delimiter: ',' as const,
          decimalComma: false,
          files: [
            { file: '2025-h1.csv', rows: 5000, from: '2025-01-02', to: '2025-06-30' },
            { file: '2025-h2.csv', rows: 6234, from: '2025-07-01', to: '2025-12-31', repeated: 1234, format: { encoding: 'windows-1252' as const, delimiter: ';' as const, decimalComma: true } },
          ],
          ignoredFiles: ['README.md'],
        },
      },
      outliers: [{ file: 'transactions', rows: 1, median: 45.2, largest: [{ line: 17, amount: 1250000, in: '2025-h2.csv' }] }],
      spellings: [{ file: 'customers', column: 'segment', groups: [[{ value: 'Gold', rows: 900 }, { value: 'gold', rows: 12 }]] }],
      names: [{ file: 'customers', rows: 40, withoutAge: 25, values: [{ value: 'J.', rows: 3 }] }],
      birthYears: [{ file: 'customers', rows: 1200, named: 1100, correlation: -0.412 }],
      renamed: [{ file: 'customers', column: 'age', as: 'client_age' }],
      asOfCheck: { asOf: '2027-06-30', lastPurchase: '2026-06-30', purchases: 11234, inWindow: 0, after: 0 },
    };
    const page = renderReportHtml(buildReportModel({ ...a, data }));
    expect(rowCellsBy(page, 'table-data', 'file', 'transactions')).toEqual({ rejected: '1234', repaired: '0' });
    expect(page).toContain('repeats a row of an earlier file of the folder over the dates both cover (overlapping exports): 1,234');
    expect(page).toContain(
      "read from the 2 files of its folder, in name order: 2025-h1.csv (5,000 rows, 2025-01-02 to 2025-06-30); 2025-h2.csv (6,234 rows, 2025-07-01 to 2025-12-31, 1,234 of them repeating an earlier file&#39;s over common dates, left out); " +
        '2025-h2.csv read otherwise: read as Windows-1252 (the file is not valid UTF-8), semicolon-separated, decimal comma accepted (12,50); files of the folder passed over (not .csv, .csv.gz, .parquet, .txt or .xlsx): README.md',
    );
    expect(page).toContain('kept: 1,250,000.00 (2025-h2.csv line 17)');
    // A segment written two ways, named in its own list.
    expect(page).toContain('<h3>Values written several ways</h3><ul id="data-spellings"><li>Customers: segment written several ways, each read as a value of its own (in the crossing with the personas, in a rule): &quot;Gold&quot; (900) / &quot;gold&quot; (12); write them one way');
    const fr = renderReportHtml(buildReportModel({ ...a, data }, { lang: 'fr' }));
    expect(fr).toContain('lu dans les 2 fichiers de son dossier, dans l’ordre de leurs noms : 2025-h1.csv (5');
    expect(fr).toContain('dont 1\u202f234 répétant celles d’un fichier précédent aux mêmes dates, écartées');
    expect(fr).toContain('(2025-h2.csv ligne 17)');
    expect(fr).toContain('<h3>Valeurs écrites de plusieurs façons</h3><ul id="data-spellings"><li>Clients : segment écrit de plusieurs façons');
    // First names the births file does not hold: their count, those left without an age, the most frequent.
    expect(page).toContain('<h3>First names the births file does not hold</h3><ul id="data-names"><li>Customers: 40 customer(s) whose first name the births file does not hold for their sex (nor without a title, nor by its first part), 25 of them without a birth year, whose age stays missing; the most frequent: &quot;J.&quot; (3)</li></ul>');
    expect(fr).toContain('<h3>Prénoms absents du fichier des naissances</h3><ul id="data-names"><li>Clients : 40 client(s) dont le prénom ne figure pas');
    // Two-digit birth years that the first names say are ages.
    expect(page).toContain(
      '<h3>Two-digit birth years that look like ages</h3><ul id="data-birth-years"><li>Customers: 1,200 birth year(s) written with two digits were read as years (72 as 1972), but they look like ages: among the 1,100 of these customers whose first name gives an age, the older the name, the smaller the value (correlation -0.41',
    );
    expect(fr).toContain('<ul id="data-birth-years"><li>Clients : 1\u202f200 année(s) de naissance écrites sur deux chiffres ont été lues comme des années (72 pour 1972), mais elles ressemblent à des âges');
    // A client column named as a catalogue feature, and the name it is carried under.
    expect(page).toContain('<h3>Client columns carried under another name</h3><ul id="data-renamed"><li>Customers: column &quot;age&quot; has the name of a catalogue feature, which the product computes: it is carried as &quot;client_age&quot; (the name to use in rules)</li></ul>');
    expect(fr).toContain('<ul id="data-renamed"><li>Clients : la colonne « age » porte le nom d’une variable du catalogue');
    // An as_of a year after the last purchase (a year typed wrong): said with the purchases it counts.
    expect(page).toContain('<h3>The date the features are computed at</h3><ul id="data-as-of"><li>as_of 2027-06-30 is 365 days after the last purchase (2026-06-30): the 12 months before it hold 0 of the 11,234 purchases; check the date');
    expect(fr).toContain('<ul id="data-as-of"><li>as_of 2027-06-30 tombe 365 jours après le dernier achat (2026-06-30)');
  });

  it('says when the models learned from a sample of the base, in both languages, and not otherwise', () => {
    const a = readRunArtefacts(runs.a);
    const whole = buildReportModel(a);
    expect(whole.trainingSample).toBeNull();
    expect(renderReportHtml(whole)).not.toContain('id="training-sample"');
    const sampled = { ...a, metrics: { ...a.metrics, trainingCustomers: Math.floor(a.metrics.customers / 2) } };
    const n = Math.floor(a.metrics.customers / 2).toLocaleString('en');
    expect(renderReportHtml(buildReportModel(sampled))).toMatch(new RegExp(`<p class="intro" id="training-sample">The models learned from a random sample of ${n} of the [\\d,]+ customers`));
    expect(renderReportHtml(buildReportModel(sampled, { lang: 'fr' }))).toContain('Les modèles ont appris sur un échantillon aléatoire de');
  });

  it('refuses artefacts from two different runs', () => {
    const a = readRunArtefacts(runs.a);
    const b = readRunArtefacts(runs.b);
    expect(() => buildReportModel({ ...a, metrics: b.metrics })).toThrow(ModelError);
  });

  it('escapes persona labels in the page and in the embedded data', () => {
    const a = readRunArtefacts(runs.a);
    const evil = '</script><script>alert("x")</script> & <b>';
    a.manifest.personas[0] = { ...a.manifest.personas[0], label: evil };
    const page = renderReportHtml(buildReportModel(a));
    expect(page).not.toContain(evil);
    expect(page).toContain('&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)');
    expect(page.match(/<script/g)!.length).toBe(page.match(/<\/script>/g)!.length);
    expect(JSON.parse(inlineJson({ label: evil })).label).toBe(evil);
    expect(inlineJson({ label: evil })).not.toMatch(/[<>&]/);
  });

  it('writes the report with `personas report`, and refuses an unknown language', async () => {
    const out = join(tempDir('personas-report-cli-'), 'report.html');
    const r = await execFileP(process.execPath, [bin, 'report', '--run', runs.a, '--out', out, '--lang', 'fr', '--features', featuresPath]);
    expect(r.stderr).toContain(out);
    const page = readFileSync(out, 'utf8');
    expect(page).toContain('<html lang="fr">');
    expect(page).toContain('class="portraits"');
    const bad = await execFileP(process.execPath, [bin, 'report', '--run', runs.a, '--out', out, '--lang', 'de']).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(/--lang must be fr or en/);
  }, 60_000);
});

describe('personas demo --run', () => {
  it('ends with the report of the run it made: sample base -> projection -> assignment file -> report', async () => {
    const out = tempDir('personas-report-demo-');
    const r = await execFileP(process.execPath, [bin, 'demo', '--run', '--out', out, '--customers', '800'], { maxBuffer: 16 << 20 });
    expect(r.stdout + r.stderr).toContain(`report: ${join(out, 'report.html')}`);
    const page = readFileSync(join(out, 'report.html'), 'utf8');
    const q = QuantificationSchema.parse(JSON.parse(readFileSync(join(out, 'quantification.json'), 'utf8')));
    expect(page).toContain(q.modelVersion);
    expect(page).toContain('class="portraits"');
    expect(rowCells(page, 'table-quantification', '').customers).toBe(String(q.personas.at(-1)!.customers));
    // Checked against the base's survey (customers drawn at random who picked their portrait), the report's section from evaluation.json.
    const e = EvaluationSchema.parse(JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8')));
    const surveyed = readFileSync(join(out, 'data', 'survey.csv'), 'utf8').trim().split('\n').length - 1;
    expect([e.modelVersion, e.customers, e.matched, e.randomSample]).toEqual([q.modelVersion, surveyed, surveyed, true]);
    // (800 customers give every persona too few seeds: none assigned, no precision, no size to correct.)
    expect(e.sizes.map((z) => z.persona)).toEqual(q.personas.filter((p) => p.persona !== null && p.estimatedPrevalence !== null).map((p) => p.persona));
    expect(r.stdout + r.stderr).toContain(`checked against ${surveyed} known customers (${join(out, 'data', 'survey.csv')}): ${e.assigned} assigned, ${e.precision === null ? '-' : `${(100 * e.precision).toFixed(1)} %`} of them rightly, macro-F1 ${e.macroF1!.toFixed(3)}`);
    expect(r.stdout + r.stderr).toContain(`check it against every customer's true persona: personas evaluate --run ${out} --known ${join(out, 'data', 'truth.csv')} --empty none`);
    expect(page).toContain('<section id="known"');
    // Its tables and every customer's persona as a workbook too: a zip holding the sheets.
    const workbook = readFileSync(join(out, 'report.xlsx'));
    expect(workbook.subarray(0, 2).toString()).toBe('PK');
    expect(workbook.includes(Buffer.from('xl/worksheets/sheet'))).toBe(true);
  }, 60_000);
});

describe('portrait statistics and phrasing', () => {
  // Six customers: two assigned to "web_fan", one to "rare", three unassigned.
  const table: FeatureTable = {
    rows: 6,
    ids: ['a', 'b', 'c', 'd', 'e', 'f'],
    numericNames: ['share_web', 'age', 'email_open_rate', 'tile_found', 'monetary_12m'],
    numeric: [
      Float32Array.from([0.8, 0.6, 0.1, 0.1, 0.2, 0.2]),
      Float32Array.from([30, 34, 60, 50, 40, 50]),
      Float32Array.from([NaN, NaN, NaN, NaN, 0.5, NaN]),
      Float32Array.from([1, 1, 1, 1, 1, 1]),
      Float32Array.from([100, 100, 100, 100, 100, 100]),
    ],
    categoricalNames: ['sex'],
    categorical: [['F', 'F', 'M', null, 'M', 'F']],
  };
  const personaOf = (id: string) => ({ a: 'web_fan', b: 'web_fan', c: 'rare' })[id] ?? null;
  const stats = computePortraitStats(table, personaOf, ['web_fan', 'rare', 'nobody']);

  it('averages members and the base, skipping missing values', () => {
    const j = (name: string) => stats.features.findIndex((f) => f.name === name);
    expect(stats.features.map((f) => f.name)).toEqual(['share_web', 'age', 'email_open_rate', 'monetary_12m', 'women']);
    expect(stats.features[j('share_web')].baseMean).toBeCloseTo(2 / 6, 6);
    const web = stats.personas[0];
    expect(web.members).toBe(2);
    expect(web.means[j('share_web')]).toBeCloseTo(0.7, 6);
    expect(web.means[j('age')]).toBe(32);
    expect(web.means[j('email_open_rate')]).toBeNull();
    expect(web.missing[j('email_open_rate')]).toBe(1);
    expect(stats.features[j('women')].baseMean).toBeCloseTo(3 / 5, 9);
    expect(web.means[j('women')]).toBe(1);
    expect(stats.personas[2].members).toBe(0);
  });

  it('keeps the telling features, drops the mostly missing and constant ones', () => {
    const p = describePersona(stats, 'web_fan', 'en');
    const names = p.all.map((x) => x.feature);
    expect(names).not.toContain('email_open_rate');
    expect(names).not.toContain('monetary_12m');
    expect(names).not.toContain('tile_found');
    const web = p.all.find((x) => x.feature === 'share_web')!;
    expect(web.index).toBeCloseTo(210, 4);
    expect(web.sentence).toBe('2.1 times as many web purchases as the average customer (70% vs 33%)');
    expect(p.all.find((x) => x.feature === 'age')!.sentence).toBe('12 years younger than the average customer (32 years vs 44 years)');
    expect(describePersona(stats, 'nobody', 'en')).toEqual({ persona: 'nobody', members: 0, highlights: [], all: [] });
  });

  it('phrases an index the way a consultant says it, in English and French', () => {
    expect(phrase('share_web', 0.31, 0.19, 'en')).toBe('63% more web purchases than the average customer (31% vs 19%)');
    expect(phrase('share_web', 0.31, 0.19, 'fr')).toBe("63\u202f% d'achats sur le web de plus que le client moyen (31\u202f% contre 19\u202f%)");
    expect(phrase('share_store', 0.1, 0.6, 'en')).toBe('83% fewer store purchases than the average customer (10% vs 60%)');
    expect(phrase('monetary_12m', 400, 800, 'en')).toBe('50% less spending than the average customer (€400 vs €800)');
    expect(phrase('monetary_12m', 2400, 800, 'fr')).toMatch(/^3,0 fois plus de dépenses que le client moyen \(2\s400\s€ contre 800\s€\)$/);
    expect(phrase('avg_basket_12m', 90, 60, 'en')).toBe('Average basket 50% higher than for the average customer (€90 vs €60)');
    expect(phrase('tile_share_flat', 0.2, 0.5, 'fr')).toBe('Logements collectifs du quartier : 60\u202f% de moins que le client moyen (20\u202f% contre 50\u202f%)');
    expect(phrase('age', 58.2, 46, 'fr')).toBe('12 ans de plus que le client moyen (58 ans contre 46 ans)');
    expect(phrase('share_cat_garden', 0.3, 0.1, 'en')).toBe('3.0 times as many garden purchases as the average customer (30% vs 10%)');
  });
});

describe('warnings on weak personas', () => {
  const base: PersonaMetrics = {
    persona: 'léa',
    status: 'trained',
    seeds: 500,
    twins: 0,
    views: [],
    seedsLeftOut: 0,
    seedCleaningSkipped: null,
    validationAuc: 0.92,
    estimatedC: 0.5,
    threshold: 0.4,
    expectedPrecision: 0.9,
    coverage: 0.1,
    estimatedPrevalence: 0.1,
    seedOverlaps: {},
    reachCurve: [],
    calibration: [],
    featureImportance: {},
  };
  const labels: Record<string, string> = { 'léa': 'Léa', karim: 'Karim' };
  const kinds = (m: Partial<PersonaMetrics>, assigned = 100, lang: 'en' | 'fr' = 'en') => personaWarnings({ ...base, ...m }, (id) => labels[id] ?? id, assigned, null, lang);

  it('says nothing about a strong persona', () => {
    expect(kinds({})).toEqual([]);
  });

  it('names each weakness in plain words', () => {
    const disputed = kinds({ seedsLeftOut: 0, seedCleaningSkipped: 'seed cleaning would have left out 300 of 500 seeds (more than half): all kept' });
    expect(disputed.map((w) => w.kind)).toEqual(['seeds_disputed']);
    expect(disputed[0].message).toBe(
      "Léa: the first round found more than half of its seed customers closer to another persona or untypical of the rest, so all were kept for training: its key drivers may pick other personas' customers as much as its own.",
    );
    // Seeds another persona's model claims: above a fifth of them, said; not again where cleaning was skipped.
    const claimed = kinds({ seedsLeftOut: 140, seedsClaimed: 130 });
    expect(claimed.map((w) => w.kind)).toEqual(['seeds_claimed']);
    expect(claimed[0].message).toBe(
      "Léa: 130 of its seed customers (26%) look more like another persona's customers than like its own to the models: its key drivers pick other personas' customers as its own, so fewer of its assigned customers may truly be it than the expected precision says, and its estimated size may be too large. Narrow its key drivers, or check it against customers whose persona is known (personas evaluate).",
    );
    expect(kinds({ seedsLeftOut: 140, seedsClaimed: 130 }, 100, 'fr')[0].message).toMatch(/^Léa : 130 de ses clients graines \(26\s%\) ressemblent davantage/);
    // Named by the persona whose model claimed most of them, by its label.
    expect(kinds({ seedsClaimed: 130, seedsClaimedBy: { x: 30, karim: 100 } })[0].message).toContain("than like its own to the models, most of them Karim's (100): its key drivers");
    expect(kinds({ seedsClaimed: 130, seedsClaimedBy: { x: 30, karim: 100 } }, 100, 'fr')[0].message).toContain('qu’aux siens, la plupart à ceux de Karim (100) : ses critères');
    expect(kinds({ seedsClaimed: 130 }, 100, 'fr')[0].message).toContain('et sa taille estimée est peut-être trop grande.');
    expect(kinds({ seedsClaimed: 100 })).toEqual([]);
    expect(kinds({ seedsClaimed: undefined })).toEqual([]);
    expect(kinds({ seedsClaimed: 300, seedCleaningSkipped: 'seed cleaning would have left out 300 of 500 seeds (more than half): all kept' }).map((w) => w.kind)).toEqual(['seeds_disputed']);
    expect(kinds({ seeds: 40 }).map((w) => w.kind)).toEqual(['few_seeds']);
    expect(kinds({ seeds: 40 })[0].message).toBe(
      'Léa: only 40 seed customers: the model learns from few examples and its scores are fragile. Widen its key drivers or add data.',
    );
    expect(kinds({ validationAuc: 0.58 }).map((w) => w.kind)).toEqual(['not_distinctive']);
    expect(kinds({ validationAuc: 0.58 })[0].message).toMatch(/hard to tell apart from other customers \(validation AUC 0\.58\)/);
    expect(kinds({ validationAuc: 0.7 }).map((w) => w.kind)).toEqual(['low_auc']);
    expect(kinds({ seedOverlaps: { karim: 100 } }).map((w) => w.kind)).toEqual(['overlap']);
    expect(kinds({ seedOverlaps: { karim: 100 } })[0].message).toMatch(/^Léa: 17% of the customers its key drivers pick also match those of Karim/);
    expect(kinds({ seedOverlaps: { karim: 10 } })).toEqual([]);
    expect(kinds({}, 0).map((w) => w.kind)).toEqual(['nobody_assigned']);
    const view = (condition: string, dependence: number | null | undefined) => ({ condition, seeds: 900, c: 0.2, validationAuc: 0.8, dependence });
    const dependent = kinds({ views: [{ ...view('personas[5].key_drivers.all[0]', 0.82), features: ['december_share'] }, view('personas[5].key_drivers.all[1]', 0.6), { ...view('personas[5].key_drivers.all[2]', 0.77), features: ['frequency_12m', 'monetary_12m'] }] });
    expect(dependent.map((w) => w.kind)).toEqual(['conditions_dependent']);
    expect(dependent[0].message).toBe(
      'Léa: some of its key-driver conditions (december_share, frequency_12m + monetary_12m) go together even among customers unlike the persona, so the model counts part of their evidence twice: fewer of its assigned customers may truly be it than the expected precision says.',
    );
    // A run before session 13 names no features: the condition's place in the rule.
    expect(kinds({ views: [view('personas[5].key_drivers.all[0]', 0.82)] })[0].message).toMatch(/conditions \(key_drivers\.all\[0\]\) go together/);
    // At the limit, unknown (a run before session 13) or not measurable: no warning.
    expect(kinds({ views: [view('personas[5].key_drivers.all[0]', 0.75), view('personas[5].key_drivers.all[1]', null), view('personas[5].key_drivers.all[2]', undefined)] })).toEqual([]);
    // A model that rebuilds its key drivers (relearning summed over the views above 0.26).
    const relearnt = (relearning: (number | null)[]) => kinds({ views: relearning.map((r, a) => ({ ...view(`personas[5].key_drivers.all[${a}]`, 0.5), relearning: r })) });
    expect(relearnt([0.52, 0.61, 0.69]).map((w) => w.kind)).toEqual(['drivers_rebuilt']);
    // Under strict precision (baseWeight in the metrics) the model was tempered for it: no warning.
    expect(kinds({ baseWeight: 0.68, views: [0.52, 0.61, 0.69].map((r, a) => ({ ...view(`personas[5].key_drivers.all[${a}]`, 0.5), relearning: r })) })).toEqual([]);
    expect(relearnt([0.52, 0.61, 0.69])[0].message).toBe(
      'Léa: its model partly rebuilds its key-driver conditions from other data (relearning 0.32), so it favours the customers who meet them: fewer of its assigned customers may truly be it than the expected precision says, and some of its customers who miss a key driver are missed.',
    );
    expect(kinds({ views: [{ ...view('personas[5].key_drivers.all[0]', 0.5), relearning: 0.8 }] }, 100, 'fr')[0].message).toMatch(/^Léa : son modèle reconstitue en partie ses critères clés à partir d’autres données \(réapprentissage 0,30\)/);
    // At or under the limit, below 0.5 (counts 0), or not measured (a run before session 18): none.
    expect(relearnt([0.48, 0.7, 0.56])).toEqual([]);
    expect(relearnt([0.3, 0.3, 0.75])).toEqual([]);
    expect(relearnt([null, null, null])).toEqual([]);
    expect(kinds({ views: [view('personas[5].key_drivers.all[0]', 0.5)] })).toEqual([]);
    expect(kinds({ status: 'skipped', reason: '12 seeds, below min_seeds 50', validationAuc: null, threshold: null }).map((w) => w.message)).toEqual([
      'Léa: not trained (12 seeds, below min_seeds 50). No customer can be assigned to it.',
    ]);
  });

  it('warns in French for a French report', () => {
    expect(kinds({ seeds: 40, validationAuc: 0.7 }, 100, 'fr').map((w) => w.message)).toEqual([
      'Léa : seulement 40 clients graines : le modèle apprend sur peu d’exemples et ses scores sont fragiles. Élargir ses critères clés ou ajouter des données.',
      'Léa : le modèle ne sépare ses graines des autres clients que moyennement (AUC de validation 0,70) : ses affectations sont à prendre avec prudence.',
    ]);
  });

  it('flags seeds that portraits show to be no different from the base', () => {
    const flat = { persona: 'léa', members: 50, highlights: [], all: [] };
    expect(personaWarnings(base, (id) => labels[id], 50, flat, 'en').map((w) => w.kind)).toEqual(['not_distinctive']);
  });

  it('lists the warnings of a run in the report, in the quality section', () => {
    const a = readRunArtefacts(runs.a);
    a.metrics.personas[0] = { ...a.metrics.personas[0], seeds: 12 };
    const model = buildReportModel(a);
    expect(model.warnings.filter((w) => w.persona === a.metrics.personas[0].persona).map((w) => w.kind)).toContain('few_seeds');
    const page = renderReportHtml(model);
    const quality = page.slice(page.indexOf('<section id="quality"'));
    expect(quality).toContain(`data-kind="few_seeds"`);
    expect(quality).toContain('only 12 seed customers');
  });
});
