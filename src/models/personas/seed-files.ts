// The seed artefacts `personas seed` writes and `personas train` reads: seeds.csv (one row per
// seed: customer_id, persona) and seeds.json (per persona: rule matches, seeds, overlaps with the
// other personas' rules, resolved thresholds, the rule's features, status and reason).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../errors.ts';
import type { FeatureTable } from '../../features/table.ts';
import { OVERLAP_POLICY, type PersonaSeeds } from './seeds.ts';

export const SEEDS_FORMAT = 'personas-seeds/1';

const SeedReportSchema = z.object({
  format: z.literal(SEEDS_FORMAT),
  customers: z.number().int().nonnegative(),
  overlapPolicy: z.string(),
  personas: z.array(
    z.object({
      id: z.string(),
      ruleMatches: z.number().int().nonnegative(),
      seeds: z.number().int().nonnegative(),
      overlaps: z.record(z.string(), z.number().int()),
      thresholds: z.array(z.object({ feature: z.string(), spec: z.string(), value: z.number() })),
      ruleFeatures: z.array(z.string()),
      status: z.enum(['ok', 'skipped']),
      reason: z.string().optional(),
    }),
  ),
});
export type SeedReport = z.infer<typeof SeedReportSchema>;

const csvField = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

/** Writes seeds.csv and seeds.json into `dir`; returns the report. */
export function writeSeeds(dir: string, table: FeatureTable, seeds: PersonaSeeds[]): SeedReport {
  const report: SeedReport = {
    format: SEEDS_FORMAT,
    customers: table.rows,
    overlapPolicy: OVERLAP_POLICY,
    personas: seeds.map(({ mask: _mask, ...rest }) => rest),
  };
  const lines = ['customer_id,persona'];
  for (const s of seeds) for (let i = 0; i < table.rows; i++) if (s.mask[i]) lines.push(`${csvField(table.ids[i])},${s.id}`);
  writeFileSync(join(dir, 'seeds.csv'), lines.join('\n') + '\n');
  writeFileSync(join(dir, 'seeds.json'), JSON.stringify(report, null, 2) + '\n');
  return report;
}

/** Splits one CSV line (RFC 4180 quotes). */
function csvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

/**
 * Reads the seeds `personas seed` wrote into `dir` back onto a feature table: one PersonaSeeds
 * per entry of seeds.json, masks from seeds.csv. A seed whose customer is not in the table, or a
 * persona absent from seeds.json, is an error naming the file and line.
 */
export function readSeeds(dir: string, table: FeatureTable): PersonaSeeds[] {
  const reportPath = join(dir, 'seeds.json');
  const csvPath = join(dir, 'seeds.csv');
  for (const p of [reportPath, csvPath]) if (!existsSync(p)) throw new InputError('INPUT_MISSING_FILE', `${p}: not found (run \`personas seed\` first)`, { file: p });
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(reportPath, 'utf8'));
  } catch (e) {
    throw new InputError('INPUT_INVALID', `${reportPath}: not valid JSON (${(e as Error).message})`, { file: reportPath });
  }
  const parsed = SeedReportSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError('INPUT_INVALID', `${reportPath}: field '${issue.path.join('.') || '(root)'}': ${issue.message}`, { file: reportPath, field: issue.path.join('.') });
  }
  const report = parsed.data;
  const row = new Map<string, number>();
  table.ids.forEach((id, i) => row.set(id, i));
  const masks = new Map(report.personas.map((p) => [p.id, new Uint8Array(table.rows)]));
  const lines = readFileSync(csvPath, 'utf8').split(/\r?\n/);
  const header = csvLine(lines[0] ?? '');
  if (header[0] !== 'customer_id' || header[1] !== 'persona') {
    throw new InputError('INPUT_MISSING_COLUMN', `${csvPath}: the header must be customer_id,persona (got ${lines[0]})`, { file: csvPath });
  }
  for (let l = 1; l < lines.length; l++) {
    if (!lines[l]) continue;
    const [id, persona] = csvLine(lines[l]);
    const i = row.get(id);
    if (i === undefined) throw new InputError('INPUT_INVALID', `${csvPath}: line ${l + 1}: customer '${id}' is not in the feature table`, { file: csvPath, row: l + 1, field: 'customer_id' });
    const mask = masks.get(persona);
    if (!mask) throw new InputError('INPUT_INVALID', `${csvPath}: line ${l + 1}: persona '${persona}' is not in seeds.json`, { file: csvPath, row: l + 1, field: 'persona' });
    mask[i] = 1;
  }
  return report.personas.map((p) => {
    const mask = masks.get(p.id)!;
    let seeds = 0;
    for (const v of mask) seeds += v;
    return { ...p, mask, seeds };
  });
}
