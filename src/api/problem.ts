// Errors as RFC 9457 problem+json. Product errors (PersonasError) keep their message, which is
// written for users; anything else becomes a plain 500 whose detail says nothing of the code,
// the SQL or the stack (the server log has the error, without request bodies or keys).
import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import { PersonasError, type ErrorCode } from '../errors.ts';
import type { ProblemBody } from './schemas.ts';

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly errors?: ProblemBody['errors'],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  NOT_FOUND: 404,
  CONFLICT: 409,
  NO_ACTIVE_VERSION: 503,
  INPUT_INVALID: 400,
  INPUT_MISSING_FILE: 400,
  INPUT_MISSING_COLUMN: 400,
  PERSONA_FILE_INVALID: 400,
  UNKNOWN_FEATURE: 400,
  MODEL_MISMATCH: 400,
  STORE: 503,
};

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
};

export function problem(status: number, detail: string, extra: { errors?: ProblemBody['errors']; headers?: Record<string, string> } = {}): HttpProblem {
  return new HttpProblem(status, TITLES[status] ?? 'Error', detail, extra.errors, extra.headers);
}

export function sendProblem(res: Response, p: HttpProblem): void {
  const body: ProblemBody = { type: `urn:personas:problem:${p.status}`, title: p.title, status: p.status, detail: p.message, ...(p.errors ? { errors: p.errors } : {}) };
  for (const [k, v] of Object.entries(p.headers)) res.setHeader(k, v);
  res.status(p.status).type('application/problem+json').send(JSON.stringify(body));
}

/** A 400 from a zod validation failure, listing every field at fault. */
export function invalid(where: string, error: z.ZodError): HttpProblem {
  const errors = error.issues.slice(0, 20).map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  return problem(400, `invalid ${where}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, { errors });
}

const UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', '53300']);

/** A database that is down, restarting or out of connections: the client should retry. */
function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (!!e?.code && UNAVAILABLE.has(e.code)) || /Connection terminated|connection timeout|Client has encountered a connection error|Cannot use a pool after calling end|PGlite is closed/i.test(e?.message ?? '');
}

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

export function errorHandler(log: (line: Record<string, unknown>) => void) {
  return (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      // A streamed response that fails midway: all that can be done is to cut it.
      log({ level: 'error', msg: 'response failed after headers were sent', path: req.route?.path, error: String(err) });
      res.destroy();
      return;
    }
    if (err instanceof HttpProblem) return sendProblem(res, err);
    if (err instanceof PersonasError) {
      const status = STATUS[err.code] ?? 500;
      if (status === 500) log({ level: 'error', msg: err.message, code: err.code });
      return sendProblem(res, problem(status, status === 503 && err.code === 'STORE' ? 'the store is unavailable; retry later' : err.message, status === 503 ? { headers: { 'Retry-After': '5' } } : {}));
    }
    if (isUnavailable(err)) {
      log({ level: 'error', msg: 'store unavailable', path: req.route?.path, error: err instanceof Error ? err.message : String(err) });
      return sendProblem(res, problem(503, 'the store is unavailable; retry later', { headers: { 'Retry-After': '5' } }));
    }
    const e = err as BodyParserError;
    if (e?.type === 'entity.parse.failed') return sendProblem(res, problem(400, 'the request body is not valid JSON'));
    if (e?.type === 'entity.too.large') return sendProblem(res, problem(413, 'the request body is larger than the server accepts'));
    if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return sendProblem(res, problem(415, 'the request body must be UTF-8 JSON'));
    if (e?.expose && typeof e.status === 'number' && e.status >= 400 && e.status < 500) return sendProblem(res, problem(e.status, 'the request could not be read'));
    log({ level: 'error', msg: 'unexpected error', path: req.route?.path, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    sendProblem(res, problem(500, 'an unexpected error occurred; it has been logged'));
    void next;
  };
}
