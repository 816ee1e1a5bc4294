// The registry and API commands as a user runs them: publish a run into the embedded store,
// create a key, serve, ask for a label over HTTP, stop with SIGTERM.
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { tempDir } from '../helpers/world.ts';

const runs = inject('runs');
const bin = resolve('bin/personas.js');
const run = promisify(execFile);
// The commands here use the embedded store even where CI sets DATABASE_URL.
const env = { ...process.env, DATABASE_URL: '' };
const personas = (...args: string[]) => run(process.execPath, [bin, ...args], { env });

// One store through the three steps, each with its own time limit: every command is a process
// of its own that opens the embedded store (2 to 4 s each, more beside the rest of the suite).
describe('personas publish, keys and serve', () => {
  const store = join(tempDir(), 'store');
  let version = '';
  let second = '';
  let token = '';
  const labels = (dir: string) => new Map(readFileSync(join(dir, 'assignments.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')).map((f) => [f[0], f[1]]));

  it('publishes two runs, keeps a key, and says how the labels move from one version to the other', async () => {
    const migrated = await personas('migrate', '--store', store);
    expect(migrated.stdout).toMatch(/^applied 1 registry, .*; pglite .* is at migration \d+/);
    const published = await personas('publish', '--store', store, '--run', runs.a, '--activate');
    expect(published.stdout).toMatch(/^published \S+: 1500 customers, personas .*; now active/);
    version = /^published (\S+):/.exec(published.stdout)![1];
    const created = await personas('keys', 'create', '--store', store, '--name', 'crm', '--scopes', 'read');
    token = created.stdout.trim();
    expect(token).toMatch(/^psk_/);
    expect(created.stderr).toMatch(/not shown again/);
    expect((await personas('keys', 'list', '--store', store)).stdout).not.toContain(token.slice(21));
    expect((await personas('models', 'list', '--store', store)).stdout).toMatch(new RegExp(`^\\* ${version}  active`));
    // A second version, and how its labels move from the active one's, before activating it.
    second = /^published (\S+):/.exec((await personas('publish', '--store', store, '--run', runs.b)).stdout)![1];
    const [la, lb] = [labels(runs.a), labels(runs.b)];
    const same = [...la].filter(([id, p]) => lb.get(id) === p).length;
    const changes = (await personas('models', 'changes', second, '--store', store)).stdout.split('\n');
    expect(changes[0]).toBe(`from ${version} to ${second}: 1,500 customers labelled by both (0 only by ${version}, 0 only by ${second})`);
    expect(changes[1]).toBe(`same label: ${same.toLocaleString('en-US')} (${((100 * same) / 1500).toFixed(1)} %)`);
    expect(changes[3]).toMatch(/^persona\s+from\s+to\s+kept\s+joined\s+left$/);
    const unassigned = changes.find((l) => l.startsWith('(unassigned)'))!.trim().split(/\s+/).slice(1).map((v) => Number(v.replace(/,/g, '')));
    const none = (m: Map<string, string>) => [...m.values()].filter((p) => !p).length;
    expect(unassigned.slice(0, 3)).toEqual([none(la), none(lb), [...la].filter(([id, p]) => !p && !lb.get(id)).length]);
    expect(changes).toContain('largest moves:');
    // Then what differs in the models: the seed, and each persona's figures (the same persona file).
    const models = changes.indexOf(`models of ${second} against those of ${version}:`);
    expect(models).toBeGreaterThan(3);
    expect(changes[models + 1]).toBe('  seed: 1 -> 2');
    expect(changes[models + 3]).toMatch(/^ {2}persona +seeds +validation AUC +c +threshold +expected precision +assigned +estimated share$/);
    expect(changes[models + 4]).toMatch(/^ {2}\w+ +[\d,]+( -> [\d,]+)? +0\.\d{3}( -> 0\.\d{3})? /);
    expect(changes.some((l) => l.startsWith('persona file entries changed'))).toBe(false);
    const json = JSON.parse((await personas('models', 'changes', version, '--from', second, '--json', '--store', store)).stdout) as { from: string; to: string; unchanged: number; models: { settings: unknown[] } };
    expect(json).toMatchObject({ from: second, to: version, unchanged: same, models: { from: second, to: version, settings: [{ setting: 'seed', from: '2', to: '1' }] } });
    await expect(personas('models', 'changes', 'nope', '--store', store)).rejects.toMatchObject({ stderr: expect.stringMatching(/model version 'nope' is not published/) });
    await expect(personas('keys', 'create', '--store', store, '--name', 'x', '--scopes', 'root')).rejects.toMatchObject({ stderr: expect.stringMatching(/scopes must be one or more of read, score, admin/) });
    await expect(personas('publish', '--store', store)).rejects.toMatchObject({ stderr: expect.stringMatching(/give --run DIR, or both --model DIR and --assignments FILE/) });
  }, 180_000);

  it('exports the active labels, then those a version changes, as a file for the CRM', async () => {
    expect(version && second).toBeTruthy();
    const [la, lb] = [labels(runs.a), labels(runs.b)];
    // The active version's labels as an assignment file, and then only those the second version changes.
    const dir = tempDir();
    const all = join(dir, 'crm', 'all.csv');
    expect((await personas('models', 'export', '--out', all, '--store', store)).stdout).toBe(`wrote 1,500 labels of ${version} to ${all}\n`);
    const written = readFileSync(all, 'utf8').trim().split('\n');
    expect(written[0]).toBe(readFileSync(join(runs.a, 'assignments.csv'), 'utf8').split('\n')[0]);
    expect(new Map(written.slice(1).map((l) => l.split(',')).map((f) => [f[0], f[1]]))).toEqual(la);
    const delta = join(dir, 'crm', 'delta.csv');
    const changed = [...lb].filter(([id, p]) => la.get(id) !== p).map(([id]) => id).sort();
    expect((await personas('models', 'export', second, '--since', version, '--out', delta, '--store', store)).stdout).toBe(`wrote ${changed.length.toLocaleString('en-US')} labels of ${second} to ${delta} (those that changed since ${version})\n`);
    const rows = readFileSync(delta, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    expect(rows.map((f) => f[0])).toEqual(changed);
    expect(rows.every((f) => f[1] === lb.get(f[0]) && f[4] === second)).toBe(true);
    // A failed export leaves the file that was there, and nothing beside it.
    await expect(personas('models', 'export', '--since', 'nope', '--out', all, '--store', store)).rejects.toMatchObject({ stderr: expect.stringMatching(/model version 'nope' is not published/) });
    expect(readFileSync(all, 'utf8').trim().split('\n')).toEqual(written);
    expect(readdirSync(join(dir, 'crm')).sort()).toEqual(['all.csv', 'delta.csv']);
    // The same labels as a French workbook (its sheets: registry.test.ts), and a language it does not speak.
    const book = join(dir, 'crm', 'all.xlsx');
    expect((await personas('models', 'export', '--out', book, '--lang', 'fr', '--store', store)).stdout).toBe(`wrote 1,500 labels of ${version} to ${book}\n`);
    expect(readFileSync(book).includes(Buffer.from('xl/worksheets/sheet'))).toBe(true);
    await expect(personas('models', 'export', '--out', book, '--lang', 'de', '--store', store)).rejects.toMatchObject({ stderr: expect.stringMatching(/--lang must be fr or en/) });
  }, 180_000);

  it('serves the active labels to a keyed client, and stops cleanly', async () => {
    expect(version && token).toBeTruthy();
    const server = spawn(process.execPath, [bin, 'serve', '--store', store, '--port', '0', '--host', '127.0.0.1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    server.stderr.on('data', (d) => (stderr += d));
    const port = await new Promise<number>((ok, fail) => {
      let out = '';
      server.stdout.on('data', (d) => {
        out += d;
        const m = /listening (\d+)/.exec(out);
        if (m) ok(Number(m[1]));
      });
      server.on('exit', (code) => fail(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const id = readFileSync(join(runs.a, 'assignments.csv'), 'utf8').split('\n')[1].split(',')[0];
    const res = await fetch(`http://127.0.0.1:${port}/v1/customers/${encodeURIComponent(id)}/persona`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const first = await res.json();
    expect(first).toMatchObject({ customerId: id, modelVersion: version });
    expect((await fetch(`http://127.0.0.1:${port}/v1/models`)).status).toBe(401);
    // The server holds the active version's labels in memory once loaded (it says so in /readyz
    // and its log), and answers the same from there.
    let ready: { labelCache?: { state: string; version: string; rows: number } } = {};
    for (let i = 0; i < 200 && ready.labelCache?.state !== 'ready'; i++) {
      ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as typeof ready;
      if (ready.labelCache?.state !== 'ready') await new Promise((r) => setTimeout(r, 50));
    }
    const customers = readFileSync(join(runs.a, 'assignments.csv'), 'utf8').trim().split('\n').length - 1;
    expect(ready.labelCache).toEqual({ state: 'ready', version, rows: customers });
    const cached = await fetch(`http://127.0.0.1:${port}/v1/customers/${encodeURIComponent(id)}/persona`, { headers: { Authorization: `Bearer ${token}` } });
    expect(await cached.json()).toEqual(first);
    expect(stderr).toMatch(/"msg":"label cache: version loaded"/);
    const exited = new Promise<number | null>((ok) => server.on('exit', ok));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/"route":"\/v1\/customers\/:id\/persona","status":200/);
    expect(stderr).not.toContain(token.slice(21));
  }, 180_000);
});
