// The active version's labels, held in memory by the server so that lookups need no round trip
// to the store. A published version's labels never change, so a copy of them is exact; what can
// change is which version is active. The cache learns that from the store: every `refreshMs`
// (another server or the CLI activated a version) and at once when this server's own activation
// route answers. While a version's copy is loading (a page of `pageSize` labels at a time, in the
// background), and for versions of more than `maxRows` customers, lookups go to the store as
// before. Either way one answer comes from one version: a copy is of one version only, and the
// store's lookup reads the version and its labels in one statement.
//
// Memory: the ids' characters, and 8 bytes per persona score plus about 36 bytes per customer
// (labels, offsets, index); measured in BENCHMARKS.md. Only the active version's copy is kept.
import { activeVersion, labelColumns, resolveVersion, type CustomerLabel, type Sql } from '../store/index.ts';

export interface LabelCacheOptions {
  /** Largest version held in memory, in customers (default 2,000,000; 0 turns the cache off). */
  maxRows?: number;
  /** How often the store is asked which version is active, in ms (default 1,000). */
  refreshMs?: number;
  /** Labels read per query while loading (default 10,000). */
  pageSize?: number;
  log?: (line: Record<string, unknown>) => void;
}

/** FNV-1a over the UTF-16 code units of a string. */
function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * One version's labels as columns, indexed by customer id. Nothing in it is a small object: the
 * ids are one string (with offsets), the index an open-addressing hash table in an Int32Array,
 * the labels typed arrays. A million customers are a handful of objects for the garbage collector
 * instead of millions (a Map of a million strings made every major collection walk them all,
 * which cost the server a third of its peak request rate, measured).
 */
export class LabelSnapshot {
  private idParts: string[] = [];
  private idText = '';
  private idLength = 0;
  private offsets: Int32Array;
  private slots: Int32Array = new Int32Array(0);
  private persona: Int16Array;
  private confidence: Float64Array;
  private margin: Float64Array;
  private scores: Float64Array;
  private size = 0;
  private sealed = false;

  constructor(
    readonly version: string,
    readonly personas: readonly string[],
    capacity: number,
  ) {
    const n = Math.max(1, capacity);
    this.offsets = new Int32Array(n + 1);
    this.persona = new Int16Array(n);
    this.confidence = new Float64Array(n);
    this.margin = new Float64Array(n);
    this.scores = new Float64Array(n * personas.length);
  }

  get rows(): number {
    return this.size;
  }

  /** Appends labels read from the store (`scores` in the order of `personas`, null where none). */
  append(page: { ids: string[]; persona: (string | null)[]; confidence: number[]; margin: number[]; scores: (number | null)[][] }): void {
    if (this.sealed) throw new Error('label snapshot is sealed');
    const k = this.personas.length;
    const personaIndex = new Map(this.personas.map((p, i) => [p, i]));
    if (this.size + page.ids.length > this.persona.length) this.grow(Math.max(this.size + page.ids.length, this.persona.length * 2));
    // One string a page, not one a customer: a million small strings kept until `seal` grew the heap by about 40 MB.
    this.idParts.push(page.ids.join(''));
    for (let j = 0; j < page.ids.length; j++) {
      const row = this.size++;
      const id = page.ids[j];
      this.idLength += id.length;
      if (this.idLength > 0x7fffffff) throw new Error(`version ${this.version}: customer ids too long in total to hold in memory`);
      this.offsets[row + 1] = this.idLength;
      const p = page.persona[j];
      const at = p === null ? -1 : personaIndex.get(p);
      if (at === undefined) throw new Error(`label of customer '${id}' names persona '${p}', not one of version ${this.version}`);
      this.persona[row] = at;
      this.confidence[row] = page.confidence[j];
      this.margin[row] = page.margin[j];
      const s = page.scores[j];
      for (let c = 0; c < k; c++) this.scores[row * k + c] = s[c] ?? NaN;
    }
  }

