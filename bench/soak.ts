// Soak of the API (issue 8): `personas serve` (its own process) on PostgreSQL with two published
// versions of a large base; autocannon drives single lookups of random customers at a fixed rate
// for N minutes, one autocannon segment per minute (per-minute latency), and another version is
// activated over HTTP in the middle. Only the public CLI (publish, keys) and HTTP surface is used.
//   npm run soak [-- --minutes 10 --rate 1000 --customers 1000000 --connections 100]
// (autocannon sends the next request of a connection once the previous one is answered: the
// connections must cover rate x latency, so 100 hold 1,000 req/s up to 100 ms of latency.)
// Reports error responses and non-2xx (must be 0), p50/p99 per minute, the share of answers from
// each version per minute, and the server's RSS at start and end (growth must stay under 10%).
// Exits 1 when a target is missed. Uses a scratch database `personas_soak`, dropped at the end.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { bigId } from '../test/helpers/big-run.ts';
import { arg, BIN, bigRuns, scratchDatabase, startServer } from './serve-setup.ts';

const minutes = Number(arg('minutes', '10'));
const rate = Number(arg('rate', '1000'));
const customers = Number(arg('customers', '1000000'));
const connections = Number(arg('connections', '100'));
if (![minutes, rate, customers, connections].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('soak: --minutes, --rate, --customers and --connections must be positive whole numbers');
  process.exit(2);
}

const scratch = await scratchDatabase('soak', 'personas_soak');
if (!scratch) process.exit(0);
const cli = async (...args: string[]) => (await promisify(execFile)(process.execPath, [BIN, ...args, '--database', scratch.url], { maxBuffer: 1 << 24 })).stdout.trim();

// 1. Two versions of the same base, published with the CLI; A active. Keys from the CLI.
const t0 = performance.now();
const [a, b] = await bigRuns(join(tmpdir(), `personas-soak-${process.pid}`), customers, 2);
await cli('publish', '--run', a.dir, '--activate');
await cli('publish', '--run', b.dir);
const read = await cli('keys', 'create', '--name', 'soak', '--scopes', 'read', '--rate', '1000000');
const admin = await cli('keys', 'create', '--name', 'soak-admin', '--scopes', 'admin');
console.log(`soak: ${customers.toLocaleString('en')} customers x 2 versions published in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

// 2. The server, as a user starts it (no --quiet: its access log, kept in a file, is part of what is soaked).
const logFile = join(tmpdir(), `personas-soak-${process.pid}.log`);
const server = await startServer(scratch.url, [], logFile);
const url = `http://127.0.0.1:${server.port}`;
const rssMb = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};
const lookup = (token: string) => ({
  headers: { authorization: `Bearer ${token}` },
  requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, path: `/v1/customers/${bigId(Math.floor(Math.random() * customers))}/persona` }) }],
});
// Warm-up (not counted), then the RSS baseline.
await autocannon({ url, connections, duration: 20, overallRate: rate, ...lookup(read) });
const rssStart = rssMb();
const loadStart = loadavg();

