// What differs between the models of two published versions, beside their labels (changes.ts):
// the settings each run was made with and each persona's figures. What a data scientist reads
// before activating a retrained version: a persona whose rule was edited, a learner or a seed
// changed, a threshold that moved, a validation AUC that fell, a persona now skipped.
import { parse as parseYaml } from 'yaml';
import type { Evaluation, Manifest, PersonaMetrics, RunMetrics } from '../models/artefacts.ts';
import type { Sql } from './db.ts';
import { versionDetail } from './registry.ts';
import { knownSeedsOf } from '../models/personas/evaluate.ts';

/** A setting of the two runs that differs, each side as written. */
export interface SettingChange {
  setting: string;
  from: string;
  to: string;
}

/** A persona's figures in one version (metrics.json). */
export interface PersonaFigures {
  status: 'trained' | 'skipped';
  seeds: number;
  validationAuc: number | null;
  estimatedC: number | null;
  threshold: number | null;
  expectedPrecision: number | null;
  /** Share of the base assigned to it. */
  coverage: number;
  /** Its estimated share of the base. */
  estimatedPrevalence: number | null;
  /** That share corrected by known customers drawn at random (personas evaluate --random-sample); null without such a check. */
  correctedShare: number | null;
}

export interface PersonaModelChange {
  persona: string;
  /** Its figures in each version; null where the version has no such persona. */
  from: PersonaFigures | null;
  to: PersonaFigures | null;
  /** The fields of its entry in the persona file that differ (key_drivers, threshold, label...); [] when alike, or in one version only. */
  definition: string[];
}

/** A version's check against known customers, in brief (personas evaluate). */
export interface KnownFigures {
  file: string;
  matched: number;
  coverage: number;
  precision: number | null;
  macroF1: number | null;
}

export interface ModelChanges {
  from: string;
  to: string;
  /** Each version's check against known customers, where it has one (null: none). */
  known: { from: KnownFigures | null; to: KnownFigures | null };
  /** The settings that differ; none when the two runs were made alike. */
  settings: SettingChange[];
  /** Per persona of either version (the second's order, then the first's others). */
  personas: PersonaModelChange[];
}

const figures = (p: PersonaMetrics, evaluation: Evaluation | null): PersonaFigures => ({
  status: p.status,
  seeds: p.seeds,
  validationAuc: p.validationAuc,
  estimatedC: p.estimatedC,
  threshold: p.threshold,
  expectedPrecision: p.expectedPrecision,
  coverage: p.coverage,
  estimatedPrevalence: p.estimatedPrevalence,
  correctedShare: evaluation?.sizes.find((z) => z.persona === p.persona)?.corrected ?? null,
});

/** Each persona's entry of a persona file by id, as written (an unreadable file gives none: its hash says it changed). */
function personaEntries(content: string): Map<string, Record<string, unknown>> {
  try {
    const raw = parseYaml(content) as { personas?: unknown } | null;
    const list = Array.isArray(raw?.personas) ? (raw.personas as unknown[]) : [];
    return new Map(
      list
        .filter((p): p is Record<string, unknown> => typeof p === 'object' && p !== null && typeof (p as { id?: unknown }).id === 'string')
        .map((p) => [p.id as string, p]),
    );
  } catch {
    return new Map();
  }
}

/** The settings of a run, each as a line of text, in the order they are listed. */
function settingsOf(m: Manifest, metrics: RunMetrics): [string, string][] {
  return [
    ['persona file', `${m.personaFile.path} (sha256 ${m.personaFile.sha256.slice(0, 12)})`],
    ['as_of', m.asOf],
    ['seed', String(m.seed)],
    // (The known customers learnt from have their own line.)
    ['learner', `${m.learner.kind} ${JSON.stringify({ ...m.learner.params, knownSeeds: undefined })}`],
    ['known customers learnt from', knownLearntFrom(m)],
    ['target precision', String(m.assignment.targetPrecision)],
    ['min margin', String(m.assignment.minMargin)],
    ['customers', String(metrics.customers)],
    ['training customers', String(metrics.trainingCustomers ?? metrics.customers)],
    ['code version', m.codeVersion],
  ];
}

/** The known customers a version's models learnt from as seeds (`--learn-from-known`), in words. */
function knownLearntFrom(m: Manifest): string {
  const k = knownSeedsOf(m.learner.params);
  return k ? `${k.customers} of ${k.file}` : 'none';
}

/** The features two versions' models read: how many, and which the second adds and drops. */
function featureChange(from: string[], to: string[]): SettingChange | undefined {
  const added = to.filter((f) => !from.includes(f));
  const dropped = from.filter((f) => !to.includes(f));
  if (!added.length && !dropped.length) return undefined;
  const said = [...(added.length ? [`added ${added.join(', ')}`] : []), ...(dropped.length ? [`dropped ${dropped.join(', ')}`] : [])];
  return { setting: 'features', from: `${from.length}`, to: `${to.length} (${said.join('; ')})` };
}

/**
 * The models of version `to` against those of `from` (either null: the active version). Throws
 * NOT_FOUND for a version that is not published, NO_ACTIVE_VERSION when null is given and none is.
 */
export async function modelChanges(db: Sql, from: string | null, to: string | null): Promise<ModelChanges> {
  const a = await versionDetail(db, from);
  const b = await versionDetail(db, to);
  const before = new Map(settingsOf(a.manifest, a.metrics));
  const settings: SettingChange[] = settingsOf(b.manifest, b.metrics)
    .filter(([name, value]) => before.get(name) !== value)
    .map(([setting, value]) => ({ setting, from: before.get(setting) ?? '', to: value }));
  const features = featureChange(a.manifest.features, b.manifest.features);
  if (features) settings.push(features);

  const entriesA = personaEntries(a.manifest.personaFile.content);
  const entriesB = personaEntries(b.manifest.personaFile.content);
  const metricsA = new Map(a.metrics.personas.map((p) => [p.persona, p]));
  const metricsB = new Map(b.metrics.personas.map((p) => [p.persona, p]));
  const ids = [...new Set([...metricsB.keys(), ...metricsA.keys()])];
  const personas = ids.map((persona): PersonaModelChange => {
    const ea = entriesA.get(persona);
    const eb = entriesB.get(persona);
    const definition = ea && eb ? [...new Set([...Object.keys(eb), ...Object.keys(ea)])].filter((k) => JSON.stringify(ea[k]) !== JSON.stringify(eb[k])) : [];
    const ma = metricsA.get(persona);
    const mb = metricsB.get(persona);
    return { persona, from: ma ? figures(ma, a.evaluation) : null, to: mb ? figures(mb, b.evaluation) : null, definition };
  });
  const brief = (e: typeof a.evaluation): KnownFigures | null => (e ? { file: e.file, matched: e.matched, coverage: e.coverage, precision: e.precision, macroF1: e.macroF1 } : null);
  return { from: a.version, to: b.version, known: { from: brief(a.evaluation), to: brief(b.evaluation) }, settings, personas };
}
