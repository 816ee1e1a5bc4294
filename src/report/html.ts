// Renders the report model to one self-contained HTML page: the numbers as HTML tables, the
// charts as Vega-Lite specifications drawn in the page by vega-embed, the libraries and the data
// inlined (no CDN, no request: a Content-Security-Policy forbids any), print and screen styles.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildCharts, formatLocale, type ChartSpec } from './charts.ts';
import { formatters } from './format.ts';
import { TEXT, type Lang } from './labels.ts';
import { OTHER_SEGMENTS, type ReportModel } from './model.ts';
import type { Portrait } from './portraits.ts';
import { formatP } from '../models/personas/survey.ts';

const require = createRequire(import.meta.url);

/** The directory of an installed package (its `exports` hide the build files from resolve). */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === name) return dir;
    } catch {
      // no package.json here: keep climbing
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`package ${name} not found`);
    dir = up;
  }
}

let libraries: string[] | undefined;
/** vega, vega-lite and vega-embed browser builds, in load order, made safe to inline. */
export function chartLibraries(): string[] {
  libraries ??= ['vega', 'vega-lite', 'vega-embed'].map((name) => inlineScript(readFileSync(join(packageDir(name), 'build', `${name}.min.js`), 'utf8')));
  return libraries;
}

/** A script body that cannot close its <script> element early. */
export function inlineScript(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** JSON for a <script type="application/json"> element: no `<`, `>`, `&` or line separators raw. */
export function inlineJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const CSP = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; font-src data:";

const CSS = `
:root { --ink: #1d2430; --muted: #5b6472; --line: #d9dee5; --bg: #ffffff; --band: #f5f7fa; --accent: #2c5aa0; --warn: #8a5300; --warn-bg: #fff6e5; }
* { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); line-height: 1.45; }
body { margin: 0; }
header.report-header { padding: 2rem clamp(1rem, 4vw, 3rem) 1rem; border-bottom: 1px solid var(--line); background: var(--band); }
h1 { margin: 0 0 .25rem; font-size: 1.9rem; }
.subtitle { margin: 0; color: var(--muted); }
nav ol { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; padding: 0; margin: 1rem 0 0; list-style: none; counter-reset: s; }
nav li { counter-increment: s; }
nav li::before { content: counter(s) ". "; color: var(--muted); }
a { color: var(--accent); }
main { padding: 0 clamp(1rem, 4vw, 3rem) 2rem; max-width: 1320px; }
section { padding-top: 1.5rem; border-bottom: 1px solid var(--line); padding-bottom: 1.5rem; }
h2 { font-size: 1.45rem; margin: 0 0 .5rem; }
h3 { font-size: 1.1rem; margin: 0 0 .25rem; }
.intro { color: var(--muted); max-width: 70ch; }
table { border-collapse: collapse; margin: 1rem 0; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: .35rem; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid var(--line); text-align: right; vertical-align: top; }
th[scope=row], th.text, td.text { text-align: left; }
thead th { border-bottom: 2px solid var(--ink); font-weight: 600; }
tfoot td, tfoot th { font-weight: 600; border-top: 2px solid var(--ink); }
tr.unassigned th, tr.unassigned td { color: var(--muted); font-style: italic; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem 2.5rem; align-items: flex-start; }
figure { margin: 0; max-width: 100%; overflow-x: auto; }
figcaption { font-size: .9rem; color: var(--muted); margin-top: .25rem; }
.chart { min-height: 2rem; }
.chart[data-rendered=error] { color: #b00020; }
.portraits { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 520px), 1fr)); gap: 1.5rem; }
article.portrait { border: 1px solid var(--line); border-radius: 8px; padding: 1rem; break-inside: avoid; }
.portrait .description { color: var(--muted); margin: .25rem 0 .5rem; }
.portrait ul { padding-left: 1.2rem; margin: .5rem 0; }
.swatch { display: inline-block; width: .8em; height: .8em; border-radius: 2px; margin-right: .4em; vertical-align: baseline; }
.warnings { list-style: none; padding: 0; }
.warnings li { background: var(--warn-bg); border-left: 4px solid var(--warn); padding: .5rem .75rem; margin: .4rem 0; max-width: 90ch; }
.ok { color: #2e7d32; }
details summary { cursor: pointer; color: var(--accent); }
footer { padding: 1rem clamp(1rem, 4vw, 3rem); color: var(--muted); font-size: .85rem; }
.num-neg { color: #c62828; } .num-pos { color: #2e7d32; }
@media print {
  nav, .vega-embed details, .vega-actions { display: none !important; }
  header.report-header { background: none; }
  section { break-inside: auto; border: 0; }
  h2, h3 { break-after: avoid; }
  figure, table, article.portrait { break-inside: avoid; }
  details > *:not(summary) { display: block; }
  a { color: inherit; text-decoration: none; }
}
@media (prefers-reduced-motion: reduce) { * { scroll-behavior: auto; } }
`;

const BOOT = `(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var root = document.documentElement;
  var options = { renderer: 'svg', actions: { export: true, source: false, compiled: false, editor: false }, i18n: data.i18n };
  if (data.formatLocale) options.formatLocale = data.formatLocale;
  Promise.all(data.charts.map(function (c) {
    var el = document.getElementById(c.id);
    return vegaEmbed(el, c.spec, options).then(function () {
      el.setAttribute('data-rendered', 'true');
    }).catch(function (e) {
      el.setAttribute('data-rendered', 'error');
      el.textContent = String(e && e.message || e);
      console.error('chart ' + c.id + ': ' + (e && e.message || e));
    });
  })).then(function () { root.setAttribute('data-charts', 'done'); });
})();`;

const I18N: Record<Lang, Record<string, string>> = {
  en: { SVG_ACTION: 'Save as SVG', PNG_ACTION: 'Save as PNG', CLICK_TO_VIEW_ACTIONS: 'Click to view actions' },
  fr: { SVG_ACTION: 'Enregistrer en SVG', PNG_ACTION: 'Enregistrer en PNG', CLICK_TO_VIEW_ACTIONS: 'Voir les actions' },
};

export const SECTION_IDS = ['quantification', 'portraits', 'reach', 'segments', 'quality', 'data'] as const;
/** The section a run checked against known customers adds (personas evaluate), after the model quality. */
export const KNOWN_SECTION = 'known';
type SectionId = (typeof SECTION_IDS)[number] | typeof KNOWN_SECTION;

/** The whole report as one HTML document. */
export function renderReportHtml(model: ReportModel): string {
  const t = TEXT[model.lang];
  const fmt = formatters(model.lang);
  const charts = buildCharts(model);
  const e = escapeHtml;
  const num = (field: string, value: number | null, text: string) => `<td data-field="${field}" data-value="${value === null ? '' : value}">${e(text)}</td>`;
  const figure = (c: ChartSpec | undefined) =>
    c ? `<figure><div class="chart" id="${e(c.id)}" data-section="${c.section}" aria-label="${e(c.title)}"></div><figcaption>${e(c.title)}</figcaption></figure>` : '';
  const chart = (id: string) => figure(charts.find((c) => c.id === id));
  const titles: Record<SectionId, string> = {
    quantification: t.quantification,
    portraits: t.portraits,
    reach: t.reach,
    segments: t.segments,
    quality: t.quality,
    known: t.known,
    data: t.data,
  };
  const shown: SectionId[] = model.evaluation ? [...SECTION_IDS.slice(0, 5), KNOWN_SECTION, ...SECTION_IDS.slice(5)] : [...SECTION_IDS];
  const section = (id: SectionId, body: string) =>
    `<section id="${id}" aria-labelledby="h-${id}"><h2 id="h-${id}">${e(titles[id])}</h2>${body}</section>`;

  const total = model.quantification.reduce((s, r) => s + r.customers, 0);
  // Sizes corrected by a random sample of known customers, beside the models' estimate.
  const sized = new Map((model.evaluation?.sizes ?? []).map((z) => [z.persona, z]));
  const interval = (v: number, [lo, hi]: [number, number]) => `${fmt.pct(v)} (${fmt.pct(lo)} – ${fmt.pct(hi)})`;
  const quantTable = `<table id="table-quantification"><caption>${e(t.quantification)}</caption>
<thead><tr><th scope="col" class="text">${e(t.persona)}</th><th scope="col">${e(t.customers)}</th><th scope="col">${e(t.share)}</th><th scope="col">${e(t.revenue)}</th><th scope="col">${e(t.revenueShare)}</th><th scope="col">${e(t.meanConfidence)}</th><th scope="col">${e(t.estimatedPrevalence)}</th>${sized.size ? `<th scope="col">${e(t.sizeFromSample)}</th>` : ''}</tr></thead>
<tbody>${model.quantification
    .map(
      (r) =>
        `<tr data-persona="${e(r.persona ?? '')}"${r.persona === null ? ' class="unassigned"' : ''}><th scope="row">${e(r.label)}</th>${num('customers', r.customers, fmt.count(r.customers))}${num('share', r.share, fmt.pct(r.share))}${num('revenue', r.revenue, fmt.eur(r.revenue))}${num('revenueShare', r.revenueShare, fmt.pct(r.revenueShare))}${num('meanConfidence', r.meanConfidence, fmt.decimal(r.meanConfidence))}${num('estimatedPrevalence', r.estimatedPrevalence, fmt.pct(r.estimatedPrevalence))}${
          sized.size ? (() => {
            const z = r.persona === null ? undefined : sized.get(r.persona);
            return z ? num('correctedSize', z.corrected, interval(z.corrected, z.interval)) : '<td></td>';
          })() : ''
        }</tr>`,
    )
    .join('\n')}</tbody>
<tfoot><tr><th scope="row">${e(t.total)}</th>${num('customers', total, fmt.count(total))}<td></td>${num('revenue', model.totalRevenue, fmt.eur(model.totalRevenue))}<td></td><td></td><td></td>${sized.size ? '<td></td>' : ''}</tr></tfoot></table>`;

  const portraitBody = (p: Portrait) => {
    const persona = model.personas.find((x) => x.id === p.persona)!;
    const head = `<h3>${e(persona.label)}</h3>${persona.description ? `<p class="description">${e(persona.description)}</p>` : ''}`;
    if (p.members === 0) return `<article class="portrait" id="portrait-${e(p.persona)}">${head}<p>${e(t.portraitNoMembers)}</p></article>`;
    const members = `<p>${e(t.customers)}: <strong>${e(fmt.count(p.members))}</strong></p>`;
    const list = p.highlights.length ? `<ul class="highlights">${p.highlights.map((h) => `<li data-feature="${e(h.feature)}">${e(h.sentence)}</li>`).join('')}</ul>` : `<p>${e(t.portraitNothing)}</p>`;
    const rows = p.all
      .map(
        (x) =>
          `<tr data-feature="${e(x.feature)}"><th scope="row">${e(x.label)}</th><td>${e(fmt.value(x.personaMean, x.unit))}</td><td>${e(fmt.value(x.baseMean, x.unit))}</td>${num('index', x.index, x.index === null ? '–' : fmt.count(x.index))}</tr>`,
      )
      .join('');
    const table = `<details><summary>${e(t.allFeatures)}</summary><table><thead><tr><th scope="col" class="text">${e(t.feature)}</th><th scope="col">${e(t.personaMean)}</th><th scope="col">${e(t.baseMean)}</th><th scope="col">${e(t.index)}</th></tr></thead><tbody>${rows}</tbody></table></details>`;
    return `<article class="portrait" id="portrait-${e(p.persona)}">${head}${members}${list}${chart(`chart-portrait-${p.persona}`)}${table}</article>`;
  };
  const portraits =
    model.portraits === null
      ? `<p class="intro">${e(t.portraitsIntro)}</p><p id="portraits-unavailable">${e(t.portraitsUnavailable)}</p>`
      : `<p class="intro">${e(t.portraitsIntro)}</p><div class="portraits">${model.portraits.map(portraitBody).join('\n')}</div>`;

  const reachTable = `<table id="table-reach"><caption>${e(t.reach)}</caption><thead><tr><th scope="col" class="text">${e(t.persona)}</th><th scope="col">${e(t.threshold)}</th><th scope="col">${e(t.expectedPrecision)}</th><th scope="col">${e(t.assigned)}</th></tr></thead><tbody>${model.reach
    .map((r) => `<tr data-persona="${e(r.persona)}"><th scope="row">${e(r.label)}</th>${num('threshold', r.threshold, fmt.decimal(r.threshold, 3))}${num('expectedPrecision', r.expectedPrecision, fmt.pct(r.expectedPrecision))}${num('assigned', r.assigned, fmt.count(r.assigned))}</tr>`)
    .join('')}</tbody></table>`;
  const thresholds = model.reach[0]?.curve.map((c) => c.threshold) ?? [];
  const curveTable = `<details><summary>${e(t.customersAbove)}</summary><table id="table-reach-curve"><thead><tr><th scope="col" class="text">${e(t.threshold)}</th>${model.reach.map((r) => `<th scope="col">${e(r.label)}</th>`).join('')}</tr></thead><tbody>${thresholds
    .map(
      (th, k) =>
        `<tr><th scope="row">${e(fmt.decimal(th))}</th>${model.reach
          .map((r) => {
            const c = r.curve[k];
            return c ? `<td data-persona="${e(r.persona)}" data-value="${c.customers}">${e(fmt.count(c.customers))} (${e(fmt.pct(c.expectedPrecision, 0))})</td>` : '<td></td>';
          })
          .join('')}</tr>`,
    )
    .join('')}</tbody></table></details>`;

  const segLabel = (s: string | null) => (s === null ? t.noSegment : s === OTHER_SEGMENTS ? t.otherSegments(model.segments.merged.length) : s);
  const segTable = `<table id="table-segments"><caption>${e(t.segments)}</caption><thead><tr><th scope="col" class="text">${e(t.persona)}</th>${model.segments.segments.map((s) => `<th scope="col">${e(segLabel(s))}</th>`).join('')}<th scope="col">${e(t.total)}</th></tr></thead><tbody>${model.segments.rows
    .map(
      (r) =>
        `<tr data-persona="${e(r.persona ?? '')}"${r.persona === null ? ' class="unassigned"' : ''}><th scope="row">${e(r.label)}</th>${r.cells
          .map((c) => `<td ${c.segment === OTHER_SEGMENTS ? 'data-other-segments="true"' : `data-segment="${e(c.segment ?? '')}"`} data-value="${c.customers}" data-row-share="${c.rowShare}">${e(fmt.count(c.customers))} (${e(fmt.pct(c.rowShare, 0))})</td>`)
          .join('')}${num('total', r.total, fmt.count(r.total))}</tr>`,
    )
    .join('')}</tbody></table>`;

  const warnings = model.warnings.length
    ? `<ul class="warnings" id="warnings">${model.warnings.map((w) => `<li data-persona="${e(w.persona)}" data-kind="${w.kind}">${e(w.message)}</li>`).join('')}</ul>`
    : `<p class="ok" id="warnings">${e(t.noWarnings)}</p>`;
  const qualityTable = `<table id="table-quality"><caption>${e(t.quality)}</caption><thead><tr><th scope="col" class="text">${e(t.persona)}</th><th scope="col" class="text">${e(t.status)}</th><th scope="col">${e(t.seeds)}</th><th scope="col">${e(t.twins)}</th><th scope="col">${e(t.views)}</th><th scope="col">${e(t.auc)}</th><th scope="col">${e(t.labelFrequency)}</th><th scope="col">${e(t.threshold)}</th><th scope="col">${e(t.expectedPrecision)}</th><th scope="col">${e(t.coverage)}</th><th scope="col">${e(t.estimatedPrevalence)}</th></tr></thead><tbody>${model.quality
    .map(
      (q) =>
        `<tr data-persona="${e(q.persona)}"><th scope="row">${e(q.label)}</th><td class="text">${e(q.status === 'trained' ? t.trained : t.skipped)}${q.reason ? ` (${e(q.reason)})` : ''}</td>${num('seeds', q.seeds, fmt.count(q.seeds))}${num('twins', q.twins, fmt.count(q.twins))}${num('views', q.views.length, fmt.count(q.views.length))}${num('validationAuc', q.validationAuc, fmt.decimal(q.validationAuc, 3))}${num('estimatedC', q.estimatedC, fmt.decimal(q.estimatedC, 3))}${num('threshold', q.threshold, fmt.decimal(q.threshold, 3))}${num('expectedPrecision', q.expectedPrecision, fmt.pct(q.expectedPrecision))}${num('coverage', q.coverage, fmt.pct(q.coverage))}${num('estimatedPrevalence', q.estimatedPrevalence, fmt.pct(q.estimatedPrevalence))}</tr>`,
    )
    .join('')}</tbody></table>`;

  const dataBody =
    model.data === null
      ? `<p id="data-unavailable">${e(t.dataUnavailable)}</p>`
      : `<p class="intro">${e(t.dataIntro(fmt.count(model.data.customers), model.data.asOf))}</p><table id="table-data"><caption>${e(t.data)}</caption><thead><tr><th scope="col" class="text">${e(t.file)}</th><th scope="col">${e(t.rejected)}</th><th scope="col">${e(t.repaired)}</th><th scope="col" class="text">${e(t.reasons)}</th><th scope="col" class="text">${e(t.readAs)}</th></tr></thead><tbody>${model.data.files
          .map(
            (r) =>
              `<tr data-file="${e(r.file)}"><th scope="row">${e(r.label)}</th>${num('rejected', r.rejected, fmt.count(r.rejected))}${num('repaired', r.repaired, fmt.count(r.repaired))}<td class="text">${
                r.reasons.length ? r.reasons.map((x) => `<span data-reason="${e(x.reason)}" data-value="${x.rows}">${e(fmt.labelled(x.label, fmt.count(x.rows)))}</span>${x.detail ? ` <span class="detail">(${e(x.detail)})</span>` : ''}`).join('<br>') : e(t.none)
              }</td><td class="text">${e(r.readAs.length ? r.readAs.join(model.lang === 'fr' ? ' ; ' : '; ') : t.asWritten)}</td></tr>`,
          )
          .join('')}</tbody></table>${
          model.data.suggestions.length ? `<h3>${e(t.unmappedColumns)}</h3><ul id="data-suggestions">${model.data.suggestions.map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : ''
        }${model.data.outliers.length ? `<h3>${e(t.outliers)}</h3><ul id="data-outliers">${model.data.outliers.map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : ''}${
          model.data.spellings.length ? `<h3>${e(t.spellings)}</h3><ul id="data-spellings">${model.data.spellings.map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : ''
        }${model.data.names.length ? `<h3>${e(t.names)}</h3><ul id="data-names">${model.data.names.map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : ''}${
          model.data.birthYears.length ? `<h3>${e(t.birthYears)}</h3><ul id="data-birth-years">${model.data.birthYears.map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : ''
        }${
          model.data.renamed.length ? `<h3>${e(t.renamed)}</h3><ul id="data-renamed">${model.data.renamed.map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : ''
        }${model.data.asOfCheck.length ? `<h3>${e(t.asOfCheck)}</h3><ul id="data-as-of">${model.data.asOfCheck.map((x) => `<li>${e(x)}</li>`).join('')}</ul>` : ''}`;

  const knownSeedsNote = model.knownSeeds
    ? `<p class="intro" id="quality-known-seeds">${e(
        t.knownSeeds(
          fmt.count(model.knownSeeds.customers),
          model.knownSeeds.file.split(/[\\/]/).pop()!,
          model.quality.flatMap((q) => (q.knownSeeds ? [t.knownSeedsPersona(q.label, fmt.count(q.knownSeeds.members), fmt.count(q.knownSeeds.added), fmt.count(q.knownSeeds.removed))] : [])).join(model.lang === 'fr' ? ' ; ' : '; '),
        ),
      )}</p>`
    : '';
  const ev = model.evaluation;
  const knownBody = ev
    ? `${ev.learntFrom ? `<p class="intro" id="known-learnt">${e(t.knownLearnt(fmt.count(ev.learntFrom.customers), ev.learntFrom.file.split(/[\\/]/).pop()!))}</p>` : ''}<p class="intro">${e(t.knownIntro(ev.file.split(/[\\/]/).pop()!, fmt.count(ev.matched), ev.knownNone ? t.knownNone(fmt.count(ev.knownNone)) : '', fmt.count(ev.assigned), fmt.pct(ev.precision), fmt.pct(ev.coverage)))}</p><table id="table-known"><caption>${e(t.known)}</caption><thead><tr><th scope="col" class="text">${e(t.persona)}</th><th scope="col">${e(t.knownCustomers)}</th><th scope="col">${e(t.assigned)}</th><th scope="col">${e(t.right)}</th><th scope="col">${e(t.observedPrecision)}</th><th scope="col">${e(t.expectedPrecision)}</th><th scope="col">${e(t.recall)}</th><th scope="col">${e(t.knownShare)}</th><th scope="col">${e(t.meanProbability)}</th><th scope="col" class="text">${e(t.verdict)}</th></tr></thead><tbody>${ev.personas
        .map(
          (p) =>
            `<tr data-persona="${e(p.persona)}" data-verdict="${e(p.verdict)}"><th scope="row">${e(p.label)}</th>${num('known', p.known, fmt.count(p.known))}${num('assigned', p.assigned, fmt.count(p.assigned))}${num('correct', p.correct, fmt.count(p.correct))}${num('precision', p.precision, p.precision === null ? '–' : `${fmt.pct(p.precision)} (${fmt.pct(p.precisionInterval![0])} – ${fmt.pct(p.precisionInterval![1])})`)}${num('expectedPrecision', p.expectedPrecision, fmt.pct(p.expectedPrecision))}${num('recall', p.recall, fmt.pct(p.recall))}${num('knownShare', p.knownShare, fmt.pct(p.knownShare))}${num('meanProbability', p.meanProbability, fmt.pct(p.meanProbability))}<td class="text">${e(t.verdicts[p.verdict])}</td></tr>`,
        )
        .join('')}</tbody></table>${
        ev.sizes.length
          ? `<h3>${e(t.knownSizes)}</h3><p class="intro">${e(t.knownSizesIntro(fmt.count(ev.matched)))}</p>${
              ev.sampleCheck && ev.sampleCheck.unsampled > 0 ? `<p class="intro" id="known-unsampled">${e(t.unsampledNote(fmt.pct(ev.sampleCheck.unsampled)))}</p>` : ''
            }${
              ev.sampleCheck && !ev.sampleCheck.random ? `<ul class="warnings" id="known-sample-check"><li>${e(t.sampleNotRandom(fmt.decimal(ev.sampleCheck.statistic, 1), String(ev.sampleCheck.df), model.lang === 'fr' ? formatP(ev.sampleCheck.p).replace('.', ',') : formatP(ev.sampleCheck.p)))}</li></ul>` : ''
            }<table id="table-known-sizes"><thead><tr><th scope="col" class="text">${e(t.persona)}</th><th scope="col">${e(t.estimatedByModels)}</th><th scope="col">${e(t.correctedSize)}</th><th scope="col">${e(t.sampleAlone)}</th></tr></thead><tbody>${ev.sizes
              .map((z) => `<tr data-persona="${e(z.persona)}"><th scope="row">${e(z.label)}</th>${num('estimated', z.estimated, fmt.pct(z.estimated))}${num('corrected', z.corrected, interval(z.corrected, z.interval))}${num('sampleShare', z.sampleShare, interval(z.sampleShare, z.sampleInterval))}</tr>`)
              .join('')}</tbody></table>`
          : ''
      }${
        ev.calibration.length
          ? `<h3>${e(t.knownCalibration)}</h3><table id="table-known-calibration"><thead><tr><th scope="col" class="text">${e(t.confidenceBin)}</th><th scope="col">${e(t.assigned)}</th><th scope="col">${e(t.meanConfidenceShort)}</th><th scope="col">${e(t.shareRight)}</th></tr></thead><tbody>${ev.calibration
              .map((b) => `<tr><th scope="row">${e(`${fmt.decimal(b.from, 1)} – ${fmt.decimal(b.to, 1)}`)}</th>${num('customers', b.customers, fmt.count(b.customers))}${num('meanConfidence', b.meanConfidence, fmt.pct(b.meanConfidence))}${num('right', b.right, fmt.pct(b.right))}</tr>`)
              .join('')}</tbody></table>`
          : ''
      }${(() => {
        const moves = ev.confusion.filter((c) => c.known !== c.assigned).slice(0, 10);
        return moves.length ? `<h3>${e(t.mislabels)}</h3><ul id="known-mislabels">${moves.map((c) => `<li data-value="${c.customers}">${e(`${c.knownLabel} → ${c.assignedLabel}${model.lang === 'fr' ? ' : ' : ': '}${fmt.count(c.customers)}`)}</li>`).join('')}</ul>` : '';
      })()}`
    : '';

  const data = {
    lang: model.lang,
    modelVersion: model.modelVersion,
    charts: charts.map((c) => ({ id: c.id, spec: c.spec })),
    formatLocale: formatLocale(model.lang) ?? null,
    i18n: I18N[model.lang],
  };
  const nav = `<nav aria-label="${e(t.contents)}"><ol>${shown.map((id) => `<li><a href="#${id}">${e(titles[id])}</a></li>`).join('')}</ol></nav>`;
  return `<!doctype html>
<html lang="${model.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="generator" content="personas ${e(model.codeVersion)}">
<title>${e(t.title)} · ${e(model.modelVersion)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="report-header"><h1>${e(t.title)}</h1><p class="subtitle">${e(t.subtitle(model.modelVersion, model.asOf, fmt.count(model.customers)))}</p>${nav}</header>
<main>
${section('quantification', `<p class="intro">${e(t.quantificationIntro)}</p>${sized.size ? `<p class="intro" id="quantification-corrected">${e(t.quantificationCorrected(fmt.count(model.evaluation!.matched)))}</p>` : ''}${quantTable}<div class="charts">${chart('chart-quant-shares')}${chart('chart-quant-customers')}</div>`)}
${section('portraits', portraits)}
${section('reach', `<p class="intro">${e(t.reachIntro)}</p><div class="charts">${chart('chart-reach')}${chart('chart-precision')}</div>${reachTable}${curveTable}`)}
${section('segments', `<p class="intro">${e(t.segmentsIntro)}</p><div class="charts">${chart('chart-segments')}</div>${segTable}`)}
${section('quality', `<p class="intro">${e(t.qualityIntro)}</p>${model.trainingSample !== null ? `<p class="intro" id="training-sample">${e(t.trainingSample(fmt.count(model.trainingSample), fmt.count(model.customers)))}</p>` : ''}${knownSeedsNote}<h3>${e(t.warnings)}</h3>${warnings}${qualityTable}<div class="charts">${chart('chart-calibration')}${chart('chart-importance')}</div>`)}
${ev ? `${section(KNOWN_SECTION, knownBody)}
` : ''}${section('data', dataBody)}
</main>
<footer>${e(t.footer(model.codeVersion))}</footer>
<script type="application/json" id="report-data">${inlineJson(data)}</script>
${chartLibraries()
  .map((js) => `<script>${js}</script>`)
  .join('\n')}
<script>${BOOT}</script>
</body>
</html>
`;
}
