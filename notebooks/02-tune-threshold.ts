// # Notebook 2: tune a persona's threshold with the reach / precision curve
//
// A walkthrough for data scientists, written as a script the test suite runs
// (test/notebooks.test.ts), so it never rots. Run it on any run directory:
//
//     npm run demo                                            # writes the run out/demo
//     npx tsx notebooks/02-tune-threshold.ts --run out/demo --persona bargain_hunter --target 0.95
//
// Options: --target P (the expected precision wanted, default 0.95), --out DIR (default
// out/notebooks/02). It needs no retraining: the run's assignment file holds every customer's
// calibrated probability per persona (score_<persona> columns).
//
// It writes <out>/tuning.json and <out>/personas-tuned.yaml (the run's persona file with the
// chosen threshold written in, ready for `personas run`), and prints the curve and the effect.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { ManifestSchema, RunMetricsSchema } from '../src/models/artefacts.ts';
import { assignPersonas, autoThreshold, parsePersonaFile, reachCurve } from '../src/models/personas/index.ts';

const { values: args } = parseArgs({
  options: {
    run: { type: 'string' },
    persona: { type: 'string' },
    target: { type: 'string', default: '0.95' },
    out: { type: 'string', default: 'out/notebooks/02' },
  },
});
if (!args.run || !args.persona) throw new Error('usage: 02-tune-threshold.ts --run DIR --persona ID [--target 0.95] [--out DIR]');
const target = Number(args.target);
if (!(target > 0 && target < 1)) throw new Error(`--target must be in (0, 1) (got ${args.target})`);
const out = args.out!;
mkdirSync(out, { recursive: true });

// ## 1. What the run decided
// The manifest holds each persona's threshold and the assignment's minimum margin; metrics.json
// holds the reach curve the run computed.
const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(args.run, 'model', 'manifest.json'), 'utf8')));
const metrics = RunMetricsSchema.parse(JSON.parse(readFileSync(join(args.run, 'metrics.json'), 'utf8')));
const ids = manifest.personas.map((p) => p.id);
const k = ids.indexOf(args.persona);
if (k < 0 || manifest.personas[k].status !== 'trained') throw new Error(`${args.persona} is not a trained persona of this run (${ids.join(', ')})`);
const current = manifest.personas[k].threshold!;
console.log(`${args.persona}: threshold ${current.toFixed(3)}, target precision of the run ${manifest.assignment.targetPrecision}, min margin ${manifest.assignment.minMargin}\n`);

// ## 2. Every customer's probabilities, from the assignment file
// One column per persona (empty for a persona that was not trained).
const lines = readFileSync(join(args.run, 'assignments.csv'), 'utf8').trimEnd().split('\n');
const header = lines[0].split(',');
const scoreColumn = ids.map((id) => header.indexOf(`score_${id}`));
const n = lines.length - 1;
const probabilities = ids.map(() => new Float64Array(n));
const runPersona: string[] = new Array(n);
for (let i = 0; i < n; i++) {
  // Ids never hold commas in the demo; a client file with quoted ids needs a real CSV reader.
  const f = lines[i + 1].split(',');
  runPersona[i] = f[1];
  scoreColumn.forEach((j, p) => (probabilities[p][i] = f[j] === '' ? 0 : Number(f[j])));
}

// ## 3. The reach / precision curve
// For each threshold, how many customers reach it and their mean probability: the precision we
// expect among them. It equals the curve in metrics.json (the run computed it the same way).
const curve = reachCurve(probabilities[k]);
const stored = metrics.personas.find((m) => m.persona === args.persona)!.reachCurve;
const sameCurve = curve.every((c, i) => c.customers === stored[i]?.customers);
console.log('| threshold | customers | expected precision |\n|---:|---:|---:|');
for (const c of curve) console.log(`| ${c.threshold.toFixed(2)} | ${c.customers} | ${c.expectedPrecision === null ? '–' : c.expectedPrecision.toFixed(3)} |`);
console.log(`\nsame curve as metrics.json: ${sameCurve}`);

// ## 4. Choose the threshold for the precision we want
// `autoThreshold` is what `threshold: auto` does: the lowest threshold at which the customers
// above it have a mean probability of at least the target.
const chosen = autoThreshold(probabilities[k], target);
console.log(`\ntarget ${target}: threshold ${chosen.threshold.toFixed(3)} (expected precision ${chosen.expectedPrecision?.toFixed(3) ?? '–'})`);

// ## 5. What it changes in the assignment
// Assign again with the run's thresholds (a check: it gives back the run's assignment, but for a
// rare customer within rounding of a threshold or of the margin), then
// with the new threshold for this persona. A stricter threshold leaves more customers unassigned
// and can hand some to another persona.
// The file holds probabilities to 6 decimals: compare thresholds at that precision too.
const thresholds = manifest.personas.map((p) => Math.round((p.threshold ?? 1) * 1e6) / 1e6);
const before = assignPersonas(probabilities, thresholds, manifest.assignment.minMargin - 1e-6);
const reproduced = runPersona.filter((p, i) => (before.persona[i] < 0 ? '' : ids[before.persona[i]]) === p).length;
const after = assignPersonas(probabilities, thresholds.map((t, j) => (j === k ? chosen.threshold : t)), manifest.assignment.minMargin - 1e-6);
const count = (a: Int32Array, p: number) => a.reduce((s, v) => s + (v === p ? 1 : 0), 0);
const effect = [...ids.map((id, p) => ({ persona: id as string | null, before: count(before.persona, p), after: count(after.persona, p) })), { persona: null, before: count(before.persona, -1), after: count(after.persona, -1) }];
console.log(`\nthe run's thresholds reproduce ${reproduced} of ${n} assignments`);
console.log('\n| persona | assigned before | assigned after |\n|---|---:|---:|');
for (const e of effect) console.log(`| ${e.persona ?? 'unassigned'} | ${e.before} | ${e.after} |`);

// ## 6. Keep the choice
// Write the threshold into the run's persona file (from the manifest), so the next
// `personas run` uses it. The file is checked by the same parser the product uses.
const doc = parseDocument(manifest.personaFile.content);
const index = (doc.toJS() as { personas: { id: string }[] }).personas.findIndex((p) => p.id === args.persona);
doc.setIn(['personas', index, 'threshold'], Number(chosen.threshold.toFixed(4)));
const tuned = doc.toString();
parsePersonaFile(tuned, 'personas-tuned.yaml');
writeFileSync(join(out, 'personas-tuned.yaml'), tuned);
const tuning = { persona: args.persona, target, currentThreshold: current, chosen, curve, sameCurveAsMetrics: sameCurve, reproduced, customers: n, effect };
writeFileSync(join(out, 'tuning.json'), JSON.stringify(tuning, null, 2) + '\n');
console.log(`\n${join(out, 'tuning.json')}, ${join(out, 'personas-tuned.yaml')} (retrain with: personas run --personas ${join(out, 'personas-tuned.yaml')} ...)`);
