// Projection on benchmark worlds, ours against the reference, measured in one sitting:
//   npx tsx bench/projection.ts --worlds W1,W2,... [--out DIR] [--train JSON] [--references]
// For each world (made by ../shared/bench/world.mjs --features): features, seeds, models and
// assignment as `personas run` does them (in-process timer, features included), written to
// OUT/<world>/ours; scored with ../shared/bench/evaluate.mjs; the prevalence of
// quantification.json compared with truth.csv (sum over personas of |estimated - true share|).
// --train: TrainOptions overrides as JSON, e.g. '{"twinsPerSeed":1,"twinSearch":"model"}'.
// --references: also (--only-references: only) ../shared/bench/reference.py --variant seeds | no-rule-cols | oracle
// (--trees 100 --folds 3, as our defaults; --reference-threads N, default 2), timed the same way.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFeatures } from '../src/features/index.ts';
import { loadPersonaFile, projectPersonas, writeProjection } from '../src/models/personas/index.ts';
import type { TrainOptions } from '../src/models/personas/train.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = [join(repo, '..', 'shared', 'bench'), '/work/shared/bench'].find((d) => existsSync(join(d, 'evaluate.mjs')));
if (!benchDir) throw new Error('../shared/bench/evaluate.mjs not found beside the repository');
const worlds = arg('worlds', arg('world', '.tmp/w100k-1')).split(',');
const outRoot = arg('out', '.tmp/projection');
const train = JSON.parse(arg('train', '{}')) as Partial<TrainOptions>;
const withReferences = process.argv.includes('--references') || process.argv.includes('--only-references');
const withOurs = !process.argv.includes('--only-references');
const referenceThreads = arg('reference-threads', '2');

interface Scored {
  world: string;
  method: string;
  macroF1: number;
  precision: number;
  coverage: number;
  prevalenceError: number | null;
  seconds: number;
  peakRssMb?: number;
}

function evaluate(world: string, assignments: string): { macro_f1: number; precision: number; coverage: number } {
  return JSON.parse(execFileSync(process.execPath, [join(benchDir!, 'evaluate.mjs'), '--truth', join(world, 'truth.csv'), '--assign', assignments, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 })) as {
    macro_f1: number;
    precision: number;
    coverage: number;
  };
}

function trueShares(world: string): Map<string, number> {
  const lines = readFileSync(join(world, 'truth.csv'), 'utf8').trim().split('\n').slice(1);
  const counts = new Map<string, number>();
  for (const line of lines) {
    const persona = line.slice(line.indexOf(',') + 1);
    if (persona) counts.set(persona, (counts.get(persona) ?? 0) + 1);
  }
  return new Map([...counts].map(([p, c]) => [p, c / lines.length]));
}

const results: Scored[] = [];

async function runOurs(world: string, name: string): Promise<void> {
  const out = join(outRoot, name, 'ours');
  const t0 = performance.now();
  const personaFile = loadPersonaFile(join(world, 'personas.yaml'));
  const { table, asOf } = await buildFeatures({ dataDir: world, asOf: personaFile.spec.as_of });
  const projection = await projectPersonas({ table, personaFile, asOf, train });
  writeProjection(out, table, projection);
  const seconds = (performance.now() - t0) / 1000;
  const shares = trueShares(world);
  const prevalenceError = projection.quantification.personas
    .filter((row) => row.persona !== null)
    .reduce((s, row) => s + Math.abs((row.estimatedPrevalence ?? 0) - (shares.get(row.persona!) ?? 0)), 0);
  const e = evaluate(world, join(out, 'assignments.csv'));
  results.push({ world: name, method: 'ours', macroF1: e.macro_f1, precision: e.precision, coverage: e.coverage, prevalenceError, seconds, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) });
  console.log(JSON.stringify({ ...results.at(-1), timings: projection.metrics.timings, c: projection.models.map((m) => +m.c.toFixed(3)), twins: projection.metrics.personas.map((p) => p.twins) }));
}

for (const world of worlds) {
  const name = basename(world);
  if (withOurs) await runOurs(world, name);
  if (withReferences) {
    for (const variant of ['seeds', 'no-rule-cols', 'oracle']) {
      const assignments = join(outRoot, name, `reference-${variant}.csv`);
      mkdirSync(dirname(assignments), { recursive: true });
      const t1 = performance.now();
      execFileSync('/usr/bin/python3', [join(benchDir!, 'reference.py'), '--world', world, '--out', assignments, '--variant', variant, '--trees', '100', '--folds', '3', '--threads', referenceThreads], { stdio: 'pipe' });
      const r = evaluate(world, assignments);
      results.push({ world: name, method: `reference ${variant}`, macroF1: r.macro_f1, precision: r.precision, coverage: r.coverage, prevalenceError: null, seconds: (performance.now() - t1) / 1000 });
      console.log(JSON.stringify(results.at(-1)));
    }
  }
}

const f = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? '-' : v.toFixed(d));
console.log('\n| world | method | macro-F1 | precision | coverage | prevalence error | time (s) |\n|---|---|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.world} | ${r.method} | ${f(r.macroF1)} | ${f(r.precision)} | ${f(r.coverage)} | ${f(r.prevalenceError)} | ${f(r.seconds, 1)} |`);
