// Writing a projection's artefacts (artefacts.ts): assignments.csv, quantification.json,
// metrics.json and model/ (manifest + one model per trained persona + the design encoding).
// Everything is written into a temporary folder beside the output directory, then moved into
// place file by file, so a failed run never leaves a user's previous outputs half replaced.
import { existsSync, mkdirSync, openSync, closeSync, writeSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FeatureTable } from '../../features/table.ts';
import { ASSIGNMENT_COLUMNS, type Quantification } from '../artefacts.ts';
import type { Assignment } from './assign.ts';
import type { Projection } from './project.ts';

const csvField = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
const fixed = (v: number) => (Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : '');

export const RUN_OUTPUTS = ['assignments.csv', 'quantification.json', 'metrics.json', 'model'] as const;
export type RunOutput = (typeof RUN_OUTPUTS)[number];

/** assignments.csv (contract section 3) into an open file. */
function writeAssignmentRows(fd: number, customerIds: readonly string[], personaIds: string[], assignment: Assignment, probabilities: (Float64Array | null)[], version: string): void {
  writeSync(fd, [...ASSIGNMENT_COLUMNS, ...personaIds.map((id) => `score_${id}`)].join(',') + '\n');
  let buffer: string[] = [];
  for (let i = 0; i < customerIds.length; i++) {
    const k = assignment.persona[i];
    buffer.push(
      [
        csvField(customerIds[i]),
        k >= 0 ? personaIds[k] : '',
        fixed(assignment.confidence[i]),
        fixed(assignment.margin[i]),
        version,
        ...probabilities.map((probs) => (probs ? fixed(probs[i]) : '')),
      ].join(','),
    );
    if (buffer.length === 10000) {
      writeSync(fd, buffer.join('\n') + '\n');
      buffer = [];
    }
  }
  if (buffer.length) writeSync(fd, buffer.join('\n') + '\n');
}

/** Writes `files` (name -> writer into a path) into a scratch folder, then moves each into outDir. */
function publish(outDir: string, files: [string, (path: string) => void][]): void {
  mkdirSync(outDir, { recursive: true });
  const tmp = join(outDir, `.run-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  try {
    for (const [name, write] of files) write(join(tmp, name));
    for (const [name] of files) {
      const target = join(outDir, name);
      if (existsSync(target)) renameSync(target, join(tmp, `${name}.old`));
      renameSync(join(tmp, name), target);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const json = (value: unknown) => (path: string) => writeFileSync(path, JSON.stringify(value, null, 2) + '\n');

/** Writes a projection's artefacts (all of RUN_OUTPUTS unless `only` names some). */
export function writeProjection(outDir: string, table: FeatureTable, p: Projection, only: readonly RunOutput[] = RUN_OUTPUTS): void {
  const writers: Record<RunOutput, (path: string) => void> = {
    'assignments.csv': (path) => {
      const fd = openSync(path, 'w');
      try {
        writeAssignmentRows(fd, table.ids, p.manifest.personas.map((x) => x.id), p.assignment, p.probabilities, p.manifest.modelVersion);
      } finally {
        closeSync(fd);
      }
    },
    'quantification.json': json(p.quantification),
    'metrics.json': json(p.metrics),
    model: (dir) => {
      mkdirSync(dir);
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(p.manifest, null, 2) + '\n');
      writeFileSync(join(dir, 'design.json'), JSON.stringify(p.encoding, null, 2) + '\n');
      for (const m of p.models) {
        writeFileSync(join(dir, `${m.id}.json`), JSON.stringify({ persona: m.id, c: m.c, features: m.features, model: m.model.toJSON() }) + '\n');
      }
    },
  };
  publish(outDir, only.map((name) => [name, writers[name]]));
}

/** Writes the assignments and quantification of customers scored by a saved model (`personas score`). */
export function writeScores(outDir: string, customerIds: readonly string[], modelVersion: string, personaIds: string[], probabilities: Float64Array[], assignment: Assignment, quantification: Quantification): void {
  publish(outDir, [
    [
      'assignments.csv',
      (path) => {
        const fd = openSync(path, 'w');
        try {
          writeAssignmentRows(fd, customerIds, personaIds, assignment, probabilities, modelVersion);
        } finally {
          closeSync(fd);
        }
      },
    ],
    ['quantification.json', json(quantification)],
  ]);
}
