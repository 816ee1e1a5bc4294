// # Notebook 1: retrain with an edited persona file and compare the two versions
//
// A walkthrough for data scientists, written as a script the test suite runs
// (test/notebooks.test.ts), so it never rots. Run it on the demo base:
//
//     npx personas demo                       # writes out/demo/data (with personas.yaml)
//     npx tsx notebooks/01-retrain-and-compare.ts --data out/demo/data --out out/notebooks/01
//
// Options: --personas FILE (default <data>/personas.yaml), --edited FILE (your edited persona
// file; default: the demo edit below), --trees N (fewer trees for a quick look), --seed N.
//
// It writes <out>/v1 and <out>/v2 (two complete runs, each with its report.html),
// <out>/comparison.json, and prints the comparison as Markdown tables.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { buildFeatures } from '../src/features/index.ts';
import { loadPersonaFile, projectPersonas, writeProjection, type Projection } from '../src/models/personas/index.ts';
import { evaluateRun } from '../src/cli/evaluate.ts';
import type { Evaluation } from '../src/models/artefacts.ts';
import { writeReport } from '../src/report/index.ts';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    personas: { type: 'string' },
    edited: { type: 'string' },
    out: { type: 'string', default: 'out/notebooks/01' },
    trees: { type: 'string' },
    seed: { type: 'string', default: '1' },
    known: { type: 'string' },
    empty: { type: 'string', default: 'skip' },
  },
});
if (!args.data) throw new Error('usage: 01-retrain-and-compare.ts --data DIR [--personas FILE] [--edited FILE] [--out DIR] [--trees N] [--known FILE [--empty none]]');
const out = args.out!;
mkdirSync(out, { recursive: true });
const seed = Number(args.seed);

// ## 1. The feature table, once
// Both versions are trained on the same features, so any difference comes from the persona file.
// The table is also written to <out>/features/features.parquet for the reports' portraits.
const features = await buildFeatures({ dataDir: args.data, outDir: join(out, 'features') });
const table = features.table;
console.log(`feature table: ${table.rows} customers, ${table.numericNames.length + table.categoricalNames.length} features, as of ${features.asOf}\n`);

// ## 2. The two persona files
// v1 is the file as given. v2 is your edited file (--edited), or, on the demo base, the same file
// with a stricter rule for the affluent senior: spending at least twice the mean instead of 1.5
// times. `--trees` goes into the file's `model:` section, which the projection reads.
const original = args.personas ?? join(args.data, 'personas.yaml');
const v1Text = readFileSync(original, 'utf8');
let v2Text: string;
if (args.edited) v2Text = readFileSync(args.edited, 'utf8');
else {
  const rule = 'monetary_12m: { gte: 1.5x mean }';
  if (!v1Text.includes(rule)) throw new Error(`${original} is not the demo persona file: pass your edited file with --edited`);
  v2Text = v1Text.replace(rule, 'monetary_12m: { gte: 2x mean }');
}
const withTrees = (text: string) => {
  if (!args.trees) return text;
  const doc = parseDocument(text);
  doc.set('model', { kind: 'gbdt', params: { numTrees: Number(args.trees) } });
  return doc.toString();
};
const files = { v1: withTrees(v1Text), v2: withTrees(v2Text) };

// ## 3. Train both versions
// `projectPersonas` does seeds -> models -> probabilities -> thresholds -> assignment;
// `writeProjection` writes the run's artefacts, and `writeReport` its HTML report. With customers
// whose persona is known (--known; on the demo base, its truth.csv), `evaluateRun` checks each
// version's labels against them first (evaluation.json, which the report then shows).
const known = args.known ?? (existsSync(join(args.data, 'truth.csv')) ? join(args.data, 'truth.csv') : undefined);
const empty = args.known ? (args.empty as 'skip' | 'none') : 'none'; // truth.csv writes none as an empty persona
const projections: Record<'v1' | 'v2', Projection> = {} as Record<'v1' | 'v2', Projection>;
const evaluations: Partial<Record<'v1' | 'v2', Evaluation>> = {};
for (const version of ['v1', 'v2'] as const) {
  const path = join(out, `personas-${version}.yaml`);
  writeFileSync(path, files[version]);
  const personaFile = loadPersonaFile(path);
  const p = await projectPersonas({ table, personaFile, asOf: personaFile.spec.as_of ?? features.asOf, seed });
  const dir = join(out, version);
  writeProjection(dir, table, p);
  if (known) {
    evaluations[version] = await evaluateRun(dir, known, { empty });
    writeFileSync(join(dir, 'evaluation.json'), JSON.stringify(evaluations[version], null, 2) + '\n');
  }
  await writeReport(dir, join(dir, 'report.html'), { features: join(out, 'features', 'features.parquet') });
  projections[version] = p;
  console.log(`${version}: model ${p.manifest.modelVersion} -> ${dir} (report: ${join(dir, 'report.html')})`);
}

