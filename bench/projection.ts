// Projection on a benchmark world with a chosen training variant, for measuring method levers:
//   npx tsx bench/projection.ts --world DIR --out DIR [--rule-features drop|keep] [--twins-per-seed K]
// then: node ../shared/bench/evaluate.mjs --truth DIR/truth.csv --assign OUT/assignments.csv
import { buildFeatures } from '../src/features/index.ts';
import { loadPersonaFile, projectPersonas, writeProjection } from '../src/models/personas/index.ts';
import { join } from 'node:path';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const world = arg('world', '.tmp/w100k-1');
const out = arg('out', '.tmp/projection');
const ruleFeatures = arg('rule-features', 'drop') as 'drop' | 'keep';
const twinsPerSeed = Number(arg('twins-per-seed', '0'));
const t0 = performance.now();
const personaFile = loadPersonaFile(join(world, 'personas.yaml'));
const { table, asOf } = await buildFeatures({ dataDir: world, asOf: personaFile.spec.as_of });
const projection = await projectPersonas({ table, personaFile, asOf, train: { ruleFeatures, twinsPerSeed } });
writeProjection(out, table, projection);
console.log(JSON.stringify({ ruleFeatures, twinsPerSeed, seconds: +((performance.now() - t0) / 1000).toFixed(1), timings: projection.metrics.timings }));
