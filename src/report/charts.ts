// The report's charts as Vega-Lite specifications, built from the report model with the data
// inline (no URL: the report opens offline). One persona keeps one colour in every chart.
import type { Lang, Texts } from './labels.ts';
import { TEXT } from './labels.ts';
import { formatters } from './format.ts';
import { OTHER_SEGMENTS, type ReportModel } from './model.ts';

/** A Vega-Lite specification (plain JSON; the library validates it in the page). */
export type VegaLiteSpec = Record<string, unknown>;

export interface ChartSpec {
  /** Element id of the chart's container in the page. */
  id: string;
  /** Section the chart belongs to. */
  section: 'quantification' | 'portraits' | 'reach' | 'segments' | 'quality';
  /** Accessible description of the chart. */
  title: string;
  spec: VegaLiteSpec;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#ff9da6', '#9d755d', '#eeca3b', '#bab0ac'];
const GREY = '#9e9e9e';

/** d3-format locale for Vega, so French charts read 12,5 % and 1 234. */
export function formatLocale(lang: Lang): Record<string, unknown> | undefined {
  return lang === 'fr' ? { decimal: ',', thousands: '\u202f', grouping: [3], currency: ['', '\u00a0€'], percent: '\u202f%' } : undefined;
}

export const chartId = {
  shares: 'chart-quant-shares',
  customers: 'chart-quant-customers',
  portrait: (persona: string) => `chart-portrait-${persona}`,
  reach: 'chart-reach',
  precision: 'chart-precision',
  segments: 'chart-segments',
  calibration: 'chart-calibration',
  importance: 'chart-importance',
};

/** One colour per persona of the manifest, the same in every chart; `only` keeps the legend to the personas a chart shows. */
function personaColour(model: ReportModel, t: Texts, withUnassigned: boolean, only?: Set<string>): { domain: string[]; range: string[] } {
  const kept = model.personas.map((p, k) => ({ label: p.label, colour: PALETTE[k % PALETTE.length], id: p.id })).filter((p) => !only || only.has(p.id));
  const domain = kept.map((p) => p.label);
  const range = kept.map((p) => p.colour);
  return withUnassigned ? { domain: [...domain, t.unassigned], range: [...range, GREY] } : { domain, range };
}

export function buildCharts(model: ReportModel): ChartSpec[] {
  const t = TEXT[model.lang];
  const fmt = formatters(model.lang);
  const colour = personaColour(model, t, true);
  const personaOnly = personaColour(model, t, false, new Set(model.quality.filter((q) => q.status === 'trained').map((q) => q.persona)));
  const legend = { orient: 'bottom', columns: 2, title: null, labelLimit: 320 };
  const personaOrder = model.quantification.map((r) => r.label);
  const charts: ChartSpec[] = [];
  const base = (spec: VegaLiteSpec): VegaLiteSpec => ({ $schema: SCHEMA, config: { font: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif', view: { stroke: null }, axis: { labelLimit: 260 } }, ...spec });

  charts.push({
    id: chartId.shares,
    section: 'quantification',
    title: `${t.share} / ${t.revenueShare}`,
    spec: base({
      width: 400,
      data: {
        values: model.quantification.flatMap((r) => [
          { label: r.label, measure: t.share, value: r.share },
          { label: r.label, measure: t.revenueShare, value: r.revenueShare },
        ]),
      },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'label', type: 'nominal', sort: personaOrder, title: null },
        yOffset: { field: 'measure', type: 'nominal', sort: [t.share, t.revenueShare] },
        x: { field: 'value', type: 'quantitative', axis: { format: '.0%', tickCount: 8 }, title: null },
        color: { field: 'measure', type: 'nominal', scale: { range: ['#4c78a8', '#f2a541'] }, legend: { orient: 'bottom', title: null } },
        tooltip: [
          { field: 'label', title: t.persona },
          { field: 'measure', title: t.shareKind },
          { field: 'value', format: '.1%', title: ' ' },
        ],
      },
    }),
  });

  charts.push({
    id: chartId.customers,
    section: 'quantification',
    title: t.customers,
    spec: base({
      width: 260,
      data: { values: model.quantification.map((r) => ({ label: r.label, customers: r.customers })) },
      encoding: {
        y: { field: 'label', type: 'nominal', sort: personaOrder, title: null },
        x: { field: 'customers', type: 'quantitative', title: t.customers, axis: { tickCount: 6 } },
      },
      layer: [
        { mark: { type: 'bar', tooltip: true }, encoding: { color: { field: 'label', type: 'nominal', scale: colour, legend: null } } },
        { mark: { type: 'text', align: 'left', dx: 4 }, encoding: { text: { field: 'customers', type: 'quantitative', format: ',d' } } },
      ],
    }),
  });

  for (const p of model.portraits ?? []) {
    const items = p.highlights.filter((x) => x.index !== null);
    if (!items.length) continue;
    const featureAxis = { field: 'feature', type: 'nominal', sort: null, title: null };
    charts.push({
      id: chartId.portrait(p.persona),
      section: 'portraits',
      title: fmt.labelled(model.personas.find((x) => x.id === p.persona)?.label ?? p.persona, t.index),
      spec: base({
        width: 300,
        data: { values: items.map((x) => ({ feature: x.label, index: Math.round(x.index!), side: x.index! >= 100 ? 'up' : 'down' })) },
        layer: [
          {
            mark: { type: 'bar', tooltip: true },
            encoding: {
              y: featureAxis,
              x: { field: 'index', type: 'quantitative', title: t.index, scale: { zero: false } },
              x2: { datum: 100 },
              color: { field: 'side', type: 'nominal', scale: { domain: ['up', 'down'], range: ['#2e7d32', '#c62828'] }, legend: null },
            },
          },
          { mark: { type: 'rule', color: '#333' }, encoding: { x: { datum: 100 } } },
          ...[true, false]
            .filter((up) => items.some((x) => x.index! >= 100 === up))
            .map((up) => ({
              transform: [{ filter: up ? 'datum.index >= 100' : 'datum.index < 100' }],
              // Labels right of the bar's far end (above 100) or of the 100 line (below), never over the axis.
              mark: { type: 'text', align: 'left', dx: 4 },
              encoding: { y: featureAxis, x: up ? { field: 'index', type: 'quantitative' } : { datum: 100 }, text: { field: 'index', type: 'quantitative' } },
            })),
        ],
      }),
    });
  }

  const curve = model.reach.flatMap((r) => r.curve.map((c) => ({ label: r.label, threshold: c.threshold, customers: c.customers, precision: c.expectedPrecision })));
  const chosen = model.reach.map((r) => ({ label: r.label, threshold: r.threshold, assigned: r.assigned, precision: r.expectedPrecision, kind: t.chosen }));
  const reachColour = { field: 'label', type: 'nominal', scale: personaOnly, legend };
  charts.push({
    id: chartId.reach,
    section: 'reach',
    title: `${t.customersAbove} / ${t.threshold}`,
    spec: base({
      width: 380,
      height: 260,
      layer: [
        {
          data: { values: curve },
          mark: { type: 'line', point: { size: 18 }, tooltip: true },
          encoding: {
            x: { field: 'threshold', type: 'quantitative', title: t.threshold, scale: { domain: [0, 1] } },
            y: { field: 'customers', type: 'quantitative', title: t.customersAbove },
            color: reachColour,
          },
        },
        {
          data: { values: chosen },
          mark: { type: 'point', shape: 'diamond', size: 160, filled: true, stroke: '#000', strokeWidth: 1, tooltip: true },
          encoding: { x: { field: 'threshold', type: 'quantitative' }, y: { field: 'assigned', type: 'quantitative' }, color: reachColour },
        },
      ],
    }),
  });
  charts.push({
    id: chartId.precision,
    section: 'reach',
    title: `${t.expectedPrecision} / ${t.threshold}`,
    spec: base({
      width: 380,
      height: 260,
      layer: [
        {
          data: { values: curve.filter((c) => c.precision !== null) },
          mark: { type: 'line', point: { size: 18 }, tooltip: true },
          encoding: {
            x: { field: 'threshold', type: 'quantitative', title: t.threshold, scale: { domain: [0, 1] } },
            y: { field: 'precision', type: 'quantitative', title: t.expectedPrecision, axis: { format: '.0%' }, scale: { domain: [0, 1] } },
            color: reachColour,
          },
        },
        {
          data: { values: chosen.filter((c) => c.precision !== null) },
          mark: { type: 'point', shape: 'diamond', size: 160, filled: true, stroke: '#000', strokeWidth: 1, tooltip: true },
          encoding: { x: { field: 'threshold', type: 'quantitative' }, y: { field: 'precision', type: 'quantitative' }, color: reachColour },
        },
      ],
    }),
  });

  const segLabel = (s: string | null) => (s === null ? t.noSegment : s === OTHER_SEGMENTS ? t.otherSegments(model.segments.merged.length) : s);
  charts.push({
    id: chartId.segments,
    section: 'segments',
    title: t.segments,
    spec: base({
      width: { step: 96 },
      height: { step: 30 },
      data: {
        values: model.segments.rows.flatMap((r) =>
          r.cells.map((c) => ({ label: r.label, segment: segLabel(c.segment), customers: c.customers, rowShare: c.rowShare, text: `${fmt.count(c.customers)} (${fmt.pct(c.rowShare, 0)})` })),
        ),
      },
      encoding: {
        x: { field: 'segment', type: 'nominal', sort: model.segments.segments.map(segLabel), title: t.segment, axis: { labelAngle: 0 } },
        y: { field: 'label', type: 'nominal', sort: personaOrder, title: null },
      },
      layer: [
        {
          mark: { type: 'rect', tooltip: true },
          encoding: { color: { field: 'rowShare', type: 'quantitative', title: t.rowShare, scale: { scheme: 'blues', domain: [0, 1] }, legend: { format: '.0%' } } },
        },
        {
          mark: { type: 'text', fontSize: 11 },
          encoding: {
            text: { field: 'text', type: 'nominal' },
            color: { condition: { test: 'datum.rowShare > 0.5', value: 'white' }, value: 'black' },
          },
        },
      ],
    }),
  });

  const trained = model.quality.filter((q) => q.status === 'trained');
  charts.push({
    id: chartId.calibration,
    section: 'quality',
    title: t.calibration,
    spec: base({
      width: 360,
      height: 300,
      layer: [
        {
          data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
          mark: { type: 'line', color: '#999', strokeDash: [4, 4] },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
        },
        {
          data: { values: trained.flatMap((q) => q.calibration.map((c) => ({ label: q.label, predicted: c.predicted, observed: c.observed, count: c.count }))) },
          mark: { type: 'line', point: true, tooltip: true },
          encoding: {
            x: { field: 'predicted', type: 'quantitative', title: t.predicted, scale: { domain: [0, 1] } },
            y: { field: 'observed', type: 'quantitative', title: t.observed, scale: { domain: [0, 1] } },
            color: { field: 'label', type: 'nominal', scale: personaOnly, legend },
          },
        },
      ],
    }),
  });

  charts.push({
    id: chartId.importance,
    section: 'quality',
    title: t.importance,
    spec: base({
      data: { values: trained.flatMap((q) => q.topFeatures.map((f) => ({ label: q.label, feature: f.label, gain: f.gain }))) },
      facet: { row: { field: 'label', type: 'nominal', sort: personaOrder, title: null, header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top', labelFontWeight: 'bold', labelFontSize: 12 } } },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: 360,
        mark: { type: 'bar', tooltip: true },
        encoding: {
          y: { field: 'feature', type: 'nominal', sort: '-x', title: null },
          x: { field: 'gain', type: 'quantitative', title: t.gain },
          color: { field: 'label', type: 'nominal', scale: personaOnly, legend: null },
        },
      },
    }),
  });
  // The description becomes the SVG's accessible label.
  return charts.map((c) => ({ ...c, spec: { ...c.spec, description: c.title } }));
}
