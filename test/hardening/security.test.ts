// Security promises of SECURITY.md that the API tests do not already hold:
// - keys never appear in the real server's output (stdout and stderr, every line) nor in any
//   response, whatever a client sends: valid, revoked, unknown, wrong-secret or malformed keys,
//   keys in the wrong header or in the query string, over-rate and wrong-scope requests;
// - a key's rate limit holds under a burst of parallel requests: the 200s are bounded by the
//   bucket (its size plus what refills while the burst lasts), the rest are 429 with Retry-After;
// - every keyed route of the OpenAPI document (so a route added later is covered too) answers
//   401 without a key and 403 with a key that lacks its scope. (test/api/api.test.ts checks the
//   401 variants and a few 403 messages on a hand-written list of routes.)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/api/index.ts';
import { createKey, openStore, publishRun, revokeKey, runSource, type Db } from '../../src/store/index.ts';
import { tempDir } from '../helpers/world.ts';

const runs = inject('runs');
const bin = resolve('bin/personas.js');

describe('API keys never leak', () => {
  it('keeps every key and its secret out of the real server output and out of every response', async () => {
    const store = join(tempDir(), 'store');
    const db = await openStore({ databaseUrl: null, dataDir: store });
    const { version } = await publishRun(db, runSource(runs.a), { activate: true });
    const read = (await createKey(db, { name: 'crm', scopes: ['read'], rateLimit: 2 })).token;
    const score = (await createKey(db, { name: 'scorer', scopes: ['score'] })).token;
    const revoked = await createKey(db, { name: 'old', scopes: ['admin'] });
    await revokeKey(db, revoked.key.id);
    await db.close();
    const id = read.slice(4, 20);
    const forged = `psk_${id}_${'A'.repeat(43)}`;
    const unknown = `psk_${'0'.repeat(16)}_${'B'.repeat(43)}`;
    const tokens = [read, score, revoked.token, forged, unknown];

    const server = spawn(process.execPath, [bin, 'serve', '--store', store, '--port', '0', '--host', '127.0.0.1'], { env: { ...process.env, DATABASE_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    server.stdout.on('data', (d) => (output += d));
    server.stderr.on('data', (d) => (output += d));
    const port = await new Promise<number>((ok, fail) => {
      server.stdout.on('data', () => {
        const m = /listening (\d+)/.exec(output);
        if (m) ok(Number(m[1]));
      });
      server.on('exit', (code) => fail(new Error(`serve exited with ${code}: ${output}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const customer = (await (await fetch(`${base}/v1/assignments?limit=1`, { headers: { Authorization: `Bearer ${read}` } })).text()).trim();
    const cid = encodeURIComponent(JSON.parse(customer).customerId);
    const calls: [string, string, Record<string, string>, string?][] = [];
    for (const t of tokens) {
      calls.push(['GET', `/v1/customers/${cid}/persona`, { Authorization: `Bearer ${t}` }]);
      calls.push(['POST', '/v1/customers/personas:batch', { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' }, JSON.stringify({ ids: ['x'] })]);
      calls.push(['POST', `/v1/models/${version}/activate`, { Authorization: `Bearer ${t}` }]);
      calls.push(['POST', '/v1/score', { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' }, '{"customers": [{"features": {"age": "x"}}]}']);
      calls.push(['GET', '/v1/models', { Authorization: `bearer   ${t}  ` }]);
      calls.push(['GET', '/v1/models', { Authorization: t }]);
      calls.push(['GET', '/v1/models', { Authorization: `Basic ${Buffer.from(`${t}:`).toString('base64')}` }]);
      calls.push(['GET', '/v1/models', { Authorization: `Bearer ${t} ${t}` }]);
      calls.push(['GET', '/v1/models', { 'X-Api-Key': t }]);
      calls.push(['GET', `/v1/models?api_key=${t}`, { Authorization: `Bearer ${t}` }]);
      calls.push(['GET', `/v1/quantification?version=${t}`, { Authorization: `Bearer ${t}` }]);
    }
    // Past its rate: 429s for the read key.
    for (let i = 0; i < 5; i++) calls.push(['GET', '/v1/models', { Authorization: `Bearer ${read}` }]);
    const statuses = new Set<number>();
    for (const [method, path, headers, body] of calls) {
      const res = await fetch(base + path, { method, headers, body });
      statuses.add(res.status);
      const text = `${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${await res.text()}`;
      for (const t of tokens) {
        expect(text, `${method} ${path}`).not.toContain(t.slice(21));
      }
    }
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 400, 401, 403, 429]));
    const exited = once(server, 'exit');
    server.kill('SIGTERM');
    await exited;
    const lines = output.trim().split('\n');
    expect(lines.length).toBeGreaterThan(calls.length);
    for (const line of lines) {
      for (const t of tokens) {
        expect(line).not.toContain(t.slice(21));
        expect(line).not.toContain(t.slice(21, 37));
      }
    }
    // The log names keys by their public id.
    expect(output).toContain(`"key":"${id}"`);
  }, 120_000);
});

describe('rate limits under a burst', () => {
  let db: Db;
  let server: ReturnType<ReturnType<typeof createApp>['listen']>;
  let base: string;
  beforeAll(async () => {
    db = await openStore({ databaseUrl: null, dataDir: 'memory' });
    await publishRun(db, runSource(runs.a), { activate: true });
    const app = createApp({ db });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.close();
    await db?.close();
  });

  it('lets through at most the bucket (plus its refill during the burst) and answers the rest 429 with Retry-After', async () => {
    const rate = 20;
    const burst = 200;
    const { token } = await createKey(db, { name: 'burst', scopes: ['read'], rateLimit: rate });
    const other = (await createKey(db, { name: 'other', scopes: ['read'], rateLimit: rate })).token;
    const get = (t: string) => fetch(`${base}/v1/models`, { headers: { Authorization: `Bearer ${t}` } });
    await get(token); // the key is now verified and cached: the burst measures the limiter alone
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: burst }, async () => {
      const res = await get(token);
      return { status: res.status, retry: res.headers.get('retry-after'), type: res.headers.get('content-type'), body: await res.text() };
    }));
    const seconds = (performance.now() - t0) / 1000;
    const ok = answers.filter((a) => a.status === 200).length;
    const limited = answers.filter((a) => a.status === 429);
    expect(ok + limited.length).toBe(burst);
    // The bucket held `rate` - 1 tokens after the first request, and refills `rate` per second.
    expect(ok).toBeLessThanOrEqual(Math.ceil(rate - 1 + seconds * rate));
    expect(ok).toBeGreaterThanOrEqual(rate - 1);
    expect(limited.length).toBeGreaterThanOrEqual(burst - Math.ceil(rate - 1 + seconds * rate));
    for (const a of limited) {
      expect(Number(a.retry)).toBeGreaterThanOrEqual(1);
      expect(a.type).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(a.body).detail).toMatch(new RegExp(`limited to ${rate} requests per second`));
    }
    // Another key is not affected, and the limited key is served again once its bucket refills.
    expect((await get(other)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await get(token)).status).toBe(200);
  });
});

describe('every keyed route of the OpenAPI document', () => {
  it('answers 401 without a key and 403 with a key lacking its scope', async () => {
    // Keys are checked before anything else: no version needs to be published for 401 and 403.
    const db = await openStore({ databaseUrl: null, dataDir: 'memory' });
    const version = '20260101T000000Z-0123abcd';
    const app = createApp({ db });
    const keys = {
      read: (await createKey(db, { name: 'r', scopes: ['read'] })).token,
      score: (await createKey(db, { name: 's', scopes: ['score'] })).token,
      admin: (await createKey(db, { name: 'a', scopes: ['admin'] })).token,
      readScore: (await createKey(db, { name: 'rs', scopes: ['read', 'score'] })).token,
    };
    // A key that lacks the scope: the other non-admin scopes, together.
    const lacking: Record<string, string> = { read: keys.score, score: keys.read, admin: keys.readScore };
    const spec = (await request(app).get('/v1/openapi.json')).body as { paths: Record<string, Record<string, { 'x-required-scope'?: string; security: unknown[] }>> };
    const open: string[] = [];
    let keyed = 0;
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const url = path.replace('{id}', 'run-x').replace('{version}', version);
        const call = () => (method === 'get' ? request(app).get(url) : request(app).post(url).send({}));
        const scope = op['x-required-scope'];
        if (!scope) {
          open.push(`${method} ${path}`);
          expect(op.security).toEqual([]);
          continue;
        }
        keyed++;
        const none = await call();
        expect(none.status, `${method} ${path} without a key`).toBe(401);
        expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
        const wrong = await call().set('Authorization', `Bearer ${lacking[scope]}`);
        expect(wrong.status, `${method} ${path} without the '${scope}' scope`).toBe(403);
        expect(wrong.body.detail).toContain(`'${scope}' scope`);
        const right = await call().set('Authorization', `Bearer ${scope === 'admin' ? keys.admin : keys[scope as 'read' | 'score']}`);
        expect([401, 403], `${method} ${path} with the '${scope}' scope`).not.toContain(right.status);
      }
    }
    expect(open.sort()).toEqual(['get /healthz', 'get /readyz']);
    expect(keyed).toBeGreaterThanOrEqual(13);
    await db.close();
  });
});
