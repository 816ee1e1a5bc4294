// The report model: everything the report shows, computed from a run's parsed artefacts
// (manifest, metrics, quantification) and, when available, portrait statistics. Pure: no file,
// no clock, so the same artefacts always give the same report, from a run directory or a store.
import { ModelError } from '../errors.ts';
import type { Evaluation, Manifest, PersonaMetrics, Quantification, RunMetrics } from '../models/artefacts.ts';
import { describeRenamed, describeSuggestion } from '../features/columns.ts';
import { describeAsOfCheck, describeFormat, describeOutliers, describeSpellings } from '../features/formats.ts';
import { describeTwoDigitBirthYears, describeUnmatchedNames } from '../features/names.ts';
import type { DataSummary } from '../features/summary.ts';
import { designColumnLabel, INPUT_FILES, reasonLabel, REFERENCE_FILES, unknownValuesDetail, type Lang } from './labels.ts';
import { describePersona, type Portrait, type PortraitStats } from './portraits.ts';
import { personaWarnings, type ReportWarning } from './warnings.ts';
import { knownSeedsOf } from '../models/personas/evaluate.ts';

/** Segment columns shown at most; beyond, the smallest segments share one column. */
export const MAX_SEGMENTS = 12;
/** Column key of the merged small segments (a string no client segment holds). */
export const OTHER_SEGMENTS = '\u0000other';

export interface ReportInput {
  manifest: Manifest;
  metrics: RunMetrics;
  quantification: Quantification;
  /** Portrait statistics; absent or null: the portraits say they are unavailable. */
  portraits?: PortraitStats | null;
  /** What the run's features.json says of the base; absent or null: the data section says it is unavailable. */
  data?: DataSummary | null;
  /** The run checked against known customers (evaluation.json, personas evaluate); absent or null: no such section. */
  evaluation?: Evaluation | null;
}


export interface DataFileRow {
  file: string;
  label: string;
  rejected: number;
  repaired: number;
  /** `detail`: of a value the contract does not know, the values most rows hold and what each looks like. */
  reasons: { reason: string; label: string; rows: number; dropped: boolean; detail?: string }[];
  /** How the file was read, in words; empty: as the contract writes it. */
  readAs: string[];
  /** What to check in the file, in words: columns that look like the contract's, amounts far above the median purchase. */
  toCheck: string[];
}

export interface ReportOptions {
  lang?: Lang;
  /** Features phrased per portrait. */
  portraitFeatures?: number;
}

export interface QuantRow {
  persona: string | null;
  label: string;
  customers: number;
  share: number;
  revenue: number;
  revenueShare: number;
  meanConfidence: number | null;
  estimatedPrevalence: number | null;
}

export interface ReachView {
  persona: string;
  label: string;
  threshold: number;
  expectedPrecision: number | null;
  /** Customers actually assigned (the quantification's count). */
  assigned: number;
  curve: PersonaMetrics['reachCurve'];
}

export interface SegmentCell {
  segment: string | null;
  customers: number;
  /** Share of the persona's row. */
  rowShare: number;
}

export interface SegmentRow {
  persona: string | null;
  label: string;
  total: number;
  cells: SegmentCell[];
}

export interface QualityView extends PersonaMetrics {
  label: string;
  /** Top features by gain, with readable labels. */
  topFeatures: { feature: string; label: string; gain: number }[];
}

export interface ReportModel {
  lang: Lang;
  modelVersion: string;
  createdAt: string;
  codeVersion: string;
  asOf: string;
  customers: number;
  /** Customers the models learned from when a sample of the base (metrics.trainingCustomers), else null. */
  trainingSample: number | null;
  /** The known customers the models learned from as seeds (the manifest's knownSeeds), else null. */
  knownSeeds: { file: string; customers: number } | null;
  personas: { id: string; label: string; description: string; status: 'trained' | 'skipped'; reason?: string }[];
  quantification: QuantRow[];
  totalRevenue: number;
  /** null: built without portrait statistics. */
  portraits: Portrait[] | null;
  reach: ReachView[];
  /** Columns of the persona x segment table (null: no segment; OTHER_SEGMENTS: the `merged` ones). */
  segments: { segments: (string | null)[]; merged: string[]; rows: SegmentRow[] };
  quality: QualityView[];
  warnings: ReportWarning[];
  /** The run checked against known customers, each persona and label named; null: not checked. */
  evaluation:
    | (Omit<Evaluation, 'personas' | 'confusion' | 'sizes'> & {
        personas: (Evaluation['personas'][number] & { label: string })[];
        confusion: (Evaluation['confusion'][number] & { knownLabel: string; assignedLabel: string })[];
        /** Each persona's size corrected by a random sample of known customers (empty: not a random sample). */
        sizes: (Evaluation['sizes'][number] & { label: string })[];
      })
    | null;
  /** null: built without the run's features.json. */
  data: { customers: number; asOf: string; files: DataFileRow[]; suggestions: string[]; outliers: string[]; spellings: string[]; names: string[]; birthYears: string[]; renamed: string[]; asOfCheck: string[] } | null;
}

