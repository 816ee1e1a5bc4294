// `personas evaluate` as a consultant runs it: a run checked against a file of known customers
// written as a spreadsheet writes it (semicolons, Windows-1252, a title line, personas by their
// label, "aucun" for none, columns named otherwise), the figures counted again here from the demo
// base's truth and the run's assignment file; then the report's section, and its mistakes.
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { EvaluationSchema, ManifestSchema, QuantificationSchema } from '../../src/models/artefacts.ts';
import { Random } from '../../src/random.ts';
import { renderReportHtml } from '../../src/report/index.ts';
import { openStore, versionReport } from '../../src/store/index.ts';
import { runToEnd } from '../helpers/spawn.ts';
import { tempDir } from '../helpers/world.ts';

const runs = inject('runs');
const personas = (...args: string[]) => runToEnd(process.execPath, [resolve('bin/personas.js'), ...args], { env: { ...process.env, DATABASE_URL: '' }, timeout: 120_000 });

/** The rows of a CSV without quotes, by column name. */
const table = (path: string) => {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = header.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, k) => [cols[k], v])));
};

describe('personas evaluate', () => {
  it("checks a run's labels against known customers, writes evaluation.json, and the report shows it", async () => {
    const run = tempDir();
    cpSync(runs.a, run, { recursive: true });
    const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(run, 'model', 'manifest.json'), 'utf8')));
    const label = new Map(manifest.personas.map((p) => [p.id, p.label]));
    // Every seventh customer of the demo base's truth, by label, "aucun" for none.
    const truth = table(join(runs.data, 'truth.csv')).filter((_, i) => i % 7 === 0);
    const lines = ['Clients interrogés en mai', 'Id client;Portrait;Ville', ...truth.map((t) => `${t.customer_id};${t.persona ? label.get(t.persona) : 'aucun'};Lyon`)];
    const known = join(tempDir(), 'connus.csv');
    writeFileSync(known, Buffer.from(lines.join('\r\n') + '\r\n', 'latin1'));
    expect([...label.values()].some((l) => /[À-ÿ]/.test(l))).toBe(true); // accented labels, in Windows-1252
    const columns = join(tempDir(), 'columns.yaml');
    writeFileSync(columns, 'known:\n  id client: customer_id\n  portrait: persona\n');

    const r = await personas('evaluate', '--run', run, '--known', known, '--columns', columns);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`wrote ${join(run, 'evaluation.json')} (personas report shows it)`);
    const e = EvaluationSchema.parse(JSON.parse(readFileSync(join(run, 'evaluation.json'), 'utf8')));

    // Counted again from the two files.
    const assigned = new Map(table(join(run, 'assignments.csv')).map((a) => [a.customer_id, a.persona || null]));
    const pairs = truth.map((t) => ({ known: t.persona || null, got: assigned.get(t.customer_id)! }));
    expect(e).toMatchObject({ modelVersion: manifest.modelVersion, customers: truth.length, matched: truth.length, notInRun: 0, knownNone: pairs.filter((p) => p.known === null).length });
    expect(e.assigned).toBe(pairs.filter((p) => p.got !== null).length);
    expect(e.correct).toBe(pairs.filter((p) => p.got !== null && p.got === p.known).length);
    for (const p of e.personas) {
      expect([p.known, p.assigned, p.correct], p.persona).toEqual([
        pairs.filter((x) => x.known === p.persona).length,
        pairs.filter((x) => x.got === p.persona).length,
        pairs.filter((x) => x.got === p.persona && x.known === p.persona).length,
      ]);
    }
    expect(e.confusion.reduce((s, c) => s + c.customers, 0)).toBe(truth.length);
    // Not said to be a random sample: no sizes corrected.
    expect([e.randomSample, e.sizes, e.sampleCheck]).toEqual([false, [], null]);
    // The assigned by confidence, counted again from the assignment file's confidence column.
    const confident = table(join(run, 'assignments.csv')).filter((a) => a.persona && truth.some((t) => t.customer_id === a.customer_id));
    expect(e.calibration.reduce((s, b) => s + b.customers, 0)).toBe(confident.length);
    for (const b of e.calibration) expect(b.customers, String(b.from)).toBe(confident.filter((a) => Math.min(9, Math.floor(Number(a.confidence) * 10)) === Math.round(b.from * 10)).length);
    expect(r.stdout).toMatch(/^the assigned by confidence \(the share right should be about the mean confidence\):\n( {2}0\.\d to [01]\.\d: \d+ assigned, mean confidence [\d.]+ %, [\d.]+ % right\n)+/m);
    expect(r.stdout).toMatch(new RegExp(`^model ${manifest.modelVersion} against .*connus\\.csv: ${truth.length} known customer\\(s\\) in the run, ${e.knownNone} of them known to be none of the personas$`, 'm'));
    expect(r.stdout).toMatch(/^persona +known +assigned +right +precision \(95 % interval\) +expected +recall +known share +mean probability$/m);

    // The report's section, in French, the figures as evaluation.json has them.
    const html = join(run, 'rapport.html');
    const rep = await personas('report', '--run', run, '--out', html, '--lang', 'fr');
    expect(rep.status, rep.stderr).toBe(0);
    expect(rep.stderr).toContain('with its check against known customers');
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<section id="known" aria-labelledby="h-known"><h2 id="h-known">Contrôle sur des clients connus</h2>');
    expect(page).toContain('<li><a href="#known">Contrôle sur des clients connus</a></li>');
    for (const p of e.personas) {
      expect(page).toMatch(new RegExp(`<tr data-persona="${p.persona}" data-verdict="${p.verdict}"><th scope="row">[^<]+</th><td data-field="known" data-value="${p.known}">`));
      expect(page).toContain(`<td data-field="correct" data-value="${p.correct}">`);
    }

    // A later run into the same directory makes the evaluation another model version's: left out, and said.
    writeFileSync(join(run, 'evaluation.json'), JSON.stringify({ ...e, modelVersion: '20990101T000000Z-00000000' }));
    const stale = await personas('report', '--run', run, '--out', html);
    expect(stale.status, stale.stderr).toBe(0);
    expect(stale.stderr).toContain(`${join(run, 'evaluation.json')} checks model 20990101T000000Z-00000000, not this run's ${manifest.modelVersion}: left out of the report (run personas evaluate again)`);
    expect(readFileSync(html, 'utf8')).not.toContain('<section id="known"');
  }, 180_000);

  it('publishes a run with its evaluation, and evaluates a published version anew from the store, whose report shows it', async () => {
    const run = tempDir();
    cpSync(runs.a, run, { recursive: true });
    const truth = table(join(runs.data, 'truth.csv'));
    const knownFile = (every: number) => {
      const path = join(tempDir(), `known-${every}.csv`);
      // Every other id in lower case, as a system that lower-cases them writes it.
      writeFileSync(path, ['customer_id,persona', ...truth.filter((_, i) => i % every === 0).map((t, k) => `${k % 2 ? t.customer_id.toLowerCase() : t.customer_id},${t.persona}`)].join('\n') + '\n');
      return path;
    };
    expect((await personas('evaluate', '--run', run, '--known', knownFile(5), '--empty', 'none')).status).toBe(0);
    const store = join(tempDir(), 'store');
    const published = await personas('publish', '--run', run, '--store', store);
    expect(published.status, published.stderr).toBe(0);
    const version = /^published (\S+):/.exec(published.stdout)![1];
    const shown = async () => JSON.parse((await personas('models', 'show', version, '--store', store)).stdout) as { evaluation: { customers: number; personas: unknown[] } | null };
    expect((await shown()).evaluation).toMatchObject({ customers: Math.ceil(truth.length / 5), matched: Math.ceil(truth.length / 5), reformattedIds: Math.floor(Math.ceil(truth.length / 5) / 2) });
    // Evaluated again, from the store's labels, against another sample: the same figures as from the run's file, and kept.
    const again = await personas('evaluate', '--model', version, '--known', knownFile(3), '--empty', 'none', '--store', store, '--json');
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(`kept with version ${version} in the store (its report shows it)`);
    const fromStore = EvaluationSchema.parse(JSON.parse(again.stdout));
    const fromRun = EvaluationSchema.parse(JSON.parse((await personas('evaluate', '--run', run, '--known', knownFile(3), '--empty', 'none', '--json', '--out', join(tempDir(), 'e.json'))).stdout));
    expect(fromStore.personas).toEqual(fromRun.personas.map((p) => ({ ...p, meanProbability: expect.closeTo(p.meanProbability, 6) })));
    expect(fromStore.confusion).toEqual(fromRun.confusion);
    expect([fromStore.matched, fromStore.reformattedIds]).toEqual([Math.ceil(truth.length / 3), Math.floor(Math.ceil(truth.length / 3) / 2)]);
    expect(fromRun.reformattedIds).toBe(fromStore.reformattedIds);
    expect((await shown()).evaluation).toMatchObject({ customers: Math.ceil(truth.length / 3) });
    // A survey drawn from the version's base in the store: the customers the run's file gives for the same seed (the same ids, in the same order).
    const fromVersion = join(tempDir(), 'survey-version.csv');
    const fromFile = join(tempDir(), 'survey-run.csv');
    const drew = await personas('survey', '--model', version, '--size', '100', '--store', store, '--out', fromVersion);
    expect(drew.stdout).toContain(`drew 100 of 1500 customers at random (seed 1) into ${fromVersion}`);
    expect(drew.stdout).toContain(`then: personas evaluate --model ${version} --known ${fromVersion} --random-sample (or, for the models to learn from the answers too, personas run ... --known ${fromVersion} --random-sample --learn-from-known)`);
    const drewFile = await personas('survey', '--run', run, '--size', '100', '--out', fromFile);
    expect(readFileSync(fromVersion, 'utf8')).toBe(readFileSync(fromFile, 'utf8'));
    // The same plan from the store's labels and probabilities as from the run's file.
    const plan = (stdout: string) => stdout.split('\n').filter((l) => / ±\d+\.\d points$| summing to about /.test(l));
    expect(plan(drew.stdout)).toHaveLength(plan(drewFile.stdout).length);
    expect(plan(drew.stdout).length).toBeGreaterThan(3);
    expect(plan(drew.stdout)).toEqual(plan(drewFile.stdout));
    const db = await openStore({ databaseUrl: null, dataDir: store });
    try {
      const html = renderReportHtml(await versionReport(db, version, 'en'));
      expect(html).toContain('<section id="known"');
      expect(html).toContain(`known-3.csv, ${fromStore.knownNone} of them known to be none of the personas`);
    } finally {
      await db.close();
    }
    // Against another version without a check: models changes says so.
    const other = /^published (\S+):/.exec((await personas('publish', '--run', runs.b, '--store', store)).stdout)![1];
    const changes = (await personas('models', 'changes', other, '--from', version, '--store', store)).stdout.split('\n');
    expect(changes).toContain(`against known customers: precision ${(100 * fromStore.precision!).toFixed(1)} %, assigned ${(100 * fromStore.coverage).toFixed(1)} %, macro-F1 ${fromStore.macroF1!.toFixed(3)} on ${fromStore.matched} (${fromStore.file}) -> not checked`);
    // The older version pruned away (none is active: the newest is kept).
    const dry = await personas('models', 'prune', '--keep', '1', '--dry-run', '--store', store);
    expect(dry.stdout).toMatch(new RegExp(`^would delete ${version} \\(1,500 customers, published \\S+\\)\nwould delete 1 version\\(s\\), 1,500 labels; kept 1: ${other}\n$`));
    const pruned = await personas('models', 'prune', '--keep', '1', '--store', store);
    expect(pruned.stdout).toContain(`deleted 1 version(s), 1,500 labels; kept 1: ${other}`);
    expect((await personas('models', 'list', '--store', store)).stdout).not.toContain(version);
    expect((await personas('models', 'prune', '--keep', 'all', '--store', store)).stderr).toContain('--keep must be a whole number of at least 1 (got "all")');
    const neither = await personas('evaluate', '--known', knownFile(3), '--store', store);
    expect(neither.stderr).toContain('give --run DIR (a run directory) or --model VERSION (a published version)');
    const missing = await personas('evaluate', '--model', '19990101T000000Z-deadbeef', '--known', knownFile(3), '--store', store);
    expect(missing.stderr).toContain("model version '19990101T000000Z-deadbeef' is not published");
  }, 180_000);

  it("corrects each persona's size by known customers drawn at random, from the run's file or the store's labels, and flags a sample that is not", async () => {
    const run = tempDir();
    cpSync(runs.a, run, { recursive: true });
    const truth = table(join(runs.data, 'truth.csv'));
    // A quarter of the customers, drawn at random.
    const rng = new Random(3);
    const drawn = truth.filter(() => rng.next() < 0.25);
    const known = join(tempDir(), 'survey.csv');
    writeFileSync(known, ['customer_id,persona', ...drawn.map((t) => `${t.customer_id},${t.persona || 'none'}`)].join('\n') + '\n');
    const r = await personas('evaluate', '--run', run, '--known', known, '--random-sample');
    expect(r.status, r.stderr).toBe(0);
    const e = EvaluationSchema.parse(JSON.parse(readFileSync(join(run, 'evaluation.json'), 'utf8')));
    expect(e.randomSample).toBe(true);
    expect(e.sampleCheck!.random).toBe(true);

    // Counted again from the run's files: the estimate plus the sample's mean gap between membership and probability.
    const q = QuantificationSchema.parse(JSON.parse(readFileSync(join(run, 'quantification.json'), 'utf8')));
    const scores = new Map(table(join(run, 'assignments.csv')).map((a) => [a.customer_id, a]));
    const trained = q.personas.filter((p) => p.persona !== null && p.estimatedPrevalence !== null);
    expect(trained.length).toBeGreaterThan(1);
    expect(e.sizes.map((z) => z.persona)).toEqual(trained.map((p) => p.persona));
    // Each label's mean gap between membership and probability, weighed by the label's share of the base.
    const labelShare = new Map(q.personas.map((r) => [r.persona ?? '', r.customers / q.customers]));
    for (const p of trained) {
      let correction = 0;
      for (const [label, share] of labelShare) {
        const inLabel = drawn.filter((t) => scores.get(t.customer_id)!.persona === label);
        if (!inLabel.length) continue;
        const gaps = inLabel.map((t) => (t.persona === p.persona ? 1 : 0) - Number(scores.get(t.customer_id)![`score_${p.persona}`]));
        correction += (share * gaps.reduce((a, b) => a + b, 0)) / gaps.length;
      }
      const z = e.sizes.find((x) => x.persona === p.persona)!;
      expect(z.estimated).toBe(p.estimatedPrevalence);
      // (The file's scores have 6 decimals.)
      expect(z.corrected).toBeCloseTo(Math.min(1, Math.max(0, p.estimatedPrevalence! + correction)), 5);
      expect(z.sampleShare).toBeCloseTo(drawn.filter((t) => t.persona === p.persona).length / drawn.length, 12);
      expect(z.interval[0]).toBeLessThanOrEqual(z.corrected);
      expect(z.interval[1]).toBeGreaterThanOrEqual(z.corrected);
    }
    expect(r.stdout).toContain(`each persona's size in the base, corrected by the ${drawn.length} known customers (drawn at random from it):`);
    expect(r.stdout).toMatch(/^persona +estimated by the models +corrected \(95 % interval\) +the sample alone \(95 % interval\)$/m);

    // The report: the corrected size beside each estimate, and the section's table.
    const html = join(run, 'report.html');
    expect((await personas('report', '--run', run, '--out', html)).status).toBe(0);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain(`<p class="intro" id="quantification-corrected">The last column corrects each persona&#39;s size by ${drawn.length} customers drawn at random`);
    for (const z of e.sizes) {
      expect(page).toContain(`<td data-field="correctedSize" data-value="${z.corrected}">`);
      expect(page).toMatch(new RegExp(`<tr data-persona="${z.persona}"><th scope="row">[^<]+</th><td data-field="estimated" data-value="${z.estimated}">`));
    }
    expect(page).not.toContain('id="known-sample-check"');

    // From the store's labels, the same sizes.
    const store = join(tempDir(), 'store');
    const version = /^published (\S+):/.exec((await personas('publish', '--run', run, '--store', store)).stdout)![1];
    const fromStore = EvaluationSchema.parse(JSON.parse((await personas('evaluate', '--model', version, '--known', known, '--random-sample', '--store', store, '--json')).stdout));
    expect(fromStore.sizes).toEqual(e.sizes.map((z) => ({ ...z, corrected: expect.closeTo(z.corrected, 6), interval: [expect.closeTo(z.interval[0], 6), expect.closeTo(z.interval[1], 6)] })));

    // Interviewees recruited among the customers one persona got: not a random sample, and said.
    const first = trained[0].persona!;
    const chosen = join(tempDir(), 'chosen.csv');
    const picked = truth.filter((t) => scores.get(t.customer_id)!.persona === first).slice(0, 60);
    writeFileSync(chosen, ['customer_id,persona', ...picked.map((t) => `${t.customer_id},${t.persona || 'none'}`)].join('\n') + '\n');
    const biased = await personas('evaluate', '--run', run, '--known', chosen, '--random-sample');
    expect(biased.stdout).toMatch(/^warning: the known customers' labels are spread unlike the base's \(chi-square [\d.]+ on \d+ degrees of freedom, p (=|<) [\d.e+-]+\): they do not look drawn at random from it/m);
    // The labels none of them has: their share of the base is said, left as the models see them.
    const unsampled = EvaluationSchema.parse(JSON.parse(readFileSync(join(run, 'evaluation.json'), 'utf8'))).sampleCheck!.unsampled;
    expect(unsampled).toBeCloseTo(1 - trained[0].share, 12);
    expect(biased.stdout).toContain(`note: ${(100 * unsampled).toFixed(1)} % of the base carry a label none of the known customers has: no correction for them`);
    expect((await personas('report', '--run', run, '--out', html)).status).toBe(0);
    expect(readFileSync(html, 'utf8')).toContain('<ul class="warnings" id="known-sample-check"><li>These known customers&#39; labels are spread unlike the base&#39;s');
    expect(readFileSync(html, 'utf8')).toContain('<p class="intro" id="known-unsampled">');

    // The flag says how the known customers were chosen: without them it is an error.
    const alone = await personas('run', '--data', runs.data, '--personas', join(runs.data, 'personas.yaml'), '--out', tempDir(), '--random-sample');
    expect(alone.status).not.toBe(0);
    expect(alone.stderr).toContain('--random-sample says how the --known customers were chosen: give --known FILE too');
  }, 180_000);

  it('draws customers at random for a survey, whose answers then correct the sizes', async () => {
    const out = join(tempDir(), 'invitations.csv');
    const r = await personas('survey', '--run', runs.a, '--size', '400', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`drew 400 of 1500 customers at random (seed 1) into ${out}: fill its persona column`);
    // What precision those answers should give each persona's size, from the run's probabilities.
    expect(r.stdout).toContain("with 400 answer(s), each persona's size corrected by them should come within (95 %, where the probabilities are calibrated; wider where they are overconfident):");
    const planned = (stdout: string) => [...stdout.matchAll(/^(\w+) +±(\d+\.\d) points$/gm)].map((m) => [m[1], Number(m[2])] as const);
    const scored = Object.keys(table(join(runs.a, 'assignments.csv'))[0]).filter((c) => c.startsWith('score_'));
    expect(planned(r.stdout).map(([p]) => `score_${p}`)).toEqual(scored);
    expect(scored.length).toBeGreaterThan(2);
    expect(planned(r.stdout).every(([, h]) => h > 0.5 && h < 10)).toBe(true);
    expect(r.stdout).toMatch(/their errors summing to about 0\.\d{3} over the personas; these are answers: invite more customers for those who do not answer \(at a response rate of 30 %, 1334\)/);
    // Or as many customers as a precision needs: the fewest whose plan gives every persona that half-width.
    const precise = join(tempDir(), 'precise.csv');
    const h = await personas('survey', '--run', runs.a, '--half-width', '3%', '--out', precise);
    expect(h.status, h.stderr).toBe(0);
    const needed = Number(/^(\d+) answer\(s\) should bring every persona's corrected size within ±3\.0 points$/m.exec(h.stdout)?.[1]);
    expect(needed).toBeGreaterThan(100);
    expect(readFileSync(precise, 'utf8').trim().split('\n')).toHaveLength(needed + 1);
    expect(planned(h.stdout).every(([, w]) => w <= 3)).toBe(true);
    expect(Math.max(...planned(h.stdout).map(([, w]) => w))).toBeGreaterThanOrEqual(2.9);
    const drawn = readFileSync(out, 'utf8').trim().split('\n');
    expect(drawn[0]).toBe('customer_id,persona');
    const ids = drawn.slice(1).map((l) => l.replace(/,$/, ''));
    const order = table(join(runs.a, 'assignments.csv')).map((a) => a.customer_id);
    // Distinct customers of the base, in its order, spread over it; the same seed draws the same, another seed others.
    expect(new Set(ids).size).toBe(400);
    const at = ids.map((id) => order.indexOf(id));
    expect(at.every((k) => k >= 0)).toBe(true);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    expect(at.reduce((a, b) => a + b, 0) / at.length).toBeGreaterThan(0.4 * order.length);
    expect(at.reduce((a, b) => a + b, 0) / at.length).toBeLessThan(0.6 * order.length);
    const again = join(tempDir(), 'again.csv');
    await personas('survey', '--assignments', join(runs.a, 'assignments.csv'), '--size', '400', '--out', again);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(out, 'utf8'));
    // A survey file already there may hold answers: kept unless --force.
    const kept = await personas('survey', '--run', runs.a, '--size', '400', '--seed', '2', '--out', again);
    expect(kept.stderr).toContain(`${again} exists (it may hold the survey's answers): choose another --out, or pass --force to replace it`);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(out, 'utf8'));
    const other = join(tempDir(), 'sub', 'other.csv');
    await personas('survey', '--run', runs.a, '--size', '400', '--seed', '2', '--out', other);
    await personas('survey', '--run', runs.a, '--size', '400', '--seed', '2', '--out', again, '--force');
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(other, 'utf8'));
    expect(readFileSync(other, 'utf8')).not.toBe(readFileSync(out, 'utf8'));

    // The answers: the truth of those who answered, a quarter left empty (no answer).
    const truth = new Map(table(join(runs.data, 'truth.csv')).map((t) => [t.customer_id, t.persona]));
    writeFileSync(out, ['customer_id,persona', ...ids.map((id, k) => `${id},${k % 4 === 3 ? '' : truth.get(id) || 'none'}`)].join('\n') + '\n');
    const run = tempDir();
    cpSync(runs.a, run, { recursive: true });
    const e = await personas('evaluate', '--run', run, '--known', out, '--random-sample', '--json');
    expect(e.status, e.stderr).toBe(0);
    const evaluation = EvaluationSchema.parse(JSON.parse(e.stdout));
    expect([evaluation.matched, evaluation.emptyRows, evaluation.sizes.length > 0, evaluation.sampleCheck!.random]).toEqual([300, 100, true, true]);

    const bad = async (...args: string[]) => (await personas('survey', ...args, '--out', join(tempDir(), 'x.csv'))).stderr;
    expect(await bad('--run', runs.a, '--size', '2000')).toContain(`--size 2000 is more than the 1500 customers of ${join(runs.a, 'assignments.csv')}`);
    expect(await bad('--run', runs.a, '--half-width', '60%')).toContain('--half-width must be a share above 0 and under 0.5, as 0.01 or 1% (got "60%")');
    expect(await bad('--run', runs.a, '--size', '10', '--half-width', '0.01')).toContain('give one of --size N (customers to draw) or --half-width H (the precision their answers should give)');
    expect(await bad('--run', runs.a, '--size', 'all')).toContain('--size must be a whole number of at least 1 (got "all")');
    expect(await bad('--size', '10')).toContain('give one of --run DIR (a run directory), --assignments FILE (an assignment file) or --model VERSION (a published version)');
    expect(await bad('--assignments', join(tempDir(), 'none.csv'), '--size', '10')).toContain('none.csv: assignment file not found');
  }, 120_000);

  it('names the line of a persona the run does not have, and of a customer given two', async () => {
    const known = join(tempDir(), 'known.csv');
    const ids = table(join(runs.data, 'truth.csv')).slice(0, 3).map((t) => t.customer_id);
    writeFileSync(known, `customer_id,persona\n${ids[0]},urban_digital\n${ids[1]},Philippe\n`);
    const r = await personas('evaluate', '--run', runs.a, '--known', known, '--out', join(tempDir(), 'e.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^personas: ${known}: column persona: 1 value\\(s\\) name no persona of the run \\(line 3 'Philippe'\\); expected a persona's id or label \\(urban_digital "`));
    writeFileSync(known, `customer_id,persona\n${ids[0]},urban_digital\n${ids[1]},none\n${ids[0]},aucun\n`);
    const twice = await personas('evaluate', '--run', runs.a, '--known', known, '--out', join(tempDir(), 'e.json'));
    expect(twice.stderr).toContain(`personas: ${known}: customer '${ids[0]}' is given two personas: urban_digital (line 2) and none (line 4)`);
    // personas run --known reads and checks the file before it trains: the mistake, and nothing written.
    writeFileSync(known, `customer_id,persona\n${ids[0]},Philippe\n`);
    const out = join(tempDir(), 'run');
    const run = await personas('run', '--data', runs.data, '--personas', join(runs.data, 'personas.yaml'), '--out', out, '--known', known);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`${known}: column persona: 1 value(s) name no persona of the run (line 2 'Philippe')`);
    expect(existsSync(out)).toBe(false);
    const absent = await personas('evaluate', '--run', runs.a, '--known', join(tempDir(), 'nope.csv'));
    expect(absent.status).toBe(2);
    expect(absent.stderr).toMatch(/nope\.csv: file of known customers not found \(a CSV or an Excel workbook with columns customer_id and persona\)/);
    writeFileSync(known, 'client,persona\nx,none\n');
    const columns = await personas('evaluate', '--run', runs.a, '--known', known, '--out', join(tempDir(), 'e.json'));
    expect(columns.stderr).toMatch(/required column "customer_id" is missing \(found: client, persona; "client" looks like it: map it with --columns, e\.g\. \{"known":\{"client":"customer_id"\}\}\)/);
  }, 120_000);
});
