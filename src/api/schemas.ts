// Every request and response body of the API as zod schemas: requests are validated with them,
// and the OpenAPI document (openapi.ts) is generated from them, so the two cannot drift apart.
import { z } from 'zod';
import { QuantificationSchema } from '../models/artefacts.ts';

export const CustomerId = z.string().min(1).max(200).describe('The client\'s customer_id');
export const ModelVersion = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/).describe('A model version id, e.g. 20261122T153700Z-1a2b3c4d');

export const Scores = z.record(z.string(), z.number()).describe('Calibrated probability of every trained persona');

export const PersonaLabel = z.object({
  customerId: CustomerId,
  persona: z.string().nullable().describe('The assigned persona, null when no persona is confident enough'),
  confidence: z.number().describe('Probability of the assigned (or best) persona'),
  margin: z.number().describe('Best probability minus the runner-up'),
  scores: Scores,
  modelVersion: ModelVersion,
});

export const BatchRequest = z.object({ ids: z.array(CustomerId).min(1).max(10_000) }).strict();
export const BatchResult = z.union([
  PersonaLabel.extend({ found: z.literal(true) }),
  z.object({ customerId: CustomerId, found: z.literal(false) }),
]);
export const BatchResponse = z.object({ modelVersion: ModelVersion, results: z.array(BatchResult).describe('One result per requested id, in request order') });

const FeatureValue = z.union([z.number(), z.string().max(200), z.null()]);
const FeatureRecords = z
  .array(
    z
      .object({
        customer_id: z.string().max(200).optional(),
        features: z.record(z.string().max(100), FeatureValue).describe('Feature values by contract name (numbers; text for sex, postcode, segment); a missing feature is a missing value'),
      })
      .strict(),
  )
  .min(1)
  .max(1000)
  .describe('New customers as feature records');
const RawValue = z.union([z.number(), z.string().max(500), z.boolean(), z.null()]);
const rawRows = (what: string, required: string[], max: number) =>
  z
    .array(
      z
        .record(z.string().min(1).max(100), RawValue)
        .refine((r) => required.every((c) => r[c] !== undefined && r[c] !== null && r[c] !== ''), { message: `each ${what} row needs ${required.join(', ')}` }),
    )
    .max(max)
    .describe(`${what} rows with the columns of the contract's ${what} file (CONTRACT.md section 1${what === 'transactions' ? '; with `order_id`, order lines: one purchase per order' : ''})`);
const RawBase = z
  .object({
    customers: rawRows('customers', ['customer_id'], 100).min(1),
    // order_id (optional): purchases as order lines, one purchase per order, as the batch reads them.
    transactions: rawRows('transactions', ['customer_id', 'ts', 'amount'], 20_000).default([]),
    interactions: rawRows('interactions', ['customer_id', 'ts', 'type'], 20_000).default([]),
  })
  .strict()
  .describe('New customers as raw rows: their features are built by the batch pipeline, at the version\'s as-of date, with the reference files (INSEE tiles, first names, postcodes) the version was published with');
/** Either feature records (`customers`) or raw rows (`base`); one object, so errors keep their paths. */
export const ScoreRequest = z
  .object({ customers: FeatureRecords.optional(), base: RawBase.optional() })
  .strict()
  .refine((b) => (b.customers === undefined) !== (b.base === undefined), { message: 'give either `customers` (feature records) or `base` (raw customer, transaction and interaction rows), not both' });
export type FeatureRecordsInput = z.infer<typeof FeatureRecords>;
export type RawBaseInput = z.infer<typeof RawBase>;
export const ScoreResponse = z.object({
  modelVersion: ModelVersion,
  results: z.array(
    z.object({
      customerId: z.string().nullable(),
      persona: z.string().nullable(),
      confidence: z.number(),
      margin: z.number(),
      scores: Scores,
      features: z.record(z.string(), z.union([z.number(), z.string(), z.null()])).optional().describe('With raw rows: the features built for the customer (missing values as null)'),
    }),
  ),
  warnings: z.array(z.object({ path: z.string(), reason: z.string() })).optional().describe('With raw rows: rows kept with a repaired field, and the features the model reads that the rows do not hold (a client column not sent: read as missing)'),
});

