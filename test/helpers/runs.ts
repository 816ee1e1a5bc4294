// Small projection runs of the demo base, made once per test session (vitest globalSetup) and
// shared read-only by the store, API and job tests: two versions of the same base.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeDemoBase } from '../../src/demo/index.ts';
import { buildFeatures } from '../../src/features/index.ts';
import { loadPersonaFile, projectPersonas, writeProjection } from '../../src/models/personas/index.ts';

export interface TestRuns {
  /** Demo data directory (contract inputs). */
  data: string;
  /** Two run directories (assignments.csv, quantification.json, metrics.json, model/; a also features/features.json). */
  a: string;
  b: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    runs: TestRuns;
  }
}

export async function makeTestRuns(root: string): Promise<TestRuns> {
  const data = join(root, 'data');
  await writeDemoBase(data, { customers: 1500, seed: 3 });
  const personaFile = loadPersonaFile(join(data, 'personas.yaml'));
  const features = join(root, 'features');
  const table = (await buildFeatures({ dataDir: data, outDir: features })).table;
  const dirs: string[] = [];
  for (const seed of [1, 2]) {
    const out = join(root, `run-${seed}`);
    const p = await projectPersonas({ table, personaFile, asOf: '2026-06-30', seed, train: { folds: 2, learner: { kind: 'gbdt', params: { numTrees: 15 } } } });
    writeProjection(out, table, p);
    // Run a keeps the feature summary beside it, as `personas run` does (not the table: portraits
    // are drawn only where a test gives it); run b stays a bare run directory, as `personas train`
    // and `score` over saved artefacts leave one.
    if (seed === 1) {
      mkdirSync(join(out, 'features'), { recursive: true });
      copyFileSync(join(features, 'features.json'), join(out, 'features', 'features.json'));
    }
    dirs.push(out);
    // Model versions are stamped to the second: keep the two apart.
    await new Promise((r) => setTimeout(r, 1100));
  }
  return { data, a: dirs[0], b: dirs[1] };
}
