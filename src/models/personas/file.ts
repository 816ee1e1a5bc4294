// The persona file (CONTRACT.md "personas"): YAML validated with zod. Every error names the
// persona and the path in the file (`personas[2].key_drivers.all[0].age.between`) and says what
// was expected.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { PersonaFileError } from '../../errors.ts';
import { LEARNER_KINDS, type LearnerKind } from '../learner.ts';

const PERCENTILE = /^p(\d{1,2}(?:\.\d+)?|100)$/;
const MULTIPLE = /^(\d+(?:\.\d+)?)\s*x\s*(mean|median)$/;

const NUMERIC_EXPECTED = 'expected a number, pNN (a percentile such as p90) or "Kx mean" / "Kx median" (such as 3x mean)';

/** What a value a consultant wrote most likely meant, for the error (the file itself is read as the contract says). */
function numericHint(text: string): string {
  const s = text.trim();
  if (/^-?\d+,\d+$/.test(s)) return `: "${s}" has a decimal comma, write ${s.replace(',', '.')}`;
  const percent = /^(-?\d+(?:[.,]\d+)?)\s*%$/.exec(s);
  if (percent) return `: write a share as a number from 0 to 1 (${s} is ${Number(percent[1].replace(',', '.')) / 100})`;
  if (/^P\d/.test(s) && PERCENTILE.test(s.toLowerCase())) return `: write the percentile in lower case, ${s.toLowerCase()}`;
  const words = /^(\d+(?:[.,]\d+)?)\s*(?:x|×|fois)\s*(?:la\s+|le\s+|the\s+)?(moyenne|average|avg|m[ée]diane|mean|median)$/i.exec(s);
  if (words) return `: write ${words[1].replace(',', '.')}x ${/^m[ée]dian/i.test(words[2]) ? 'median' : 'mean'}`;
  return '';
}

/** A numeric rule value: a number, `pNN` (percentile) or `Kx mean` / `Kx median`. */
export const NumericValueSchema = z.union([
  z.number(),
  z.string().superRefine((s, ctx) => {
    if (!PERCENTILE.test(s.trim()) && !MULTIPLE.test(s.trim())) ctx.addIssue({ code: 'custom', message: NUMERIC_EXPECTED + numericHint(s) });
  }),
]);
export type NumericValue = z.infer<typeof NumericValueSchema>;

const Scalar = z.union([z.string(), z.number()]);

export const ConditionSchema = z
  .object({
    eq: Scalar.optional(),
    ne: Scalar.optional(),
    in: z.array(Scalar).min(1).optional(),
    not_in: z.array(Scalar).min(1).optional(),
    prefix: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
    gt: NumericValueSchema.optional(),
    gte: NumericValueSchema.optional(),
    lt: NumericValueSchema.optional(),
    lte: NumericValueSchema.optional(),
    between: z.tuple([NumericValueSchema, NumericValueSchema]).optional(),
    is_missing: z.boolean().optional(),
  })
  .strict()
  .refine((c) => Object.keys(c).length > 0, { message: 'expected at least one operator (eq, ne, in, not_in, prefix, gt, gte, lt, lte, between, is_missing)' });
export type Condition = z.infer<typeof ConditionSchema>;

export type Rule = { all: Rule[] } | { any: Rule[] } | { [feature: string]: Condition };

export const RuleSchema: z.ZodType<Rule> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(RuleSchema).min(1) }).strict(),
    z.object({ any: z.array(RuleSchema).min(1) }).strict(),
    z
      .record(z.string(), ConditionSchema)
      .refine((r) => Object.keys(r).length === 1 && !('all' in r) && !('any' in r), {
        message: 'expected { all: [...] }, { any: [...] } or one feature with its condition, e.g. { age: { between: [45, 55] } }',
      }),
  ]),
);

/** `model: { kind, params }`: the learner of every persona (learner.ts LEARNER_KINDS; default gbdt). */
export const LearnerChoiceSchema = z
  .object({ kind: z.enum(LEARNER_KINDS).default('gbdt'), params: z.record(z.string(), z.unknown()).default({}) })
  .strict();