export const PersonaInfo = z.object({
  id: z.string(),
  label: z.string(),
  description: z.string(),
  status: z.enum(['trained', 'skipped']),
  reason: z.string().nullable(),
  threshold: z.number().nullable(),
  customers: z.number().int(),
  share: z.number(),
  revenueShare: z.number(),
  estimatedPrevalence: z.number().nullable(),
  correctedSize: z
    .object({ share: z.number(), interval: z.tuple([z.number(), z.number()]), knownCustomers: z.number().int() })
    .nullable()
    .describe("The share of the base the persona holds, its estimated prevalence corrected by customers drawn at random whose persona is known, with its 95 % interval (personas evaluate --random-sample); null when the version was not checked against such a sample"),
  seeds: z.number().int().nullable(),
  validationAuc: z.number().nullable(),
});
export const PersonasResponse = z.object({ modelVersion: ModelVersion, personas: z.array(PersonaInfo) });

export const VersionQuery = z.object({ version: ModelVersion.optional().describe('A published version (default: the active one)') }).strict();
export const QuantificationQuery = VersionQuery.extend({ by: z.enum(['segment']).optional().describe('`segment`: add the persona x segment cross-table') }).strict();
export const AssignmentsQuery = VersionQuery.extend({
  format: z.enum(['ndjson', 'csv']).default('ndjson'),
  cursor: z.string().max(400).optional().describe('The X-Next-Cursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
  since: ModelVersion.optional().describe('Only the customers whose persona differs from their label in this version, or who have none there (a CRM\'s update since it last imported)'),
}).strict();

export const QuantificationResponse = QuantificationSchema.extend({
  modelVersion: ModelVersion,
  bySegment: QuantificationSchema.shape.bySegment.optional().describe('With ?by=segment: customers per persona x segment'),
});

export const ModelSummary = z.object({
  version: ModelVersion,
  status: z.enum(['ready', 'active', 'retired']),
  personaFileSha: z.string(),
  personas: z.array(z.string()),
  customers: z.number().int(),
  createdAt: z.string(),
  publishedAt: z.string(),
  activatedAt: z.string().nullable(),
});
export const ModelsResponse = z.object({ active: ModelVersion.nullable(), models: z.array(ModelSummary) });
export const ModelDetailResponse = z.object({
  version: ModelVersion,
  manifest: z.record(z.string(), z.unknown()).describe('The run manifest (model/manifest.json)'),
  metrics: z.record(z.string(), z.unknown()).describe('metrics.json of the run'),
  evaluation: z.record(z.string(), z.unknown()).nullable().describe('Its labels checked against customers whose persona is known (evaluation.json, personas evaluate), or null'),
});
const PersonaFigures = z
  .object({
    status: z.enum(['trained', 'skipped']),
    seeds: z.number().int(),
    validationAuc: z.number().nullable(),
    estimatedC: z.number().nullable(),
    threshold: z.number().nullable(),
    expectedPrecision: z.number().nullable(),
    coverage: z.number().describe('Share of the base assigned to the persona'),
    estimatedPrevalence: z.number().nullable().describe("The persona's estimated share of the base"),
  })
  .nullable()
  .describe("The persona's figures in that version (metrics.json); null where it has no such persona");
const KnownFigures = z
  .object({ file: z.string(), matched: z.number().int(), coverage: z.number(), precision: z.number().nullable(), macroF1: z.number().nullable() })
  .nullable()
  .describe("The version's check against known customers (personas evaluate), in brief; null where it has none");
export const ModelChangesSchema = z.object({
  from: ModelVersion,
  to: ModelVersion,
  known: z.object({ from: KnownFigures, to: KnownFigures }),
  settings: z.array(z.object({ setting: z.string(), from: z.string(), to: z.string() })).describe('The settings of the two runs that differ (persona file, as_of, seed, learner, known customers learnt from, target precision, min margin, customers, training customers, code version, features)'),
  personas: z.array(z.object({
    persona: z.string(),
    from: PersonaFigures,
    to: PersonaFigures,
    definition: z.array(z.string()).describe("The fields of the persona's entry in the persona file that differ (key_drivers, threshold...)"),
  })),
});
export const ChangesQuery = z.object({ from: ModelVersion.optional().describe('The version the labels change from (default: the active one)') }).strict();
const Label = z.string().nullable().describe('A persona, null for unassigned');
export const ChangesResponse = z.object({
  from: ModelVersion,
  to: ModelVersion,
  customers: z.object({
    both: z.number().int().describe('Customers labelled by both versions: the changes are counted over them'),
    onlyFrom: z.number().int(),
    onlyTo: z.number().int(),
  }),
  unchanged: z.number().int().describe('Customers of both versions with the same label (both unassigned included)'),
  unchangedShare: z.number(),
  transitions: z.array(z.object({ from: Label, to: Label, customers: z.number().int() })).describe('Customers per (label in `from`, label in `to`), most first'),
  personas: z.array(z.object({
    persona: z.string(),
    from: z.number().int(),
    to: z.number().int(),
    kept: z.number().int(),
    joined: z.number().int().describe('Labelled with it by `to` only'),
    left: z.number().int().describe('Labelled with it by `from` only'),
  })),
  models: ModelChangesSchema.describe("What differs in the two versions' models: the settings and each persona's figures"),
});
export const ActivateResponse = z.object({ version: ModelVersion, previous: ModelVersion.nullable() });
export const VersionParams = z.object({ version: ModelVersion }).strict();
export const CustomerParams = z.object({ id: CustomerId }).strict();

export const Health = z.object({ status: z.literal('ok') });
export const Ready = z.object({
  status: z.enum(['ready', 'not ready']),
  activeVersion: z.string().nullable(),
  store: z.string(),
  labelCache: z
    .object({
      state: z.enum(['off', 'no active version', 'loading', 'ready', 'too large', 'failed']),
      version: z.string().nullable().describe('the active version as this server last read it'),
      rows: z.number().int().describe('labels held in memory'),
    })
    .optional()
    .describe("the server's in-memory copy of the active version's labels (personas serve); lookups go to the store unless it is ready"),
  reason: z.string().optional(),
});

export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type ProblemBody = z.infer<typeof Problem>;

export const JobInfo = z.object({
  id: z.string(),
  kind: z.string(),
  status: z.enum(['queued', 'running', 'done', 'failed', 'cancelled']),
  stage: z.string().nullable(),
  percent: z.number(),
  counts: z.record(z.string(), z.number()),
  result: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
  attempts: z.number().int(),
  worker: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export const RunStatusResponse = z.object({
  id: z.string(),
  status: z.enum(['queued', 'running', 'done', 'failed', 'cancelled']),
  stage: z.string().nullable(),
  percent: z.number().describe('Weighted progress of the whole run'),
  error: z.string().nullable(),
  version: z.string().nullable().describe('The model version the run made, once assembled'),
  stages: z.array(z.object({ stage: z.string(), jobs: z.number().int(), done: z.number().int(), running: z.number().int(), failed: z.number().int(), percent: z.number() })),
  jobs: z.array(JobInfo),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export const RunsResponse = z.object({ runs: z.array(JobInfo) });
export const RunParams = z.object({ id: z.string().regex(/^run-[0-9TZ]+-[0-9a-f]+$/) }).strict();
export const RunsQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) }).strict();
export const ReportQuery = VersionQuery.extend({ lang: z.enum(['en', 'fr']).default('en') }).strict();
