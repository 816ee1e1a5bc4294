// Writing a projection's artefacts (artefacts.ts): assignments.csv, quantification.json,
// metrics.json and model/ (manifest + one model per trained persona + the design encoding).
// Everything is written into a temporary folder beside the output directory, then moved into
// place file by file, so a failed run never leaves a user's previous outputs half replaced.
import { existsSync, mkdirSync, openSync, closeSync, writeSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FeatureTable } from '../../features/table.ts';
import { ASSIGNMENT_COLUMNS } from '../artefacts.ts';
import type { Projection } from './project.ts';

const csvField = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
const fixed = (v: number) => (Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : '');

export const RUN_OUTPUTS = ['assignments.csv', 'quantification.json', 'metrics.json', 'model'] as const;

export function writeProjection(outDir: string, table: FeatureTable, p: Projection): void {
  mkdirSync(outDir, { recursive: true });
  const tmp = join(outDir, `.run-${process.pid}-${Date.now()}`);
  mkdirSync(join(tmp, 'model'), { recursive: true });
  try {
    const ids = p.manifest.personas.map((x) => x.id);
    const fd = openSync(join(tmp, 'assignments.csv'), 'w');
    try {
      writeSync(fd, [...ASSIGNMENT_COLUMNS, ...ids.map((id) => `score_${id}`)].join(',') + '\n');
      const version = p.manifest.modelVersion;
      let buffer: string[] = [];
      for (let i = 0; i < table.rows; i++) {
        const k = p.assignment.persona[i];
        buffer.push(
          [
            csvField(table.ids[i]),
            k >= 0 ? ids[k] : '',
            fixed(p.assignment.confidence[i]),
            fixed(p.assignment.margin[i]),
            version,
            ...p.probabilities.map((probs) => (probs ? fixed(probs[i]) : '')),
          ].join(','),
        );
        if (buffer.length === 10000) {
          writeSync(fd, buffer.join('\n') + '\n');
          buffer = [];
        }
      }
      if (buffer.length) writeSync(fd, buffer.join('\n') + '\n');
    } finally {
      closeSync(fd);
    }
    writeFileSync(join(tmp, 'quantification.json'), JSON.stringify(p.quantification, null, 2) + '\n');
    writeFileSync(join(tmp, 'metrics.json'), JSON.stringify(p.metrics, null, 2) + '\n');
    writeFileSync(join(tmp, 'model', 'manifest.json'), JSON.stringify(p.manifest, null, 2) + '\n');
    writeFileSync(join(tmp, 'model', 'design.json'), JSON.stringify(p.encoding, null, 2) + '\n');
    for (const m of p.models) {
      writeFileSync(join(tmp, 'model', `${m.id}.json`), JSON.stringify({ persona: m.id, c: m.c, features: m.features, model: m.model.toJSON() }) + '\n');
    }
    for (const name of RUN_OUTPUTS) {
      const target = join(outDir, name);
      if (existsSync(target)) {
        const old = join(tmp, `${name}.old`);
        renameSync(target, old);
      }
      renameSync(join(tmp, name), target);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
