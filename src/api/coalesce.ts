// Single-customer lookups that arrive together share one query. Every lookup asked for during
// one turn of the event loop (the requests whose bytes came in the same poll) is answered by a
// single `lookupLabels` over all their ids, run when that turn ends (setImmediate: no timer, so
// a lone request waits for nothing). Under load this turns many round trips to the store (each
// a socket write and a backend wake-up on both sides) into one, and every lookup of a batch is
// answered from the same model version, as a batch request is.
import { lookupLabels, type CustomerLabel, type Sql } from '../store/index.ts';

export interface LookupResult {
  version: string;
  label: CustomerLabel | undefined;
}

interface Pending {
  ids: Set<string>;
  waiters: { id: string; resolve: (r: LookupResult) => void; reject: (e: unknown) => void }[];
}

export class LookupCoalescer {
  private pending: Pending | null = null;
  /** Queries sent and lookups answered, for tests and the server's statistics. */
  readonly stats = { queries: 0, lookups: 0 };

  constructor(
    private readonly db: Sql,
    /** Most ids in one query; a turn with more is split. */
    private readonly maxIds = 500,
  ) {}

  lookup(id: string): Promise<LookupResult> {
    return new Promise((resolve, reject) => {
      let p = this.pending;
      if (!p) {
        p = this.pending = { ids: new Set(), waiters: [] };
        setImmediate(() => this.flush(p!));
      }
      p.ids.add(id);
      p.waiters.push({ id, resolve, reject });
      if (p.ids.size >= this.maxIds) this.flush(p);
    });
  }

  private flush(p: Pending): void {
    if (this.pending === p) this.pending = null;
    const waiters = p.waiters.splice(0);
    if (!waiters.length) return; // already sent when it reached maxIds
    this.stats.queries++;
    this.stats.lookups += waiters.length;
    lookupLabels(this.db, [...p.ids], null).then(
      ({ version, labels }) => {
        for (const w of waiters) w.resolve({ version, label: labels.get(w.id) });
      },
      (e: unknown) => {
        for (const w of waiters) w.reject(e);
      },
    );
  }
}
