// The REST API: persona labels for CRM systems, on-the-fly scoring of new customers, and the
// model registry, under /v1. Every input goes through a zod schema; every error is problem+json.
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type Request, type Response } from 'express';
import type { z } from 'zod';
import { PersonasError } from '../errors.ts';
import type { FeatureTable } from '../features/table.ts';
import type { SavedProjection } from '../models/personas/index.ts';
import {
  activateVersion, activeVersion, assignmentHeader, assignmentLine, labelChanges, labelPage, listVersions, modelChanges, loadVersionModels, lookupLabels, pageEnd, resolveVersion,
  versionDetail, versionReport, type CustomerLabel, type Db,
} from '../store/index.ts';
import { rawFeatures } from './raw-score.ts';
import { LookupCoalescer } from './coalesce.ts';
import type { LabelCache } from './label-cache.ts';
import { authenticator, type AuthOptions } from './auth.ts';
import { openApiDocument } from './openapi.ts';
import { errorHandler, invalid, problem, sendProblem } from './problem.ts';
import { expressPath, type RouteSpec } from './routes.ts';
import * as S from './schemas.ts';
import { renderReportHtml } from '../report/index.ts';
import { RunParams as RunParamsSchema, RunStatusResponse, RunsQuery, RunsResponse } from './schemas.ts';
import { InProcessQueue, RunRequestSchema, runStatus, startRun, type JobQueue, type RunStatus } from '../jobs/index.ts';
import { cancelRun, listRuns, type JobRecord } from '../store/index.ts';

const jobView = (j: JobRecord) => ({
  id: j.id, kind: j.kind, status: j.status, stage: j.stage, percent: j.percent, counts: j.counts, result: j.kind === 'run' ? null : j.result,
  error: j.error, attempts: j.attempts, worker: j.worker, createdAt: j.createdAt, startedAt: j.startedAt, finishedAt: j.finishedAt,
});

export interface AppOptions {
  db: Db;
  /** Where runs started by POST /v1/jobs go (default: run in this process). */
  queue?: JobQueue;
  auth?: AuthOptions;
  /** Largest accepted JSON body (default 2 MB: a 10,000-id batch fits). */
  bodyLimit?: string;
  /** One JSON line per request and per server error; never bodies, ids or keys. Default: none. */
  log?: (line: Record<string, unknown>) => void;
  /**
   * The active version's labels held in memory (started by the caller; `personas serve` does):
   * lookups are answered from it once loaded, from the store otherwise. Default: none.
   */
  labelCache?: LabelCache;
}

const label = (l: CustomerLabel, modelVersion: string) => ({ customerId: l.customerId, persona: l.persona, confidence: l.confidence, margin: l.margin, scores: l.scores, modelVersion });