  /** Builds the index once every label is in; the snapshot is read-only from then on. */
  seal(): this {
    this.idText = this.idParts.join('');
    this.idParts = [];
    let cap = 8;
    while (cap < this.size * 2) cap *= 2;
    const slots = new Int32Array(cap);
    const mask = cap - 1;
    for (let row = 0; row < this.size; row++) {
      const id = this.idText.slice(this.offsets[row], this.offsets[row + 1]);
      let h = hashId(id) & mask;
      while (slots[h] !== 0) h = (h + 1) & mask;
      slots[h] = row + 1;
    }
    this.slots = slots;
    this.sealed = true;
    return this;
  }

  private row(id: string): number {
    const mask = this.slots.length - 1;
    let h = hashId(id) & mask;
    for (;;) {
      const r = this.slots[h];
      if (r === 0) return -1;
      const row = r - 1;
      const start = this.offsets[row];
      if (this.offsets[row + 1] - start === id.length && this.idText.startsWith(id, start)) return row;
      h = (h + 1) & mask;
    }
  }

  /** The label of `id`, exactly as the store's lookup gives it; undefined for an unknown id. */
  get(id: string): CustomerLabel | undefined {
    if (!this.sealed) throw new Error('label snapshot is not sealed yet');
    const row = this.row(id);
    if (row < 0) return undefined;
    const k = this.personas.length;
    const scores: Record<string, number> = {};
    for (let c = 0; c < k; c++) {
      const v = this.scores[row * k + c];
      if (!Number.isNaN(v)) scores[this.personas[c]] = v;
    }
    const p = this.persona[row];
    return { customerId: id, persona: p < 0 ? null : this.personas[p], confidence: this.confidence[row], margin: this.margin[row], scores };
  }

  /** More room (the store counted fewer customers than it holds labels: never expected, handled). */
  private grow(n: number): void {
    const k = this.personas.length;
    const offsets = new Int32Array(n + 1);
    offsets.set(this.offsets.subarray(0, this.size + 1));
    const persona = new Int16Array(n);
    persona.set(this.persona.subarray(0, this.size));
    const confidence = new Float64Array(n);
    confidence.set(this.confidence.subarray(0, this.size));
    const margin = new Float64Array(n);
    margin.set(this.margin.subarray(0, this.size));
    const scores = new Float64Array(n * k);
    scores.set(this.scores.subarray(0, this.size * k));
    this.offsets = offsets;
    this.persona = persona;
    this.confidence = confidence;
    this.margin = margin;
    this.scores = scores;
  }
}

export type LabelCacheState = 'off' | 'no active version' | 'loading' | 'ready' | 'too large' | 'failed';

export class LabelCache {
  private readonly maxRows: number;
  private readonly refreshMs: number;
  private readonly pageSize: number;
  private readonly log: (line: Record<string, unknown>) => void;
  /** The active version as last read from the store. */
  private version: string | null = null;
  private snapshot: LabelSnapshot | null = null;
  private state: LabelCacheState;
  private loading: Promise<void> | null = null;
  private refreshing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Lookups answered from memory and sent to the store; copies loaded. */
  readonly stats = { hits: 0, misses: 0, loads: 0, lastLoadMs: 0 };

