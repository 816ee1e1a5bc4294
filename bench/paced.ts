// An open-loop load generator: requests leave on a fixed schedule (rate per second) whatever the
// server's answers, each over a pool of keep-alive connections, and a request's latency is counted
// from the moment it was due, not from when it was sent. A stalled server therefore shows its
// stall in every request it delayed (no "coordinated omission", which a closed-loop generator such
// as autocannon with a few connections has: it waits for answers before sending more).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';

export interface PacedRequest {
  method?: 'GET' | 'POST';
  path: string;
  body?: string;
}

export interface PacedResult {
  requests: number;
  /** Answers that were not 2xx, and connection errors. */
  errors: number;
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export async function pacedLoad(opts: { base: string; rate: number; seconds: number; headers?: Record<string, string>; next: () => PacedRequest; sockets?: number }): Promise<PacedResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.sockets ?? 64 });
  const total = Math.round(opts.rate * opts.seconds);
  const latencies = new Float64Array(total);
  let sent = 0;
  let finished = 0;
  let errors = 0;
  const t0 = performance.now();
  await new Promise<void>((done) => {
    const settle = (k: number, due: number, ok: boolean) => {
      latencies[k] = performance.now() - due;
      if (!ok) errors++;
      if (++finished === total) done();
    };
    const fire = () => {
      const dueNow = Math.min(total, Math.floor(((performance.now() - t0) * opts.rate) / 1000) + 1);
      while (sent < dueNow) {
        const k = sent++;
        const due = t0 + (k * 1000) / opts.rate;
        const r = opts.next();
        const req = http.request(new URL(r.path, opts.base), { method: r.method ?? 'GET', agent, headers: { ...opts.headers, ...(r.body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
          res.resume();
          res.on('end', () => settle(k, due, (res.statusCode ?? 0) < 300));
        });
        req.on('error', () => settle(k, due, false));
        req.end(r.body);
      }
      if (sent < total) setTimeout(fire, 1);
    };
    fire();
  });
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  latencies.sort();
  const q = (p: number) => latencies[Math.min(total - 1, Math.floor(p * total))];
  return { requests: total, errors, rate: total / elapsed, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: latencies[total - 1] };
}

/**
 * A bare Node HTTP server answering "ok", in its own process as `personas serve` is: the floor of
 * this machine and this generator.
 */
export async function bareServer(): Promise<{ base: string; close(): Promise<void> }> {
  const code = "const s = require('node:http').createServer((q, r) => r.end('ok')); s.listen(0, '127.0.0.1', () => console.log('listening ' + s.address().port));";
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((ok, fail) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) ok(Number(m[1]));
    });
    child.on('exit', (c) => fail(new Error(`bare server exited with ${c}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    async close() {
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    },
  };
}
