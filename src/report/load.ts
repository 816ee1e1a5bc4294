// Builds a report from a run directory: reads and validates its artefacts (model/manifest.json,
// metrics.json, quantification.json) and, when the run kept its feature table
// (features/features.parquet) and assignment file, the portrait statistics.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { InputError } from '../errors.ts';
import { readFeatureTable } from '../features/index.ts';
import { readDataSummary } from '../features/summary.ts';
import { ManifestSchema, QuantificationSchema, RunMetricsSchema } from '../models/artefacts.ts';
import { buildReportModel, type ReportInput, type ReportModel, type ReportOptions } from './model.ts';
import { computePortraitStats, readAssignedPersonas, type PortraitStats } from './portraits.ts';

export interface BuildReportOptions extends ReportOptions {
  /** Feature table of the run (default `<run>/features/features.parquet`); null: no portraits. */
  features?: string | null;
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

/** The parsed artefacts of a run directory (the data summary when the run kept its features.json). */
export function readRunArtefacts(runDir: string): Omit<ReportInput, 'portraits'> {
  return {
    manifest: readArtefact(join(runDir, 'model', 'manifest.json'), ManifestSchema, 'model manifest'),
    metrics: readArtefact(join(runDir, 'metrics.json'), RunMetricsSchema, 'metrics'),
    quantification: readArtefact(join(runDir, 'quantification.json'), QuantificationSchema, 'quantification'),
    data: readDataSummary(join(runDir, 'features', 'features.json')),
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
  const artefacts = readRunArtefacts(runDir);
  const featuresPath = options.features === undefined ? join(runDir, 'features', 'features.parquet') : options.features;
  const portraits =
    featuresPath && (options.features !== undefined || existsSync(featuresPath))
      ? await readPortraitStats(featuresPath, join(runDir, 'assignments.csv'), artefacts.manifest.personas.map((p) => p.id))
      : null;
  return buildReportModel({ ...artefacts, portraits }, options);
}