// 3. The soak: one segment per minute; the other version is activated in the middle.
interface Minute { minute: number; requests: number; errors: number; non2xx: number; s5xx: number; p50: number; p99: number; max: number; rss: number; versions: Record<string, number> }
const rows: Minute[] = [];
let activation: { at: string; status: number; body: string } | undefined;
const middle = Math.floor(minutes / 2);
for (let m = 0; m < minutes; m++) {
  const versions: Record<string, number> = {};
  let timer: NodeJS.Timeout | undefined;
  if (m === middle) {
    timer = setTimeout(() => {
      void fetch(`${url}/v1/models/${b.version}/activate`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } }).then(async (res) => {
        activation = { at: `minute ${m + 1}, +30 s`, status: res.status, body: await res.text() };
      });
    }, 30_000);
  }
  const load = lookup(read);
  const r = await autocannon({
    url, connections, duration: 60, overallRate: rate, headers: load.headers,
    requests: [{
      ...load.requests[0],
      onResponse: (status: number, body: string) => {
        const v = /"modelVersion":"([^"]+)"/.exec(body)?.[1] ?? `status ${status}`;
        versions[v] = (versions[v] ?? 0) + 1;
      },
    }],
  });
  clearTimeout(timer);
  rows.push({ minute: m + 1, requests: r.requests.total, errors: r.errors + r.timeouts, non2xx: r.non2xx, s5xx: r['5xx'], p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max, rss: rssMb(), versions });
  const last = rows[rows.length - 1];
  console.log(`minute ${last.minute}: ${last.requests} requests, ${last.errors} errors, ${last.non2xx} non-2xx, p50 ${last.p50} ms, p99 ${last.p99} ms, RSS ${last.rss.toFixed(0)} MB`);
}
const rssEnd = rssMb();
const loadEnd = loadavg();
await server.stop();
await scratch.drop();
const log = readFileSync(logFile, 'utf8').trim().split('\n');
const logged5xx = log.filter((l) => /"status":5\d\d/.test(l)).length;
const logErrors = log.filter((l) => /"level":"error"/.test(l)).length;
rmSync(logFile, { force: true });

// 4. Report.
const name = (v: string) => (v === a.version ? 'A' : v === b.version ? 'B' : v);
const total = rows.reduce((s, r) => s + r.requests, 0);
const errors = rows.reduce((s, r) => s + r.errors, 0);
const non2xx = rows.reduce((s, r) => s + r.non2xx, 0);
const growth = (rssEnd - rssStart) / rssStart;
console.log(`\nsoak ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model}); PostgreSQL at ${new URL(scratch.adminUrl).host}; ${customers.toLocaleString('en')} customers x ${a.personas.length} personas, 2 versions (A ${a.version}, B ${b.version}); ${rate} req/s for ${minutes} min, ${connections} connections; load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} at start, ${loadEnd.map((x) => x.toFixed(2)).join(' ')} at end`);
console.log(`activation of B: ${activation ? `${activation.at}: ${activation.status} ${activation.body}` : 'never answered'}\n`);
console.log('| minute | requests | errors | non-2xx | p50 (ms) | p99 (ms) | max (ms) | server RSS (MB) | answers by version |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.minute} | ${r.requests} | ${r.errors} | ${r.non2xx} | ${r.p50} | ${r.p99} | ${r.max} | ${r.rss.toFixed(0)} | ${Object.entries(r.versions).map(([v, n]) => `${name(v)} ${n}`).join(', ')} |`);
console.log(`server access log: ${log.length} lines, ${logged5xx} with a 5xx status, ${logErrors} error lines`);
console.log(`\ntotal ${total} requests (${(total / (minutes * 60)).toFixed(0)} req/s), ${errors} errors, ${non2xx} non-2xx; server RSS ${rssStart.toFixed(0)} MB after warm-up -> ${rssEnd.toFixed(0)} MB at the end (${(growth * 100).toFixed(1)}%)`);
const missed = [
  ...(logged5xx || logErrors ? [`the server logged ${logged5xx} 5xx answers and ${logErrors} errors`] : []),
  ...(errors || non2xx ? [`${errors} errors and ${non2xx} non-2xx responses (target 0)`] : []),
  ...(growth >= 0.1 ? [`RSS grew ${(growth * 100).toFixed(1)}% (target < 10%)`] : []),
  ...(total < 0.95 * rate * minutes * 60 ? [`the load reached ${(total / (minutes * 60)).toFixed(0)} req/s, not ${rate} (client or server saturated)`] : []),
  ...(activation?.status !== 200 ? ['the activation in the middle did not answer 200'] : []),
  ...(rows.slice(middle + 1).some((r) => Object.keys(r.versions).some((v) => v !== b.version)) ? ['answers from another version than B after the activation'] : []),
];
console.log(missed.length ? `MISSED: ${missed.join('; ')}` : 'all soak targets held');
process.exit(missed.length ? 1 : 0);
