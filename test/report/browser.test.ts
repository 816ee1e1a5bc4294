// The report of a demo run opened in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core, no browser download), offline: any request that is not the file itself is
// blocked and fails the test, as does any console error. Every section and every chart must be
// drawn, the numbers on the page must equal quantification.json and metrics.json, and a
// screenshot of each language is saved under test-output/.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { evaluateRun } from '../../src/cli/evaluate.ts';
import { buildFeatures } from '../../src/features/index.ts';
import { QuantificationSchema, RunMetricsSchema } from '../../src/models/artefacts.ts';
import { buildCharts, buildReport, buildReportModel, readRunArtefacts, renderReportHtml, SECTION_IDS, type Lang, type ReportModel } from '../../src/report/index.ts';
import { tempDir } from '../helpers/world.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`${CHROMIUM} not found: the report's browser test is skipped (apt-get install chromium to run it)`);

const runs = inject('runs');
const outputDir = resolve('test-output', 'report');

describe.skipIf(!hasChromium)('the report in headless Chromium', () => {
  let browser: Browser;
  let featuresPath: string;
  const dir = tempDir('personas-report-browser-');
  const quant = QuantificationSchema.parse(JSON.parse(readFileSync(join(runs.a, 'quantification.json'), 'utf8')));
  const metrics = RunMetricsSchema.parse(JSON.parse(readFileSync(join(runs.a, 'metrics.json'), 'utf8')));

  beforeAll(async () => {
    mkdirSync(outputDir, { recursive: true });
    await buildFeatures({ dataDir: runs.data, outDir: join(dir, 'features') });
    featuresPath = join(dir, 'features', 'features.parquet');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** Opens a report file offline; every request but the file itself and every console error or warning is a problem. */
  async function openReport(file: string) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    const fileUrl = pathToFileURL(file).href;
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url === fileUrl) return route.continue();
      problems.push(`request attempted: ${url}`);
      return route.abort();
    });
    await page.goto(fileUrl);
    await page.waitForSelector('html[data-charts=done]', { timeout: 30_000 });
    return { page, problems };
  }

  /** Every chart of the model drawn by Vega: an SVG with marks in its container. */
  async function expectChartsDrawn(page: Awaited<ReturnType<typeof openReport>>['page'], model: ReportModel) {
    for (const c of buildCharts(model)) {
      const chart = page.locator(`#${c.id}`);
      expect(await chart.getAttribute('data-rendered'), c.id).toBe('true');
      expect(await chart.locator('svg.marks').count(), c.id).toBe(1);
      expect(await chart.locator('svg.marks .mark-rect path, svg.marks .mark-symbol path, svg.marks .mark-line path').count(), c.id).toBeGreaterThan(0);
    }
  }

  for (const lang of ['en', 'fr'] as Lang[]) {
    it(`renders every section and chart offline, without error (${lang})`, async () => {
      const model = await buildReport(runs.a, { lang, features: featuresPath });
      const file = join(dir, `report-${lang}.html`);
      writeFileSync(file, renderReportHtml(model));
      const { page, problems } = await openReport(file);

      // Every section with its title.
      for (const id of SECTION_IDS) {
        expect(await page.locator(`section#${id} h2`).textContent(), id).toBeTruthy();
      }
      // Every chart drawn by Vega: an SVG with marks in its container.
      const charts = buildCharts(model);
      expect(charts.length).toBe(7 + model.portraits!.filter((p) => p.highlights.some((h) => h.index !== null)).length);
      await expectChartsDrawn(page, model);
      // The numbers on the page are the run's.
      const quantCells = await page.$$eval('#table-quantification tbody tr', (rows) =>
        rows.map((r) => ({
          persona: r.getAttribute('data-persona'),
          values: Object.fromEntries([...r.querySelectorAll('td[data-field]')].map((td) => [td.getAttribute('data-field'), td.getAttribute('data-value')])),
        })),
      );
      expect(quantCells.map((r) => r.persona || null)).toEqual(quant.personas.map((r) => r.persona));
      quant.personas.forEach((r, k) => {
        const v = quantCells[k].values;
        expect([v.customers, v.share, v.revenue, v.revenueShare].map(Number)).toEqual([r.customers, r.share, r.revenue, r.revenueShare]);
        expect(v.meanConfidence === '' ? null : Number(v.meanConfidence)).toBe(r.meanConfidence);
      });
      const qualityCells = await page.$$eval('#table-quality tbody tr', (rows) =>
        rows.map((r) => Object.fromEntries([...r.querySelectorAll('td[data-field]')].map((td) => [td.getAttribute('data-field'), td.getAttribute('data-value')]))),
      );
      metrics.personas.forEach((p, k) => {
        expect(Number(qualityCells[k].seeds)).toBe(p.seeds);
        expect(Number(qualityCells[k].views)).toBe(p.views.length);
        expect(qualityCells[k].validationAuc === '' ? null : Number(qualityCells[k].validationAuc)).toBe(p.validationAuc);
        expect(qualityCells[k].threshold === '' ? null : Number(qualityCells[k].threshold)).toBe(p.threshold);
      });
      const shown = await page.locator('#table-quantification tbody tr').first().locator('td').first().textContent();
      expect(shown).toBe(new Intl.NumberFormat(lang === 'fr' ? 'fr-FR' : 'en-GB').format(quant.personas[0].customers));
      expect(await page.locator('.portrait .highlights li').count()).toBeGreaterThan(0);

      await page.screenshot({ path: join(outputDir, `report-${lang}.png`), fullPage: true });
      await page.screenshot({ path: join(outputDir, `report-${lang}-top.png`), fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 1250 } });
      for (const id of SECTION_IDS) await page.locator(`section#${id}`).screenshot({ path: join(outputDir, `report-${lang}-${id}.png`) });
      // Printed: no navigation, no chart menus, every section and chart still there.
      await page.emulateMedia({ media: 'print' });
      expect(await page.locator('nav').isVisible()).toBe(false);
      expect(await page.locator('.vega-actions').first().isVisible()).toBe(false);
      expect(await page.locator('svg.marks').count()).toBe(charts.length);
      await page.pdf({ path: join(outputDir, `report-${lang}.pdf`), format: 'A4', printBackground: true });
      await page.close();
      expect(problems).toEqual([]);
    }, 60_000);
  }

  it('renders the check against known customers: its section in the contents, a row per persona, the sizes they correct, the mislabels', async () => {
    // Every fifth customer of the demo base's truth (as good as drawn at random), none written empty as truth.csv does.
    const known = join(dir, 'known.csv');
    const truth = readFileSync(join(runs.data, 'truth.csv'), 'utf8').trim().split('\n');
    writeFileSync(known, [truth[0], ...truth.slice(1).filter((_, i) => i % 5 === 0)].join('\n') + '\n');
    const evaluation = await evaluateRun(runs.a, known, { empty: 'none', randomSample: true });
    expect(evaluation.sizes.length).toBeGreaterThan(1);
    const model = buildReportModel({ ...readRunArtefacts(runs.a), evaluation }, { lang: 'en' });
    const file = join(dir, 'report-known.html');
    writeFileSync(file, renderReportHtml(model));
    const { page, problems } = await openReport(file);
    expect(await page.locator('section#known h2').textContent()).toBe('Checked against known customers');
    expect(await page.locator('nav a[href="#known"]').isVisible()).toBe(true);
    const rows = await page.$$eval('#table-known tbody tr', (trs) => trs.map((r) => [r.getAttribute('data-persona'), r.querySelector('td[data-field="correct"]')!.getAttribute('data-value')]));
    expect(rows).toEqual(evaluation.personas.map((p) => [p.persona, String(p.correct)]));
    expect(await page.locator('#known-mislabels li').count()).toBe(Math.min(10, evaluation.confusion.filter((c) => c.known !== c.assigned).length));
    // The assigned by confidence: a row per tenth holding some, the counts adding up to the assigned.
    const bins = await page.$$eval('#table-known-calibration tbody tr td[data-field="customers"]', (tds) => tds.map((td) => Number(td.getAttribute('data-value'))));
    expect(bins).toEqual(evaluation.calibration.map((b) => b.customers));
    expect(bins.reduce((a, b) => a + b, 0)).toBe(evaluation.assigned);
    // The sizes: a row per trained persona in the section, and the corrected size beside each estimate in the first table.
    const sizes = await page.$$eval('#table-known-sizes tbody tr', (trs) => trs.map((r) => [r.getAttribute('data-persona'), Number(r.querySelector('td[data-field="corrected"]')!.getAttribute('data-value'))]));
    expect(sizes).toEqual(evaluation.sizes.map((z) => [z.persona, z.corrected]));
    expect(await page.locator('#table-quantification td[data-field="correctedSize"]').count()).toBe(evaluation.sizes.length);
    expect(await page.locator('#quantification-corrected').isVisible()).toBe(true);
    await page.locator('section#known').screenshot({ path: join(outputDir, 'report-en-known.png') });
    await page.close();
    expect(problems).toEqual([]);
  }, 60_000);

  it('renders a run with a skipped persona, warnings and no feature table', async () => {
    const a = readRunArtefacts(runs.a);
    const id = a.manifest.personas[0].id;
    a.manifest.personas[0] = { ...a.manifest.personas[0], status: 'skipped', reason: '12 seeds, below min_seeds 50', threshold: undefined, modelFile: undefined };
    const k = a.metrics.personas.findIndex((m) => m.persona === id);
    a.metrics.personas[k] = { ...a.metrics.personas[k], status: 'skipped', reason: '12 seeds, below min_seeds 50', seeds: 12, validationAuc: null, estimatedC: null, threshold: null, expectedPrecision: null, coverage: 0, estimatedPrevalence: null, reachCurve: [], calibration: [], featureImportance: {} };
    a.metrics.personas[k + 1] = { ...a.metrics.personas[k + 1], validationAuc: 0.6 };
    const model = buildReportModel(a, { lang: 'fr' });
    const file = join(dir, 'report-edge.html');
    writeFileSync(file, renderReportHtml(model));
    const { page, problems } = await openReport(file);
    await expectChartsDrawn(page, model);
    expect(await page.locator('#portraits-unavailable').textContent()).toMatch(/Portraits indisponibles/);
    expect(await page.locator(`#warnings li[data-persona="${id}"][data-kind="skipped"]`).count()).toBe(1);
    expect(await page.locator('#warnings li[data-kind="not_distinctive"]').count()).toBe(1);
    expect(await page.locator(`#table-reach tr[data-persona="${id}"]`).count()).toBe(0);
    await page.locator('section#quality').screenshot({ path: join(outputDir, 'report-edge-quality.png') });
    await page.close();
    expect(problems).toEqual([]);
  }, 60_000);

  it('fails a page that asks for a URL: the offline check can fail', async () => {
    const file = join(dir, 'online.html');
    writeFileSync(file, '<!doctype html><html><head><script src="https://cdn.example.org/vega.js"></script></head><body></body></html>');
    const page = await browser.newPage();
    const attempted: string[] = [];
    const fileUrl = pathToFileURL(file).href;
    await page.route('**/*', (route) => (route.request().url() === fileUrl ? route.continue() : (attempted.push(route.request().url()), route.abort())));
    await page.goto(fileUrl);
    await page.close();
    expect(attempted).toEqual(['https://cdn.example.org/vega.js']);
  });
});
