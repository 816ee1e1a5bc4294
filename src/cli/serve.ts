// `personas serve`: the REST API on the store (PostgreSQL or embedded), until SIGINT/SIGTERM.
import type { Server } from 'node:http';
import type { Command } from 'commander';
import { createApp } from '../api/index.ts';
import { LabelCache } from '../api/label-cache.ts';
import { InputError } from '../errors.ts';
import { BullQueue, InProcessQueue, redisConnection } from '../jobs/index.ts';
import { openStore } from '../store/index.ts';
import { inProcessConcurrency, withInProcessConcurrency } from './jobs.ts';
import { withStoreFlags, type StoreFlags } from './store.ts';

export function registerServe(program: Command): void {
  withStoreFlags(withInProcessConcurrency(
    program
      .command('serve')
      .description('serve persona labels, scoring and the model registry over HTTP (/v1, docs at /v1/docs/)')
      .option('--port <n>', 'port (default: PORT or 8080)')
      .option('--host <host>', 'interface to listen on', '0.0.0.0')
      .option('--quiet', 'no access log')
      .option('--label-cache-rows <n>', "hold the active version's labels in memory when it has at most n customers (about 80 MB per million with five personas; 0: always ask the store)", '2000000')
      .option('--label-cache-refresh <ms>', 'how often to ask the store which version is active (activations made elsewhere are seen within this time)', '1000')
      .option('--redis <url>', 'Redis URL: runs started by POST /v1/jobs go to BullMQ workers (default: REDIS_URL; without either, they run in this process)'),
  )).action(async (f: StoreFlags & { port?: string; host: string; quiet?: boolean; redis?: string; labelCacheRows: string; labelCacheRefresh: string; concurrency?: string }) => {
    const portText = f.port ?? process.env.PORT ?? '8080';
    if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new InputError('INPUT_INVALID', `--port must be a port number (got "${portText}")`, { field: 'port' });
    if (!/^\d+$/.test(f.labelCacheRows)) throw new InputError('INPUT_INVALID', `--label-cache-rows must be a whole number of customers, 0 to turn the cache off (got "${f.labelCacheRows}")`, { field: 'label-cache-rows' });
    if (!/^\d+$/.test(f.labelCacheRefresh) || Number(f.labelCacheRefresh) < 10) throw new InputError('INPUT_INVALID', `--label-cache-refresh must be a number of milliseconds, at least 10 (got "${f.labelCacheRefresh}")`, { field: 'label-cache-refresh' });
    const redis = f.redis ?? process.env.REDIS_URL;
    const concurrency = inProcessConcurrency(f.concurrency, redis);
    const db = await openStore({ databaseUrl: f.database, dataDir: f.store });
    const log = f.quiet ? undefined : (line: Record<string, unknown>) => process.stderr.write(JSON.stringify({ time: new Date().toISOString(), ...line }) + '\n');
    const connection = redis ? redisConnection(redis) : undefined;
    const queue = connection ? new BullQueue(connection) : new InProcessQueue(db, { concurrency });
    const labelCache = new LabelCache(db, { maxRows: Number(f.labelCacheRows), refreshMs: Number(f.labelCacheRefresh), log: log ?? undefined }).start();
    const app = createApp({ db, log, queue, labelCache });
    const server: Server = await new Promise((resolve, reject) => {
      const s = app.listen(Number(portText), f.host, () => resolve(s));
      s.on('error', reject);
    });
    server.keepAliveTimeout = 65_000;
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : portText;
    process.stderr.write(`personas API on http://${f.host}:${port} (${db.description}, jobs ${queue.kind === 'bullmq' ? 'on BullMQ workers' : `in process, ${concurrency} at a time`}); docs at /v1/docs/\n`);
    // The line tests and scripts wait for: the port actually bound (--port 0 picks a free one).
    process.stdout.write(`listening ${port}\n`);
    const stop = () => {
      labelCache.close();
      server.close(() => void queue.close().then(() => connection?.disconnect()).finally(() => void db.close().finally(() => process.exit(0))));
      server.closeIdleConnections();
      setTimeout(() => process.exit(0), 10_000).unref();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