function dataView(data: DataSummary, lang: Lang): NonNullable<ReportModel['data']> {
  const files = [...new Set([...Object.keys(INPUT_FILES), ...data.rejects.map((r) => r.file)])];
  return {
    customers: data.rows,
    asOf: data.asOf,
    files: files.map((file) => {
      const mine = data.rejects.filter((r) => r.file === file).sort((a, b) => b.rows - a.rows || a.reason.localeCompare(b.reason));
      const sum = (dropped: boolean) => mine.filter((r) => (r.action === 'dropped') === dropped).reduce((s, r) => s + r.rows, 0);
      const format = data.formats?.[file];
      const label = (INPUT_FILES[file] ?? REFERENCE_FILES[file])?.[lang] ?? file;
      return {
        file,
        label,
        rejected: sum(true),
        repaired: sum(false),
        reasons: mine.map((r) => ({
          reason: r.reason,
          label: reasonLabel(r.reason, lang),
          rows: r.rows,
          dropped: r.action === 'dropped',
          ...(r.values?.length ? { detail: unknownValuesDetail(r.values, lang, r.reason === 'bad_promo' ? 'flag' : 'coded') } : {}),
        })),
        readAs: format ? describeFormat(format, lang) : [],
        toCheck: [
          ...(data.suggestions ?? []).filter((x) => x.file === file).map((x) => describeSuggestion(x, lang, label)),
          ...(data.outliers ?? []).filter((x) => x.file === file).map((x) => describeOutliers(x, lang)),
          ...(data.spellings ?? []).filter((x) => x.file === file).map((x) => describeSpellings(x, lang)),
          ...(data.names ?? []).filter((x) => x.file === file).map((x) => describeUnmatchedNames(x, lang)),
          ...(data.birthYears ?? []).filter((x) => x.file === file).map((x) => describeTwoDigitBirthYears(x, lang)),
          ...(data.renamed ?? []).filter((x) => x.file === file).map((x) => describeRenamed(x, lang)),
          ...(data.asOfCheck && file === 'transactions' ? [describeAsOfCheck(data.asOfCheck, lang)] : []),
        ],
      };
    }),
    suggestions: (data.suggestions ?? []).map((x) => describeSuggestion(x, lang, INPUT_FILES[x.file]?.[lang] ?? x.file)),
    outliers: (data.outliers ?? []).map((x) => `${INPUT_FILES[x.file]?.[lang] ?? x.file}${lang === 'fr' ? ' : ' : ': '}${describeOutliers(x, lang)}`),
    spellings: (data.spellings ?? []).map((x) => `${INPUT_FILES[x.file]?.[lang] ?? x.file}${lang === 'fr' ? ' : ' : ': '}${describeSpellings(x, lang)}`),
    names: (data.names ?? []).map((x) => `${INPUT_FILES[x.file]?.[lang] ?? x.file}${lang === 'fr' ? ' : ' : ': '}${describeUnmatchedNames(x, lang)}`),
    birthYears: (data.birthYears ?? []).map((x) => `${INPUT_FILES[x.file]?.[lang] ?? x.file}${lang === 'fr' ? ' : ' : ': '}${describeTwoDigitBirthYears(x, lang)}`),
    renamed: (data.renamed ?? []).map((x) => `${INPUT_FILES[x.file]?.[lang] ?? x.file}${lang === 'fr' ? ' : ' : ': '}${describeRenamed(x, lang)}`),
    asOfCheck: data.asOfCheck ? [describeAsOfCheck(data.asOfCheck, lang)] : [],
  };
}