/** The persona file with its learner kind replaced (`--learner KIND` on the command line); its params are kept. */
export function withLearner(file: LoadedPersonaFile, kind: LearnerKind | undefined): LoadedPersonaFile {
  if (!kind) return file;
  return { ...file, spec: specWithLearner(file.spec, kind) };
}

/** A persona file's spec with `kind` as its learner (its model params kept). */
export function specWithLearner(spec: PersonaFile, kind: LearnerKind | undefined): PersonaFile {
  return kind ? { ...spec, model: { kind, params: spec.model?.params ?? {} } } : spec;
}

export const PersonaSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9_]+$/, { message: 'expected an id of lower-case letters, digits and _' }),
    label: z.string().min(1),
    description: z.string().default(''),
    key_drivers: RuleSchema,
    min_seeds: z.number().int().positive().default(200),
    threshold: z.union([z.literal('auto'), z.number().gt(0).lt(1)]).default('auto'),
    model: LearnerChoiceSchema.optional(),
  })
  .strict();
export type Persona = z.infer<typeof PersonaSchema>;

export const PersonaFileSchema = z
  .object({
    as_of: z
      .union([z.string(), z.date()])
      .transform((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v))
      .refine((v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)), { message: 'expected a date YYYY-MM-DD' })
      .optional(),
    personas: z.array(PersonaSchema).min(1),
    assignment: z
      .object({
        target_precision: z.number().gt(0).lt(1).default(0.9),
        min_margin: z.number().min(0).lt(1).default(0.1),
      })
      .strict()
      .default({ target_precision: 0.9, min_margin: 0.1 }),
    model: LearnerChoiceSchema.optional(),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.personas.forEach((p, i) => {
      if (seen.has(p.id)) ctx.addIssue({ code: 'custom', path: ['personas', i, 'id'], message: `duplicate persona id "${p.id}" (also personas[${seen.get(p.id)}])` });
      seen.set(p.id, i);
    });
  });
export type PersonaFile = z.infer<typeof PersonaFileSchema>;

export interface LoadedPersonaFile {
  path: string;
  content: string;
  sha256: string;
  spec: PersonaFile;
}

/** `personas[2].key_drivers.all[0].age.between` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '');
}

/** Parses and validates persona-file text; `source` names it in errors. */
export function parsePersonaFile(content: string, source = 'personas.yaml'): PersonaFile {
  let raw: unknown;
  try {
    raw = parseYaml(content);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    throw new PersonaFileError('PERSONA_FILE_INVALID', `${source}: not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`, { file: source });
  }
  const parsed = PersonaFileSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const messages = parsed.error.issues.slice(0, 10).map((issue) => {
    const path = formatPath(issue.path);
    const i = issue.path[0] === 'personas' && typeof issue.path[1] === 'number' ? issue.path[1] : undefined;
    const id = i !== undefined && raw && typeof raw === 'object' ? (raw as { personas?: { id?: unknown }[] }).personas?.[i]?.id : undefined;
    const persona = id !== undefined ? ` (persona "${String(id)}")` : '';
    // `{ gte: 0,3 }`: in braces, YAML reads a decimal comma as a second key, "3".
    const comma = issue.code === 'unrecognized_keys' && issue.keys.every((k) => /^\d+$/.test(k)) ? ' (a decimal comma in { } cuts a number in two: write 0.3, not 0,3)' : '';
    return `${path || '(root)'}${persona}: ${issue.message}${comma}`;
  });
  throw new PersonaFileError('PERSONA_FILE_INVALID', `${source}: ${messages.join('; ')}`, {
    file: source,
    issues: parsed.error.issues.map((x) => ({ path: formatPath(x.path), message: x.message })),
  });
}

export function loadPersonaFile(path: string): LoadedPersonaFile {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PersonaFileError('PERSONA_FILE_INVALID', `${path}: cannot read the persona file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { file: path });
  }
  return { path, content, sha256: createHash('sha256').update(content).digest('hex'), spec: parsePersonaFile(content, path) };
}

export { PERCENTILE, MULTIPLE };
