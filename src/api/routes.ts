// The routes of the API as data: method, path, scope, the zod schemas of their inputs and
// outputs, and the handler. app.ts mounts them; openapi.ts documents them from the same table.
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Scope } from '../store/index.ts';

export interface RouteSpec {
  method: 'get' | 'post';
  /** OpenAPI-style path: /v1/customers/{id}/persona. */
  path: string;
  /** null: no key needed. */
  scope: Scope | null;
  summary: string;
  description?: string;
  tag: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** JSON response schema; or other content types documented as strings. */
  response: z.ZodType | { contentTypes: Record<string, string> };
  /** Problem statuses this route can answer with, besides the auth ones. */
  problems: number[];
  handler: (input: { params: Record<string, string>; query: Record<string, unknown>; body: unknown }, req: Request, res: Response) => Promise<unknown>;
}

/** Express path of an OpenAPI path: {x} -> :x, and a literal ':' (personas:batch) escaped. */
export function expressPath(path: string): string {
  return path.replace(/:/g, '\\:').replace(/\{(\w+)\}/g, ':$1');
}
