// A saved projection model (the `model/` directory a run writes) loaded back to score customers
// that the run did not see: a later month's feature table (`personas score`), or one new customer
// posted to the API. The encoding, each persona's model, its Elkan-Noto c and its threshold come
// from the files, so a loaded model gives the probabilities the run's final models give.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ModelError } from '../../errors.ts';
import type { FeatureTable } from '../../features/table.ts';
import { ManifestSchema, type Manifest } from '../artefacts.ts';
import type { ColumnMatrix, FittedClassifier } from '../learner.ts';
import { loadModel } from '../learners.ts';
import { assignPersonas, type Assignment } from './assign.ts';
import { DesignEncodingSchema, encodeDesign, type DesignEncoding } from './design.ts';

const PersonaModelFileSchema = z.object({
  persona: z.string(),
  c: z.number().positive().max(1),
  features: z.array(z.string()),
  model: z.unknown(),
});

export interface SavedPersona {
  id: string;
  label: string;
  threshold: number;
  c: number;
  /** Positions of the model's columns in the design matrix. */
  columns: number[];
  model: FittedClassifier;
}

export interface SavedScores {
  /** Manifest persona ids that have a model, in manifest order. */
  personas: string[];
  /** One probability array per entry of `personas`. */
  probabilities: Float64Array[];
  /** Per entry of `personas`: estimated share of the persona among the scored customers (mean s / c, as a run computes it). */
  prevalence: number[];
  assignment: Assignment;
}

export class SavedProjection {
  constructor(
    readonly manifest: Manifest,
    readonly encoding: DesignEncoding,
    readonly personas: SavedPersona[],
  ) {}

  get modelVersion(): string {
    return this.manifest.modelVersion;
  }

  /** Scores every row of a feature table; missing features are missing values, never errors. */
  score(table: FeatureTable): SavedScores {
    const design = encodeDesign(table, this.encoding);
    const prevalence: number[] = [];
    const probabilities = this.personas.map((p) => {
      const x: ColumnMatrix = { rows: design.rows, columns: p.columns.map((j) => design.columns[j]) };
      const s = p.model.predictProba(x);
      let sum = 0;
      for (let i = 0; i < s.length; i++) {
        sum += s[i];
        s[i] = Math.min(1, s[i] / p.c);
      }
      prevalence.push(s.length ? sum / s.length / p.c : 0);
      return s;
    });
    const assignment = assignPersonas(
      probabilities,
      this.personas.map((p) => p.threshold),
      this.manifest.assignment.minMargin,
    );
    return { personas: this.personas.map((p) => p.id), probabilities, prevalence, assignment };
  }
}

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new ModelError('MODEL_FORMAT', `${path}: ${what} not found`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ModelError('MODEL_FORMAT', `${path}: not valid JSON (${(e as Error).message})`);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, path: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ModelError('MODEL_FORMAT', `${path}: field '${issue.path.join('.') || '(root)'}': ${issue.message}`);
  }
  return r.data;
}

/** Loads a run's `model/` directory (or the run directory holding it). */
export function loadSavedProjection(dir: string): SavedProjection {
  const modelDir = existsSync(join(dir, 'model', 'manifest.json')) ? join(dir, 'model') : dir;
  const manifestPath = join(modelDir, 'manifest.json');
  const manifest = parse(ManifestSchema, readJson(manifestPath, 'model manifest'), manifestPath);
  const designPath = join(modelDir, 'design.json');
  const encoding = parse(DesignEncodingSchema, readJson(designPath, 'design encoding'), designPath);
  return fromParts(manifest, encoding, (file) => {
    const path = join(modelDir, file);
    return { path, value: readJson(path, 'persona model') };
  });
}

/** Builds a saved projection from its parts (files on disk, or rows of the model registry). */
export function fromParts(manifest: Manifest, encoding: DesignEncoding, modelFile: (file: string) => { path: string; value: unknown }): SavedProjection {
  const designNames = designColumnNames(encoding);
  const personas: SavedPersona[] = [];
  for (const entry of manifest.personas) {
    if (entry.status !== 'trained' || !entry.modelFile) continue;
    const { path, value } = modelFile(entry.modelFile);
    const file = parse(PersonaModelFileSchema, value, path);
    if (file.persona !== entry.id) throw new ModelError('MODEL_FORMAT', `${path}: holds persona '${file.persona}', the manifest expects '${entry.id}'`);
    const columns = file.features.map((f) => {
      const j = designNames.indexOf(f);
      if (j < 0) throw new ModelError('MODEL_FORMAT', `${path}: feature '${f}' is not a column of the design encoding`);
      return j;
    });
    let model: FittedClassifier;
    try {
      // Any learner kind: the model file's own `format` says which (learners.ts).
      model = loadModel(file.model);
    } catch (e) {
      throw new ModelError('MODEL_FORMAT', `${path}: ${(e as Error).message}`);
    }
    personas.push({ id: entry.id, label: entry.label, threshold: entry.threshold ?? 1, c: file.c, columns, model });
  }
  return new SavedProjection(manifest, encoding, personas);
}

/** Column names of the design matrix an encoding produces, in order (as encodeDesign names them). */
export function designColumnNames(e: DesignEncoding): string[] {
  return [
    ...e.numeric,
    ...(e.sex ? ['sex_f'] : []),
    ...(e.department ? ['department'] : []),
    ...e.levels.flatMap(({ feature, values }) => values.map((v) => `${feature}=${v}`)),
  ];
}