  constructor(
    private readonly db: Sql,
    opts: LabelCacheOptions = {},
  ) {
    this.maxRows = opts.maxRows ?? 2_000_000;
    this.refreshMs = opts.refreshMs ?? 1000;
    this.pageSize = opts.pageSize ?? 10_000;
    this.log = opts.log ?? (() => undefined);
    if (!Number.isInteger(this.maxRows) || this.maxRows < 0) throw new RangeError(`label cache maxRows must be a whole number >= 0 (got ${this.maxRows})`);
    if (!(this.refreshMs >= 10)) throw new RangeError(`label cache refreshMs must be at least 10 (got ${this.refreshMs})`);
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1) throw new RangeError(`label cache pageSize must be a whole number >= 1 (got ${this.pageSize})`);
    this.state = this.maxRows === 0 ? 'off' : 'no active version';
  }

  /** Starts following the active version (a first refresh now, then every `refreshMs`). */
  start(): this {
    if (this.maxRows === 0 || this.timer || this.closed) return this;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
    return this;
  }

  /** Reads the active version from the store and starts loading its copy when it changed. Never throws. */
  refresh(): Promise<void> {
    if (this.maxRows === 0 || this.closed) return Promise.resolve();
    // One refresh at a time; a caller that needs the newest state (after an activation) waits for
    // the running one and then runs its own.
    const run = async () => {
      let v: string | null;
      try {
        v = await activeVersion(this.db);
      } catch {
        return; // the store does not answer: keep serving what is held; lookups of a missing copy fail as the store does
      }
      if (v !== this.version) {
        this.version = v;
        this.snapshot = null;
        this.state = v === null ? 'no active version' : 'loading';
        if (v !== null) this.load(v);
      } else if (v !== null && !this.snapshot && !this.loading && this.state === 'failed') {
        this.state = 'loading';
        this.load(v); // the last load failed: try again
      }
    };
    const next = (this.refreshing ?? Promise.resolve()).then(run);
    this.refreshing = next;
    void next.finally(() => {
      if (this.refreshing === next) this.refreshing = null;
    });
    return next;
  }

  /**
   * Labels of `ids` from memory when the active version's copy is ready, else null (ask the
   * store). Unknown ids are absent from the map.
   */
  lookup(ids: readonly string[]): { version: string; labels: Map<string, CustomerLabel> } | null {
    const snap = this.snapshot;
    if (!snap || snap.version !== this.version) {
      this.stats.misses++;
      return null;
    }
    this.stats.hits++;
    const labels = new Map<string, CustomerLabel>();
    for (const id of ids) {
      const l = snap.get(id);
      if (l) labels.set(id, l);
    }
    return { version: snap.version, labels };
  }

  /** The label of one id from memory, `undefined` for an unknown id, or null when the store must be asked. */
  lookupOne(id: string): { version: string; label: CustomerLabel | undefined } | null {
    const snap = this.snapshot;
    if (!snap || snap.version !== this.version) {
      this.stats.misses++;
      return null;
    }
    this.stats.hits++;
    return { version: snap.version, label: snap.get(id) };
  }

  /** What is held, for /readyz and logs. */
  status(): { state: LabelCacheState; version: string | null; rows: number } {
    return { state: this.state, version: this.version, rows: this.snapshot?.rows ?? 0 };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.snapshot = null;
  }

  private load(version: string): void {
    const started = Date.now();
    const job = (async () => {
      const { personas, customers } = await resolveVersion(this.db, version);
      if (customers > this.maxRows) {
        if (this.version === version) this.state = 'too large';
        this.log({ level: 'info', msg: 'label cache: version too large to hold, lookups go to the store', version, customers, maxRows: this.maxRows });
        return;
      }
      const snap = new LabelSnapshot(version, personas, customers);
      let cursor: string | null = null;
      for (;;) {
        if (this.closed || this.version !== version) return; // another version became active meanwhile
        const page = await labelColumns(this.db, version, cursor, this.pageSize);
        snap.append(page);
        if (page.ids.length < this.pageSize) break;
        cursor = page.ids[page.ids.length - 1];
      }
      if (this.closed || this.version !== version) return;
      this.snapshot = snap.seal();
      this.state = 'ready';
      this.stats.loads++;
      this.stats.lastLoadMs = Date.now() - started;
      this.log({ level: 'info', msg: 'label cache: version loaded', version, customers: snap.rows, ms: this.stats.lastLoadMs });
    })();
    const loading: Promise<void> = job.then(
      () => undefined,
      (e: unknown) => {
        if (this.version === version) this.state = 'failed';
        this.log({ level: 'error', msg: 'label cache: loading failed, lookups go to the store', version, error: e instanceof Error ? e.message : String(e) });
      },
    ).finally(() => {
      if (this.loading === loading) this.loading = null;
    });
    this.loading = loading;
  }

  /** Resolves when the copy being loaded (if any) is in place or has failed (tests, start-up). */
  async settled(): Promise<void> {
    await this.refreshing;
    await this.loading;
  }
}