export function buildReportModel(input: ReportInput, options: ReportOptions = {}): ReportModel {
  const lang = options.lang ?? 'en';
  const { manifest, metrics, quantification } = input;
  const versions = new Set([manifest.modelVersion, metrics.modelVersion, quantification.modelVersion]);
  if (versions.size > 1) throw new ModelError('MODEL_FORMAT', `the run's artefacts come from different model versions (${[...versions].join(', ')}): rerun the projection`);
  const unassigned = lang === 'fr' ? 'Non affectés' : 'Unassigned';
  const labels = new Map(manifest.personas.map((p) => [p.id, p.label]));
  const labelOf = (id: string | null) => (id === null ? unassigned : (labels.get(id) ?? id));

  const quant: QuantRow[] = quantification.personas.map((r) => ({
    persona: r.persona,
    label: labelOf(r.persona),
    customers: r.customers,
    share: r.share,
    revenue: r.revenue,
    revenueShare: r.revenueShare,
    meanConfidence: r.meanConfidence,
    estimatedPrevalence: r.estimatedPrevalence,
  }));
  const assignedOf = (id: string) => quant.find((r) => r.persona === id)?.customers ?? 0;

  const portraits = input.portraits ? manifest.personas.map((p) => describePersona(input.portraits!, p.id, lang, options.portraitFeatures)) : null;

  const reach: ReachView[] = metrics.personas
    .filter((m) => m.status === 'trained' && m.threshold !== null)
    .map((m) => ({ persona: m.persona, label: labelOf(m.persona), threshold: m.threshold!, expectedPrecision: m.expectedPrecision, assigned: assignedOf(m.persona), curve: m.reachCurve }));

  const segmentTotals = new Map<string | null, number>();
  for (const c of quantification.bySegment) segmentTotals.set(c.segment, (segmentTotals.get(c.segment) ?? 0) + c.customers);
  const bySize = [...segmentTotals.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : segmentTotals.get(b)! - segmentTotals.get(a)! || a.localeCompare(b)));
  // A client with many small segments: the largest keep a column, the rest share one.
  const named = bySize.filter((x) => x !== null);
  const merged = named.length > MAX_SEGMENTS ? named.slice(MAX_SEGMENTS - 1) : [];
  const mergedSet = new Set(merged);
  const segments: (string | null)[] = [...named.filter((x) => !mergedSet.has(x)), ...(merged.length ? [OTHER_SEGMENTS] : []), ...(segmentTotals.has(null) ? [null] : [])];
  const columnOf = (segment: string | null) => (segment !== null && mergedSet.has(segment) ? OTHER_SEGMENTS : segment);
  const segmentRows: SegmentRow[] = quant.map((q) => {
    const cells = quantification.bySegment.filter((c) => c.persona === q.persona);
    const total = cells.reduce((s, c) => s + c.customers, 0);
    return {
      persona: q.persona,
      label: q.label,
      total,
      cells: segments.map((segment) => {
        const customers = cells.filter((c) => columnOf(c.segment) === segment).reduce((s, c) => s + c.customers, 0);
        return { segment, customers, rowShare: total ? customers / total : 0 };
      }),
    };
  });

  const quality: QualityView[] = metrics.personas.map((m) => ({
    ...m,
    label: labelOf(m.persona),
    topFeatures: Object.entries(m.featureImportance)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 10)
      .map(([feature, gain]) => ({ feature, label: designColumnLabel(feature, lang), gain })),
  }));

  const warnings = metrics.personas.flatMap((m) =>
    personaWarnings(m, (id) => labelOf(id), assignedOf(m.persona), portraits?.find((p) => p.persona === m.persona) ?? null, lang),
  );

  return {
    lang,
    modelVersion: manifest.modelVersion,
    createdAt: manifest.createdAt,
    codeVersion: manifest.codeVersion,
    asOf: manifest.asOf,
    customers: quantification.customers,
    trainingSample: metrics.trainingCustomers !== undefined && metrics.trainingCustomers < metrics.customers ? metrics.trainingCustomers : null,
    knownSeeds: knownSeedsOf(manifest.learner.params),
    personas: manifest.personas.map((p) => ({ id: p.id, label: p.label, description: p.description, status: p.status, reason: p.reason })),
    quantification: quant,
    totalRevenue: quant.reduce((s, r) => s + r.revenue, 0),
    portraits,
    reach,
    segments: { segments, merged, rows: segmentRows },
    quality,
    warnings,
    data: input.data ? dataView(input.data, lang) : null,
    evaluation: input.evaluation ? evaluationView(input.evaluation, labelOf, lang) : null,
  };
}

/** The evaluation with each persona's label (a known customer of none is "none", an unassigned one "Unassigned"). */
function evaluationView(e: Evaluation, labelOf: (id: string | null) => string, lang: Lang): NonNullable<ReportModel['evaluation']> {
  const none = lang === 'fr' ? 'aucun persona' : 'no persona';
  return {
    ...e,
    personas: e.personas.map((p) => ({ ...p, label: labelOf(p.persona) })),
    confusion: e.confusion.map((c) => ({ ...c, knownLabel: c.known === null ? none : labelOf(c.known), assignedLabel: labelOf(c.assigned) })),
    sizes: e.sizes.map((z) => ({ ...z, label: labelOf(z.persona) })),
  };
}
