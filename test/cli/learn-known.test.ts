// `personas run --known FILE --learn-from-known`: the known customers become seeds (their
// persona's, taken out of the others'), what they did is counted in metrics.json, recorded in the
// manifest, said by the check and by the report; each known customer's label comes from the fold
// models that did not learn from it. The seeds counted again here from the file and from the rule's
// seeds of the same base (runs.a, same persona file and as-of date).
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { EvaluationSchema, ManifestSchema, RunMetricsSchema } from '../../src/models/artefacts.ts';
import { runToEnd } from '../helpers/spawn.ts';
import { tempDir } from '../helpers/world.ts';

const runs = inject('runs');
const personas = (...args: string[]) => runToEnd(process.execPath, [resolve('bin/personas.js'), ...args], { env: { ...process.env, DATABASE_URL: '' }, timeout: 150_000 });

const table = (path: string) => {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = header.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, k) => [cols[k], v])));
};

describe('personas run --learn-from-known', () => {
  it('takes the known customers in as seeds, counts what they did, and says so in the check and the report', async () => {
    const truth = table(join(runs.data, 'truth.csv'));
    // Every fifth customer, none written "none"; one id the base does not have.
    const known = truth.filter((_, i) => i % 5 === 0);
    const file = join(tempDir(), 'interviews.csv');
    writeFileSync(file, ['customer_id,persona', ...known.map((t) => `${t.customer_id},${t.persona || 'none'}`), 'NOT-A-CUSTOMER,none'].join('\n') + '\n');
    const out = tempDir();
    const r = await personas('run', '--data', runs.data, '--personas', join(runs.data, 'personas.yaml'), '--out', out, '--known', file, '--learn-from-known', '--folds', '2', '--trees', '15');
    expect(r.status, r.stderr).toBe(0);

    const metrics = RunMetricsSchema.parse(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')));
    const ruleRun = RunMetricsSchema.parse(JSON.parse(readFileSync(join(runs.a, 'metrics.json'), 'utf8')));
    const rule = new Map(ruleRun.personas.map((p) => [p.persona, p]));
    // runs.a learnt from the rule's seeds alone (same base, persona file and as-of date): its seed counts are the rule's.
    for (const p of metrics.personas) {
      const members = known.filter((t) => t.persona === p.persona).length;
      expect(p.knownSeeds, p.persona).toBeDefined();
      expect(p.knownSeeds!.members, p.persona).toBe(members);
      expect(p.seeds, p.persona).toBe(rule.get(p.persona)!.seeds + p.knownSeeds!.added - p.knownSeeds!.removed);
      expect(p.knownSeeds!.added).toBeLessThanOrEqual(members);
      expect(r.stderr + r.stdout).toContain(`${p.persona}: ${members} known members among the seeds (${p.knownSeeds!.added} the rule had not picked)`);
    }
    // The rule's seeds are mostly, not all, right: some were taken out, and the rule missed some members.
    expect(metrics.personas.reduce((s, p) => s + p.knownSeeds!.removed, 0)).toBeGreaterThan(0);
    expect(metrics.personas.reduce((s, p) => s + p.knownSeeds!.added, 0)).toBeGreaterThan(0);
    expect(r.stderr + r.stdout).toContain(`known customers as seeds (${file}): ${known.length} found in the base, 1 not found ('NOT-A-CUSTOMER'), left out`);

    const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(out, 'model', 'manifest.json'), 'utf8')));
    expect(manifest.learner.params.knownSeeds).toEqual({ file, customers: known.length });
    const e = EvaluationSchema.parse(JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8')));
    expect(e.learntFrom).toEqual({ file, customers: known.length });
    expect(e.matched).toBe(known.length);
    expect(r.stderr + r.stdout).toContain(`the models learnt from ${known.length} known customers of ${file} as seeds, each labelled by the fold models that did not learn from it`);

    // The known members are labelled as the other customers are (by the fold models that did not learn from them: known-seeds.test.ts), many of them rightly.
    const assigned = new Map(table(join(out, 'assignments.csv')).map((a) => [a.customer_id, a.persona || null]));
    const members = known.filter((t) => t.persona);
    const right = members.filter((t) => assigned.get(t.customer_id) === t.persona).length;
    expect(right).toBeGreaterThan(members.length / 4);
    expect(right).toBeLessThan(members.length);

    // The report, in both languages.
    for (const [lang, seedsWords, checkWords] of [
      ['en', 'The seeds also hold the customers whose persona is known (interviews.csv', `The models also learned from ${known.length} known customers of interviews.csv, as seeds`],
      ['fr', 'Les graines comprennent aussi les clients dont le persona est connu (interviews.csv', `Les modèles ont aussi appris de ${known.length} clients connus de interviews.csv, comme graines`],
    ] as const) {
      const html = join(out, `report-${lang}.html`);
      const rep = await personas('report', '--run', out, '--out', html, '--lang', lang);
      expect(rep.status, rep.stderr).toBe(0);
      const page = readFileSync(html, 'utf8');
      expect(page).toContain(`<p class="intro" id="quality-known-seeds">${seedsWords}`);
      expect(page).toContain(`<p class="intro" id="known-learnt">${checkWords}`);
    }
    // A run that did not learn from them says neither.
    const plain = readFileSync(join(runs.a, 'metrics.json'), 'utf8');
    expect(plain).not.toContain('knownSeeds');

    // personas train learns from them the same way (the same seeds), and has no labels to check them against.
    const trained = tempDir();
    const t = await personas('train', '--data', runs.data, '--personas', join(runs.data, 'personas.yaml'), '--out', trained, '--known', file, '--learn-from-known', '--folds', '2', '--trees', '15');
    expect(t.status, t.stderr).toBe(0);
    const trainedMetrics = RunMetricsSchema.parse(JSON.parse(readFileSync(join(trained, 'metrics.json'), 'utf8')));
    expect(trainedMetrics.personas.map((p) => [p.persona, p.seeds, p.knownSeeds])).toEqual(metrics.personas.map((p) => [p.persona, p.seeds, p.knownSeeds]));
    expect(ManifestSchema.parse(JSON.parse(readFileSync(join(trained, 'model', 'manifest.json'), 'utf8'))).learner.params.knownSeeds).toEqual({ file, customers: known.length });
    const checkOnly = await personas('train', '--data', runs.data, '--personas', join(runs.data, 'personas.yaml'), '--out', tempDir(), '--known', file);
    expect(checkOnly.status).not.toBe(0);
    expect(checkOnly.stderr).toContain('personas train writes no labels to check against --known customers: add --learn-from-known to learn from them');

    // Published beside the run on the rule's seeds: how the versions differ says it.
    const store = join(tempDir(), 'store');
    const published = async (run: string) => /^published (\S+):/.exec((await personas('publish', '--run', run, '--store', store)).stdout)![1];
    const ruleVersion = await published(runs.a);
    const learntVersion = await published(out);
    const changes = await personas('models', 'changes', learntVersion, '--from', ruleVersion, '--store', store);
    expect(changes.status, changes.stderr).toBe(0);
    expect(changes.stdout).toContain(`  known customers learnt from: none -> ${known.length} of ${file}\n`);
    expect(changes.stdout).not.toMatch(/learner: .*knownSeeds/);

    // The flag learns from the --known customers: without them it is an error.
    const alone = await personas('run', '--data', runs.data, '--personas', join(runs.data, 'personas.yaml'), '--out', tempDir(), '--learn-from-known');
    expect(alone.status).not.toBe(0);
    expect(alone.stderr).toContain('--learn-from-known learns from the --known customers: give --known FILE too');
  }, 240_000);
});
