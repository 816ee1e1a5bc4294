// A large run directory made from a small real one: the small run's model, metrics and manifest,
// with an assignment file of `customers` synthetic rows under its version (for load and fault
// tests of publishing and serving, where the labels' values do not matter but their number does).
import { cpSync, createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { Random } from '../../src/random.ts';

export const bigId = (i: number) => `C${String(i).padStart(8, '0')}`;

export async function makeBigRun(smallRun: string, out: string, customers: number, seed = 7): Promise<{ version: string; personas: string[] }> {
  mkdirSync(out, { recursive: true });
  cpSync(join(smallRun, 'model'), join(out, 'model'), { recursive: true });
  cpSync(join(smallRun, 'metrics.json'), join(out, 'metrics.json'));
  const quantification = JSON.parse(readFileSync(join(smallRun, 'quantification.json'), 'utf8'));
  writeFileSync(join(out, 'quantification.json'), JSON.stringify({ ...quantification, customers }));
  const manifest = JSON.parse(readFileSync(join(out, 'model', 'manifest.json'), 'utf8')) as { modelVersion: string; personas: { id: string; status: string }[] };
  const ids = manifest.personas.map((p) => p.id);
  const trained = manifest.personas.map((p) => p.status === 'trained');
  const rng = new Random(seed);
  const csv = createWriteStream(join(out, 'assignments.csv'));
  csv.write(['customer_id', 'persona', 'confidence', 'margin', 'model_version', ...ids.map((id) => `score_${id}`)].join(',') + '\n');
  for (let i = 0; i < customers; i++) {
    const scores = ids.map((_, k) => (trained[k] ? Math.round(rng.next() * 1e6) / 1e6 : NaN));
    let best = -1;
    for (let k = 0; k < ids.length; k++) if (trained[k] && (best < 0 || scores[k] > scores[best])) best = k;
    const line = `${bigId(i)},${scores[best] > 0.5 ? ids[best] : ''},${scores[best]},0.1,${manifest.modelVersion},${scores.map((s) => (Number.isNaN(s) ? '' : s)).join(',')}\n`;
    if (!csv.write(line)) await once(csv, 'drain');
  }
  csv.end();
  await once(csv, 'finish');
  return { version: manifest.modelVersion, personas: ids.filter((_, k) => trained[k]) };
}
