// The data scientists' notebooks (notebooks/*.ts) run as a user runs them, on the small demo
// base and run of the test session, so they never rot: they must finish and write what they say.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { parsePersonaFile } from '../src/models/personas/index.ts';
import { tempDir } from './helpers/world.ts';

const runs = inject('runs');
const run = promisify(execFile);
const notebook = (file: string, args: string[]) => run(process.execPath, ['--import', 'tsx', resolve('notebooks', file), ...args], { maxBuffer: 16 << 20 });

describe('notebooks', () => {
  it('01 retrains with an edited persona file and compares the two versions', async () => {
    const out = tempDir('personas-nb01-');
    const { stdout } = await notebook('01-retrain-and-compare.ts', ['--data', runs.data, '--out', out, '--trees', '10']);
    const c = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8'));
    expect(c.versions.v1).not.toBe(c.versions.v2);
    const senior = c.personas.find((p: { persona: string }) => p.persona === 'affluent_senior');
    // The demo edit asks for twice the mean spending instead of 1.5 times: fewer seeds.
    expect(senior.seeds[1]).toBeLessThan(senior.seeds[0]);
    for (const v of [0, 1]) expect(c.personas.reduce((s: number, p: { assigned: number[] }) => s + p.assigned[v], 0) + c.unassigned[v]).toBe(c.customers);
    expect(c.agreement).toBeGreaterThan(0.5);
    expect(c.agreement).toBeLessThanOrEqual(1);
    for (const v of ['v1', 'v2']) {
      expect(existsSync(join(out, v, 'assignments.csv'))).toBe(true);
      expect(readFileSync(join(out, v, 'report.html'), 'utf8')).toContain('class="portraits"');
    }
    expect(stdout).toMatch(/\| affluent_senior \| \d+ \| \d+ \|/);
    expect(stdout).toMatch(/keep the same persona/);
    // The demo base's truth: both versions checked against it, and each report shows the check.
    expect(c.known).toMatchObject({ customers: 1500 });
    for (const v of ['v1', 'v2']) {
      const e = JSON.parse(readFileSync(join(out, v, 'evaluation.json'), 'utf8'));
      expect(c.known[v]).toEqual({ precision: e.precision, coverage: e.coverage, macroF1: e.macroF1 });
      expect(readFileSync(join(out, v, 'report.html'), 'utf8')).toContain('<section id="known"');
    }
    expect(stdout).toMatch(/^against 1500 known customers \(.*truth\.csv\): precision [\d.]+ % -> [\d.]+ %/m);
  }, 60_000);

  it('02 tunes a threshold on the reach/precision curve and writes it into the persona file', async () => {
    const out = tempDir('personas-nb02-');
    const { stdout } = await notebook('02-tune-threshold.ts', ['--run', runs.a, '--persona', 'bargain_hunter', '--target', '0.95', '--out', out]);
    const t = JSON.parse(readFileSync(join(out, 'tuning.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(runs.a, 'model', 'manifest.json'), 'utf8'));
    expect(t.sameCurveAsMetrics).toBe(true);
    expect(t.reproduced).toBeGreaterThanOrEqual(t.customers - 2);
    expect(t.chosen.expectedPrecision).toBeGreaterThanOrEqual(0.95);
    expect(t.chosen.threshold).toBeGreaterThanOrEqual(t.currentThreshold);
    const row = t.effect.find((e: { persona: string | null }) => e.persona === 'bargain_hunter');
    expect(row.after).toBeLessThanOrEqual(row.before);
    expect(t.effect.reduce((s: number, e: { after: number }) => s + e.after, 0)).toBe(t.customers);
    const tuned = parsePersonaFile(readFileSync(join(out, 'personas-tuned.yaml'), 'utf8'));
    expect(tuned.personas.find((p) => p.id === 'bargain_hunter')!.threshold).toBeCloseTo(t.chosen.threshold, 4);
    expect(tuned.personas.length).toBe(manifest.personas.length);
    expect(stdout).toMatch(/\| threshold \| customers \| expected precision \|/);
  }, 60_000);

  it('02 refuses a persona the run does not have', async () => {
    const err = await notebook('02-tune-threshold.ts', ['--run', runs.a, '--persona', 'nobody', '--out', tempDir()]).catch((e: { stderr: string }) => e);
    expect((err as { stderr: string }).stderr).toMatch(/nobody is not a trained persona of this run/);
  });
});
