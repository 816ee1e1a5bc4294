// The OpenAPI 3.1 document, generated from the route table and its zod schemas.
import { z } from 'zod';
import { version } from '../version.ts';
import type { RouteSpec } from './routes.ts';
import { Problem } from './schemas.ts';

type Json = Record<string, unknown>;

function schemaOf(s: z.ZodType, io: 'input' | 'output'): Json {
  const json = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  delete json.$schema;
  return json;
}

const problemRef = { $ref: '#/components/schemas/Problem' };

export function openApiDocument(routes: RouteSpec[]): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const parameters: Json[] = [];
    for (const [where, obj] of [['path', r.params], ['query', r.query]] as const) {
      if (!obj) continue;
      const shape = schemaOf(obj, 'input') as { properties?: Record<string, Json>; required?: string[] };
      for (const [name, schema] of Object.entries(shape.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (shape.required ?? []).includes(name), schema, ...(schema.description ? { description: schema.description } : {}) });
      }
    }
    const statuses = [...new Set([...(r.scope ? [401, 403, 429] : []), ...r.problems, 500])].sort();
    const responses: Record<string, Json> = {
      200: 'contentTypes' in r.response
        ? { description: 'OK', content: Object.fromEntries(Object.entries(r.response.contentTypes).map(([type, description]) => [type, { schema: { type: 'string', description } }])) }
        : { description: 'OK', content: { 'application/json': { schema: schemaOf(r.response as z.ZodType, 'output') } } },
    };
    for (const s of statuses) responses[s] = { description: `problem (${s})`, content: { 'application/problem+json': { schema: problemRef } } };
    (paths[r.path] ??= {})[r.method] = {
      operationId: `${r.method}${r.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      security: r.scope ? [{ bearer: [r.scope] }] : [],
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } } } : {}),
      responses,
      ...(r.scope ? { 'x-required-scope': r.scope } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'personas API',
      version,
      description: 'Persona labels for CRM systems, on-the-fly scoring, and the model registry. Authenticate with `Authorization: Bearer <key>` (keys from `personas keys create`); scopes `read`, `score`, `admin` (admin may do everything). Errors are application/problem+json.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key psk_<id>_<secret>' } },
      schemas: { Problem: schemaOf(Problem, 'output') },
    },
    paths,
  };
}