export function createApp(opts: AppOptions) {
  const { db } = opts;
  const log = opts.log ?? (() => undefined);
  const requireScope = authenticator(db, opts.auth);
  const lookups = new LookupCoalescer(db);
  const cache = opts.labelCache;
  const models = new Map<string, Promise<SavedProjection>>();
  const modelsOf = (version: string) => {
    let m = models.get(version);
    if (!m) {
      m = loadVersionModels(db, version);
      m.catch(() => models.delete(version));
      if (models.size > 4) models.delete(models.keys().next().value!);
      models.set(version, m);
    }
    return m;
  };

  const queue = opts.queue ?? new InProcessQueue(db);
  const runView = (s: RunStatus) => ({
    id: s.run.id,
    status: s.run.status,
    stage: s.run.stage,
    percent: s.percent,
    error: s.run.error,
    version: (s.jobs.find((j) => j.kind === 'assemble')?.result as { version?: string } | null)?.version ?? null,
    stages: s.stages,
    jobs: s.jobs.map(jobView),
    createdAt: s.run.createdAt,
    finishedAt: s.run.finishedAt,
  });

  const routes: RouteSpec[] = [
    {
      method: 'get', path: '/v1/customers/{id}/persona', scope: 'read', tag: 'labels',
      summary: "A customer's persona under the active model version",
      params: S.CustomerParams, response: S.PersonaLabel, problems: [400, 404, 503],
      async handler({ params }) {
        const { version, label: l } = cache?.lookupOne(params.id) ?? (await lookups.lookup(params.id));
        if (!l) throw problem(404, `customer '${params.id}' has no label in model version ${version}`);
        return label(l, version);
      },
    },
    {
      method: 'post', path: '/v1/customers/personas:batch', scope: 'read', tag: 'labels',
      summary: 'Personas of up to 10,000 customers, one result per id in request order',
      body: S.BatchRequest, response: S.BatchResponse, problems: [400, 413, 503],
      async handler({ body }) {
        const { ids } = body as z.infer<typeof S.BatchRequest>;
        const { version, labels } = cache?.lookup(ids) ?? (await lookupLabels(db, [...new Set(ids)], null));
        return { modelVersion: version, results: ids.map((id) => { const l = labels.get(id); return l ? { ...label(l, version), found: true } : { customerId: id, found: false }; }) };
      },
    },
    {
      method: 'post', path: '/v1/score', scope: 'score', tag: 'scoring',
      summary: 'Scores customers that are not in the last batch with the active models, from their feature values or from their raw rows',
      description:
        'Either `customers`: feature records, with the names of the contract\'s catalogue (GET /v1/models/{version} gives the manifest\'s features; numbers for numeric features, text for sex, postcode and segment); ' +
        'or `base`: raw customer, transaction and interaction rows with the contract\'s input columns, whose features are built as the batch builds them (needs a version published with its reference files; 409 otherwise).',
      body: S.ScoreRequest, response: S.ScoreResponse, problems: [400, 409, 413, 503],
      async handler({ body }) {
        const request = body as z.infer<typeof S.ScoreRequest>;
        const version = await activeVersion(db);
        if (!version) throw new PersonasError('NO_ACTIVE_VERSION', 'no model version is active yet: publish one and activate it');
        const model = await modelsOf(version);
        const raw = request.base ? await rawFeatures(db, version, model, request.base) : null;
        const table = raw ? raw.table : tableOf(request.customers!, model);
        const scored = model.score(table);
        return {
          modelVersion: version,
          results: table.ids.map((id, i) => ({
            customerId: raw ? id : (request.customers![i].customer_id ?? null),
            persona: scored.assignment.persona[i] >= 0 ? scored.personas[scored.assignment.persona[i]] : null,
            confidence: scored.assignment.confidence[i],
            margin: scored.assignment.margin[i],
            scores: Object.fromEntries(scored.personas.map((p, k) => [p, scored.probabilities[k][i]])),
            ...(raw ? { features: featureRecord(table, i) } : {}),
          })),
          ...(raw ? { warnings: raw.warnings } : {}),
        };
      },
    },
    {
      method: 'get', path: '/v1/personas', scope: 'read', tag: 'personas',
      summary: 'Persona definitions and sizes under a version (default: active)',
      query: S.VersionQuery, response: S.PersonasResponse, problems: [400, 404, 503],
      async handler({ query }) {
        const d = await versionDetail(db, (query.version as string | undefined) ?? null);
        return {
          modelVersion: d.version,
          personas: d.manifest.personas.map((p) => {
            const q = d.quantification.personas.find((r) => r.persona === p.id);
            const m = d.metrics.personas.find((r) => r.persona === p.id);
            const size = d.evaluation?.sizes.find((z) => z.persona === p.id);
            return {
              id: p.id, label: p.label, description: p.description, status: p.status, reason: p.reason ?? null, threshold: p.threshold ?? null,
              customers: q?.customers ?? 0, share: q?.share ?? 0, revenueShare: q?.revenueShare ?? 0, estimatedPrevalence: q?.estimatedPrevalence ?? null,
              correctedSize: size ? { share: size.corrected, interval: size.interval, knownCustomers: d.evaluation!.matched } : null,
              seeds: m?.seeds ?? null, validationAuc: m?.validationAuc ?? null,
            };
          }),
        };
      },
    },
    {
      method: 'get', path: '/v1/quantification', scope: 'read', tag: 'personas',
      summary: 'Quantification of a version (contract section 3); ?by=segment adds the persona x segment table',
      query: S.QuantificationQuery, response: S.QuantificationResponse, problems: [400, 404, 503],
      async handler({ query }) {
        const d = await versionDetail(db, (query.version as string | undefined) ?? null);
        const { bySegment, ...rest } = d.quantification;
        return query.by === 'segment' ? { ...rest, bySegment } : rest;
      },
    },
    {
      method: 'get', path: '/v1/assignments', scope: 'read', tag: 'labels',
      summary: 'Every label of a version (with ?since=VERSION, only those that changed from it), streamed, a page at a time (cursor in X-Next-Cursor and Link)',
      query: S.AssignmentsQuery, problems: [400, 404, 503],
      response: { contentTypes: { 'application/x-ndjson': 'one JSON label per line', 'text/csv': 'the contract\'s assignment file columns' } },
      async handler({ query }, req, res) {
        const q = query as z.infer<typeof S.AssignmentsQuery>;
        let cursor: string | null = null;
        if (q.cursor !== undefined) {
          cursor = Buffer.from(q.cursor, 'base64url').toString('utf8');
          if (!cursor || cursor.includes('\u0000') || Buffer.from(cursor, 'utf8').toString('base64url') !== q.cursor) throw problem(400, 'invalid query.cursor: use the X-Next-Cursor of a previous page');
        }
        const v = await resolveVersion(db, q.version ?? null);
        const since = q.since === undefined ? null : (await resolveVersion(db, q.since)).version;
        const end = await pageEnd(db, v.version, cursor, q.limit, since);
        res.setHeader('X-Model-Version', v.version);
        res.setHeader('Cache-Control', 'no-store');
        if (end.more && end.last !== null) {
          const next = Buffer.from(end.last, 'utf8').toString('base64url');
          res.setHeader('X-Next-Cursor', next);
          const params = new URLSearchParams({ format: q.format, limit: String(q.limit), cursor: next, ...(q.version ? { version: q.version } : {}), ...(since ? { since } : {}) });
          res.setHeader('Link', `</v1/assignments?${params}>; rel="next"`);
        }
        res.type(q.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
        if (q.format === 'csv') res.write(assignmentHeader(v.personas) + '\n');
        let after = cursor;
        while (end.last !== null && !req.destroyed) {
          const page = await labelPage(db, v.version, after, 5000, end.last, since);
          const text = page.rows.map((r) => (q.format === 'csv' ? assignmentLine(r, v.version, v.personas) : JSON.stringify(label(r, v.version)))).join('\n');
          if (text && !res.write(text + '\n')) await once(res, 'drain');
          if (!page.next) break;
          after = page.next;
        }
        res.end();
        return undefined;
      },
    },
    {
      method: 'get', path: '/v1/report', scope: 'read', tag: 'personas',
      summary: "The consultant's report of a version (default: active) as one offline HTML page",
      query: S.ReportQuery, problems: [400, 404, 503],
      response: { contentTypes: { 'text/html': 'a self-contained page: quantification, portraits, reach vs precision, persona x segment, model quality' } },
      async handler({ query }, _req, res) {
        const q = query as z.infer<typeof S.ReportQuery>;
        const html = renderReportHtml(await versionReport(db, q.version ?? null, q.lang));
        res.setHeader('Cache-Control', 'no-store');
        res.type('html').send(html);
        return undefined;
      },
    },
    {
      method: 'get', path: '/v1/models', scope: 'read', tag: 'models',
      summary: 'Published model versions, newest first, and the active one',
      response: S.ModelsResponse, problems: [503],
      async handler() {
        return { active: await activeVersion(db), models: await listVersions(db) };
      },
    },
    {
      method: 'get', path: '/v1/models/{version}', scope: 'read', tag: 'models',
      summary: "A version's manifest (persona file, features, parameters, code version), metrics, and its check against known customers",
      params: S.VersionParams, response: S.ModelDetailResponse, problems: [400, 404, 503],
      async handler({ params }) {
        const d = await versionDetail(db, params.version);
        return { version: d.version, manifest: d.manifest, metrics: d.metrics, evaluation: d.evaluation };
      },
    },
    {
      method: 'get', path: '/v1/models/{version}/changes', scope: 'read', tag: 'models',
      summary: "How the labels move from another version (default: the active one) to this one: customers per (old label, new label), and per persona kept, joined and left; and what differs in their models: settings, each persona's figures",
      params: S.VersionParams, query: S.ChangesQuery, response: S.ChangesResponse, problems: [400, 404, 503],
      async handler({ params, query }) {
        const labels = await labelChanges(db, (query.from as string | undefined) ?? null, params.version);
        return { ...labels, models: await modelChanges(db, labels.from, labels.to) };
      },
    },
    {
      method: 'post', path: '/v1/models/{version}/activate', scope: 'admin', tag: 'models',
      summary: 'Makes a published version the one served (atomic); the previous one stays for rollback',
      params: S.VersionParams, response: S.ActivateResponse, problems: [400, 404, 503],
      async handler({ params }) {
        const r = await activateVersion(db, params.version);
        await cache?.refresh(); // this server answers from the new version from now on
        log({ level: 'info', msg: 'model version activated', version: r.version, previous: r.previous });
        return r;
      },
    },
    {
      method: 'post', path: '/v1/jobs', scope: 'admin', tag: 'jobs',
      summary: 'Starts a batch run: features, one training job per persona, scoring partitions, publish (and activation)',
      description:
        '`data` is a directory of contract inputs that the workers can read; `personas` a persona file path on the server or its YAML text; ' +
        '`columns` (optional) the column map for client files named or coded otherwise: a path on the server, its YAML or JSON text, or the map itself ' +
        "(`{ customers: { id_client: customer_id }, values: { channel: { Magasin: store } } }`); with `model`, the version's value map applies, with the given one's further values.",
      body: RunRequestSchema, response: RunStatusResponse, problems: [400, 503],
      async handler({ body }, _req, res) {
        const s = await startRun(db, queue, body as z.infer<typeof RunRequestSchema>);
        log({ level: 'info', msg: 'run started', run: s.run.id, queue: queue.kind });
        res.status(202).setHeader('Location', `/v1/jobs/${s.run.id}`);
        return runView(s);
      },
    },
    {
      method: 'get', path: '/v1/jobs', scope: 'read', tag: 'jobs',
      summary: 'Recent runs, newest first', query: RunsQuery, response: RunsResponse, problems: [400, 503],
      async handler({ query }) {
        return { runs: (await listRuns(db, query.limit as number)).map(jobView) };
      },
    },
    {
      method: 'get', path: '/v1/jobs/{id}', scope: 'read', tag: 'jobs',
      summary: 'A run: status, stage, percent, its jobs with their progress, attempts and errors', params: RunParamsSchema, response: RunStatusResponse, problems: [400, 404, 503],
      async handler({ params }) {
        return runView(await runStatus(db, params.id));
      },
    },
    {
      method: 'post', path: '/v1/jobs/{id}/cancel', scope: 'admin', tag: 'jobs',
      summary: 'Cancels a run; a version it had started is dropped and the active version is untouched', params: RunParamsSchema, response: RunStatusResponse, problems: [400, 404, 409, 503],
      async handler({ params }) {
        await cancelRun(db, params.id);
        return runView(await runStatus(db, params.id));
      },
    },
    {
      method: 'get', path: '/healthz', scope: null, tag: 'operations',
      summary: 'Liveness: the process answers', response: S.Health, problems: [],
      async handler() {
        return { status: 'ok' };
      },
    },
    {
      method: 'get', path: '/readyz', scope: null, tag: 'operations',
      summary: 'Readiness: the store answers and a version is active (503 otherwise)', response: S.Ready, problems: [503],
      async handler(_, __, res) {
        try {
          const v = await activeVersion(db);
          if (!v) res.status(503);
          return {
            status: v ? 'ready' : 'not ready', activeVersion: v, store: db.kind,
            ...(cache ? { labelCache: cache.status() } : {}),
            ...(v ? {} : { reason: 'no model version is active' }),
          };
        } catch {
          res.status(503);
          return { status: 'not ready', activeVersion: null, store: db.kind, reason: 'the store does not answer' };
        }
      },
    },
  ];

  const app = express();
  app.disable('x-powered-by');
  // No ETag: labels are not cacheable (Cache-Control: no-store) and hashing a 10,000-result
  // batch for one costs more than it could save.
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use((req, res, next) => {
    const start = process.hrtime.bigint();
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.on('finish', () => {
      log({ level: 'info', method: req.method, route: req.route?.path ?? null, status: res.statusCode, ms: Number(process.hrtime.bigint() - start) / 1e6, key: res.locals.keyId ?? null });
    });
    next();
  });
  app.use(express.json({ limit: opts.bodyLimit ?? '2mb', strict: true, type: () => true }));

  for (const r of routes) {
    const handlers = [
      ...(r.scope ? [requireScope(r.scope)] : []),
      async (req: Request, res: Response) => {
        const input = {
          params: parse(r.params, req.params, 'path'),
          query: parse(r.query, req.query ?? {}, 'query', !r.query),
          body: r.body ? parse(r.body, req.body, 'body') : undefined,
        };
        const out = await r.handler(input as { params: Record<string, string>; query: Record<string, unknown>; body: unknown }, req, res);
        if (out !== undefined) {
          if (r.path.startsWith('/v1/customers') || r.path === '/v1/score') res.setHeader('Cache-Control', 'no-store');
          res.json(out);
        }
      },
    ];
    app[r.method](expressPath(r.path), ...handlers);
  }

  const spec = openApiDocument(routes);
  app.get('/v1/openapi.json', (_req, res) => {
    res.json(spec);
  });
  const swaggerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  app.get(['/v1/docs', '/v1/docs/'], (req, res) => {
    if (!req.path.endsWith('/')) return res.redirect(301, '/v1/docs/');
    res.type('html').send(DOCS_PAGE);
  });
  app.get('/v1/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(DOCS_INIT);
  });
  app.use('/v1/docs', express.static(swaggerDir, { index: false }));

  app.use((req, res) => {
    const known = routes.filter((r) => new RegExp(`^${r.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(req.path));
    if (known.length) {
      res.setHeader('Allow', known.map((r) => r.method.toUpperCase()).join(', '));
      return sendProblem(res, problem(405, `${req.method} is not allowed on ${req.path}; use ${known.map((r) => r.method.toUpperCase()).join(' or ')}`));
    }
    sendProblem(res, problem(404, `no route ${req.method} ${req.path}; the API is described at /v1/openapi.json`));
  });
  app.use(errorHandler(log));
  return app;
}

/** The path of the first text holding a NUL character (PostgreSQL text cannot hold one), or null. */
function nulAt(value: unknown, path: string): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = nulAt(value[i], `${path}.${i}`);
      if (p) return p;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = k.includes('\u0000') ? `${path}.${k}` : nulAt(v, `${path}.${k}`);
      if (p) return p;
    }
  }
  return null;
}

function parse(schema: z.ZodType | undefined, value: unknown, where: string, mustBeEmpty = false): unknown {
  const nul = nulAt(value, where);
  if (nul) throw problem(400, `invalid ${nul}: text must not contain NUL characters`, { errors: [{ path: nul, message: 'NUL character' }] });
  if (!schema) {
    if (mustBeEmpty && value && typeof value === 'object' && Object.keys(value).length) {
      throw problem(400, `invalid ${where}: this route takes no ${where} parameters (got ${Object.keys(value).slice(0, 5).join(', ')})`);
    }
    return value;
  }
  const r = schema.safeParse(value);
  if (!r.success) throw invalid(where, r.error);
  return r.data;
}

/** Row `i` of a feature table as a record (missing values as null). */
function featureRecord(table: FeatureTable, i: number): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = {};
  table.numericNames.forEach((name, k) => (out[name] = Number.isNaN(table.numeric[k][i]) ? null : table.numeric[k][i]));
  table.categoricalNames.forEach((name, k) => (out[name] = table.categorical[k][i]));
  return out;
}

/** A feature table from API records, under a version's encoding; unknown names are refused. */
function tableOf(customers: S.FeatureRecordsInput, model: SavedProjection): FeatureTable {
  const e = model.encoding;
  const categoricalNames = [...(e.sex ? ['sex'] : []), ...(e.department ? ['postcode'] : []), ...e.levels.map((l) => l.feature)];
  const known = new Set([...e.numeric, ...categoricalNames]);
  const errors: { path: string; message: string }[] = [];
  customers.forEach((c, i) => {
    for (const [name, v] of Object.entries(c.features)) {
      const path = `body.customers.${i}.features.${name}`;
      if (!known.has(name)) errors.push({ path, message: 'unknown feature' });
      else if (v !== null && e.numeric.includes(name) && typeof v !== 'number') errors.push({ path, message: 'expected a number or null' });
      else if (v !== null && categoricalNames.includes(name) && typeof v !== 'string') errors.push({ path, message: 'expected text or null' });
    }
  });
  if (errors.length) {
    const unknown = errors.some((x) => x.message === 'unknown feature');
    throw problem(400, `invalid body: ${errors.slice(0, 5).map((x) => `${x.path}: ${x.message}`).join('; ')}${unknown ? `. Known features: ${[...known].join(', ')}` : ''}`, { errors: errors.slice(0, 50) });
  }
  const n = customers.length;
  return {
    rows: n,
    ids: customers.map((c, i) => c.customer_id ?? `#${i}`),
    numericNames: e.numeric,
    numeric: e.numeric.map((name) => Float32Array.from(customers, (c) => (typeof c.features[name] === 'number' ? (c.features[name] as number) : NaN))),
    categoricalNames,
    categorical: categoricalNames.map((name) => customers.map((c) => (typeof c.features[name] === 'string' ? (c.features[name] as string) : null))),
  };
}

const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>personas API</title>
<link rel="stylesheet" href="/v1/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/v1/docs/swagger-ui-bundle.js"></script>
<script src="/v1/docs/init.js"></script></body></html>`;

const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: '/v1/openapi.json', dom_id: '#swagger-ui', deepLinking: true });`;
