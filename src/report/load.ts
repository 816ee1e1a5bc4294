// Builds a report from a run directory: reads and validates its artefacts (model/manifest.json,
// metrics.json, quantification.json) and, when the run kept its feature table
// (features/features.parquet) and assignment file, the portrait statistics.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { InputError } from '../errors.ts';
import { readFeatureTable } from '../features/index.ts';
import { readDataSummary } from '../features/summary.ts';
import { EvaluationSchema, ManifestSchema, QuantificationSchema, RunMetricsSchema } from '../models/artefacts.ts';
import { buildReportModel, type ReportInput, type ReportModel, type ReportOptions } from './model.ts';
import { computePortraitStats, readAssignedPersonas, type PortraitStats } from './portraits.ts';

export interface BuildReportOptions extends ReportOptions {
  /** Feature table of the run (default `<run>/features/features.parquet`); null: no portraits. */
  features?: string | null;
  /** Told what the report leaves out and why (an evaluation of another model version). */
  onNote?: (line: string) => void;
}

function readArtefact<T>(path: string, schema: z.ZodType<T>, what: string): T {
  if (!existsSync(path)) throw new InputError('INPUT_MISSING_FILE', `${path}: ${what} not found (is this a run directory written by \`personas run\`?)`, { file: path });
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputError('INPUT_INVALID', `${path}: not valid JSON (${(err as Error).message})`, { file: path });
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError('INPUT_INVALID', `${path}: field '${issue.path.join('.') || '(root)'}': ${issue.message}`, { file: path });
  }
  return r.data;
}

/**
 * The parsed artefacts of a run directory (the data summary when the run kept its features.json;
 * the evaluation when `personas evaluate` wrote one of this run's model version: one left by an
 * earlier run in the same directory is not this run's, and `staleEvaluation` says so).
 */
export function readRunArtefacts(runDir: string): Omit<ReportInput, 'portraits'> & { staleEvaluation?: string } {
  const manifest = readArtefact(join(runDir, 'model', 'manifest.json'), ManifestSchema, 'model manifest');
  const evaluationPath = join(runDir, 'evaluation.json');
  const evaluation = existsSync(evaluationPath) ? readArtefact(evaluationPath, EvaluationSchema, 'evaluation') : null;
  const stale = evaluation !== null && evaluation.modelVersion !== manifest.modelVersion;
  return {
    manifest,
    metrics: readArtefact(join(runDir, 'metrics.json'), RunMetricsSchema, 'metrics'),
    quantification: readArtefact(join(runDir, 'quantification.json'), QuantificationSchema, 'quantification'),
    data: readDataSummary(join(runDir, 'features', 'features.json')),
    evaluation: stale ? null : evaluation,
    ...(stale ? { staleEvaluation: `${evaluationPath} checks model ${evaluation.modelVersion}, not this run's ${manifest.modelVersion}: left out of the report (run personas evaluate again)` } : {}),
  };
}

/** Portrait statistics from a feature table and a run's assignment file. */
export async function readPortraitStats(featuresPath: string, assignmentsPath: string, personaIds: string[]): Promise<PortraitStats> {
  const table = await readFeatureTable(featuresPath);
  if (!existsSync(assignmentsPath)) throw new InputError('INPUT_MISSING_FILE', `${assignmentsPath}: assignment file not found`, { file: assignmentsPath });
  const assigned = readAssignedPersonas(assignmentsPath);
  return computePortraitStats(table, (id) => assigned.get(id), personaIds);
}

/** The report model of a run directory; portraits when its feature table is there. */
export async function buildReport(runDir: string, options: BuildReportOptions = {}): Promise<ReportModel> {
  const { staleEvaluation, ...artefacts } = readRunArtefacts(runDir);
  if (staleEvaluation) options.onNote?.(staleEvaluation);
  const featuresPath = options.features === undefined ? join(runDir, 'features', 'features.parquet') : options.features;
  const portraits =
    featuresPath && (options.features !== undefined || existsSync(featuresPath))
      ? await readPortraitStats(featuresPath, join(runDir, 'assignments.csv'), artefacts.manifest.personas.map((p) => p.id))
      : null;
  return buildReportModel({ ...artefacts, portraits }, options);
}