// ## 4. Compare persona by persona
// Seeds, validation AUC, threshold and customers assigned, side by side. A stricter rule gives
// fewer, more typical seeds; watch whether the AUC holds and how many customers the persona keeps.
const { v1, v2 } = projections;
const ids = [...new Set([...v1.manifest.personas.map((p) => p.id), ...v2.manifest.personas.map((p) => p.id)])];
const metric = (p: Projection, id: string) => p.metrics.personas.find((m) => m.persona === id);
const assigned = (p: Projection, id: string | null) => p.quantification.personas.find((r) => r.persona === id)?.customers ?? 0;
const personas = ids.map((id) => ({
  persona: id,
  seeds: [metric(v1, id)?.seeds ?? null, metric(v2, id)?.seeds ?? null],
  validationAuc: [metric(v1, id)?.validationAuc ?? null, metric(v2, id)?.validationAuc ?? null],
  threshold: [metric(v1, id)?.threshold ?? null, metric(v2, id)?.threshold ?? null],
  assigned: [assigned(v1, id), assigned(v2, id)],
}));
const f3 = (v: number | null) => (v === null ? '–' : v.toFixed(3));
const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)} %`);
console.log('\n| persona | seeds v1 | seeds v2 | AUC v1 | AUC v2 | threshold v1 | threshold v2 | assigned v1 | assigned v2 |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of personas) {
  console.log(`| ${r.persona} | ${r.seeds[0] ?? '–'} | ${r.seeds[1] ?? '–'} | ${f3(r.validationAuc[0])} | ${f3(r.validationAuc[1])} | ${f3(r.threshold[0])} | ${f3(r.threshold[1])} | ${r.assigned[0]} | ${r.assigned[1]} |`);
}

// ## 5. Who moved?
// The same customers in both versions (same table, same row order): count where each v1 persona's
// customers went in v2. The diagonal is stability; off-diagonal cells are the customers an edit moved.
const name = (p: Projection, k: number) => (k < 0 ? 'unassigned' : p.manifest.personas[k].id);
const moves = new Map<string, number>();
let same = 0;
for (let i = 0; i < table.rows; i++) {
  const from = name(v1, v1.assignment.persona[i]);
  const to = name(v2, v2.assignment.persona[i]);
  if (from === to) same++;
  moves.set(`${from} -> ${to}`, (moves.get(`${from} -> ${to}`) ?? 0) + 1);
}
const changed = [...moves].filter(([k]) => k.split(' -> ')[0] !== k.split(' -> ')[1]).sort((a, b) => b[1] - a[1]);
console.log(`\n${same} of ${table.rows} customers (${((100 * same) / table.rows).toFixed(1)}%) keep the same persona.`);
console.log('\n| moved | customers |\n|---|---:|');
for (const [k, v] of changed.slice(0, 10)) console.log(`| ${k} | ${v} |`);

// ## 6. Which is righter, on the customers we know?
// Seeds and thresholds say how each version sees itself; known customers say how right it is.
// Per persona, the share of the known customers it assigned that are its own, and of its known
// members it found; a version that gains coverage at the cost of precision shows it here.
if (evaluations.v1 && evaluations.v2) {
  const [e1, e2] = [evaluations.v1, evaluations.v2];
  console.log(`\nagainst ${e1.matched} known customers (${known}): precision ${pct(e1.precision)} -> ${pct(e2.precision)}, assigned ${pct(e1.coverage)} -> ${pct(e2.coverage)}, macro-F1 ${f3(e1.macroF1)} -> ${f3(e2.macroF1)}`);
  console.log('\n| persona | precision v1 | precision v2 | recall v1 | recall v2 |\n|---|---:|---:|---:|---:|');
  for (const p of e2.personas) {
    const before = e1.personas.find((x) => x.persona === p.persona);
    console.log(`| ${p.persona} | ${pct(before?.precision ?? null)} | ${pct(p.precision)} | ${pct(before?.recall ?? null)} | ${pct(p.recall)} |`);
  }
}

const comparison = {
  customers: table.rows,
  versions: { v1: v1.manifest.modelVersion, v2: v2.manifest.modelVersion },
  personas,
  unassigned: [assigned(v1, null), assigned(v2, null)],
  agreement: same / table.rows,
  moves: Object.fromEntries(changed),
  ...(evaluations.v1 && evaluations.v2
    ? { known: { file: known, customers: evaluations.v1.matched, ...Object.fromEntries((['v1', 'v2'] as const).map((v) => [v, { precision: evaluations[v]!.precision, coverage: evaluations[v]!.coverage, macroF1: evaluations[v]!.macroF1 }])) } }
    : {}),
};
writeFileSync(join(out, 'comparison.json'), JSON.stringify(comparison, null, 2) + '\n');
console.log(`\ncomparison: ${join(out, 'comparison.json')}`);
