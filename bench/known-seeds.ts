// Known customers as seeds (personas run --known FILE --learn-from-known): what learning from a
// random sample of customers whose persona is known adds, against the rule's seeds alone, each
// scored with the benchmark's evaluator on the customers not surveyed (the surveyed ones'
// labels are out-of-fold too, but the figures then hold for customers the models never saw):
//   npx tsx bench/known-seeds.ts --worlds W1[,W2] [--customers 100000] [--sizes 300,1000,3000] [--draws 1] [--out DIR]
// (a world missing whose name ends with a number is generated with that seed: .tmp/w100k-1)
// Per world: the features once, the projection on the rule's seeds once, then for each sample size
// and draw a projection learning from that many customers drawn at random (seeded by size and
// draw). Prints per run macro-F1, precision, coverage and the models' size error, then a Markdown table.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFeatures } from '../src/features/index.ts';
import { loadPersonaFile, projectPersonas, writeProjection, type Projection } from '../src/models/personas/index.ts';
import { Random } from '../src/random.ts';
import { arg, ensureWorlds, sharedBench, trueShares } from './worlds.ts';

interface Figures {
  world: string;
  surveyed: number;
  draw: number;
  macroF1: number;
  precision: number;
  coverage: number;
  sizeError: number;
  seconds: number;
}

/** The evaluator's figures for `out`'s assignments on the customers of `truth` not in `known`. */
function scoreOthers(world: string, out: string, known: Set<string>): { macro_f1: number; precision: number; coverage: number } {
  const keep = (path: string, dest: string) => {
    const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
    writeFileSync(dest, [header, ...lines.filter((l) => !known.has(l.slice(0, l.indexOf(','))))].join('\n') + '\n');
  };
  keep(join(world, 'truth.csv'), join(out, 'truth-others.csv'));
  keep(join(out, 'assignments.csv'), join(out, 'assignments-others.csv'));
  return JSON.parse(
    execFileSync(process.execPath, [join(sharedBench(), 'evaluate.mjs'), '--truth', join(out, 'truth-others.csv'), '--assign', join(out, 'assignments-others.csv'), '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 }),
  ) as { macro_f1: number; precision: number; coverage: number };
}

const sizeError = (p: Projection, shares: Map<string, number>) =>
  p.quantification.personas.filter((r) => r.persona !== null).reduce((s, r) => s + Math.abs((r.estimatedPrevalence ?? 0) - (shares.get(r.persona!) ?? 0)), 0);

if (import.meta.url === `file://${process.argv[1]}`) {
  const worlds = arg('worlds', '').split(',').filter(Boolean);
  if (!worlds.length) throw new Error('give --worlds W1,... (benchmark worlds: node ../shared/bench/world.mjs --out W --customers 100000 --seed 1)');
  const sizes = arg('sizes', '300,1000,3000').split(',').map(Number);
  const draws = Number(arg('draws', '1'));
  const outRoot = arg('out', '.tmp/bench/known-seeds');
  ensureWorlds(worlds, Number(arg('customers', '100000')));
  const rows: Figures[] = [];
  for (const world of worlds) {
    const personaFile = loadPersonaFile(join(world, 'personas.yaml'));
    const { table, asOf } = await buildFeatures({ dataDir: world, asOf: personaFile.spec.as_of });
    const shares = trueShares(world);
    const truth = readFileSync(join(world, 'truth.csv'), 'utf8').trim().split('\n').slice(1).map((l) => [l.slice(0, l.indexOf(',')), l.slice(l.indexOf(',') + 1)] as const);
    const name = world.split('/').filter(Boolean).pop()!;
    const project = async (out: string, learnFrom?: Map<string, string | null>) => {
      const t0 = performance.now();
      const p = await projectPersonas({ table, personaFile, asOf, ...(learnFrom ? { learnFrom: { file: 'survey', personas: learnFrom } } : {}) });
      mkdirSync(out, { recursive: true });
      writeProjection(out, table, p);
      return { p, seconds: (performance.now() - t0) / 1000 };
    };
    const rule = await project(join(outRoot, name, 'rule'));
    for (const n of sizes) {
      for (let d = 0; d < draws; d++) {
        const rng = new Random(1000 * n + d);
        const picked = new Set<number>();
        while (picked.size < Math.min(n, truth.length)) picked.add(rng.int(truth.length));
        const known = new Map([...picked].map((i) => [truth[i][0], truth[i][1] || null] as const));
        const ids = new Set(known.keys());
        const learnt = await project(join(outRoot, name, `known-${n}-${d}`), known);
        for (const [run, r] of [['rule', rule], ['learnt', learnt]] as const) {
          const e = scoreOthers(world, join(outRoot, name, run === 'rule' ? 'rule' : `known-${n}-${d}`), ids);
          const f: Figures = { world: name, surveyed: run === 'rule' ? 0 : n, draw: d, macroF1: e.macro_f1, precision: e.precision, coverage: e.coverage, sizeError: sizeError(r.p, shares), seconds: r.seconds };
          console.log(JSON.stringify({ ...f, scoredOn: `the ${truth.length - ids.size} customers not among the ${n} drawn` }));
          rows.push(f);
        }
      }
    }
  }
  const f = (v: number) => v.toFixed(4);
  console.log('| world | known customers learnt from | draw | macro-F1 | precision | coverage | size error (models) | projection (s) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.world} | ${r.surveyed || 'none (the rule\'s seeds)'} | ${r.draw} | ${f(r.macroF1)} | ${f(r.precision)} | ${f(r.coverage)} | ${f(r.sizeError)} | ${r.seconds.toFixed(1)} |`);
}
