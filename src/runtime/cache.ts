/**
 * The content-addressed tensor cache. It owns what it holds: entries are freed on eviction or
 * clear, never by the plan. A run leases the entries it reads so they cannot be evicted under it;
 * a preview on screen pins its entry.
 *
 * Eviction score (highest goes first): age x bytes / (recompute ms + 1). Old, large, cheap
 * entries leave first; with equal sizes and costs it is plain least-recently-used.
 */
import { disposeValues, isResource, valueBytes, type Values } from './values.ts';

/** Trained weights exist nowhere else: they leave only on clear(), never by eviction. */
const holdsTrainedModel = (values: Values) => Object.values(values).some((v) => isResource(v) && !!v.version);

interface Entry {
  values: Values;
  bytes: number;
  costMs: number;
  lastUsed: number;
  leases: number;
  pinned: boolean;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  budgetBytes: number;
  hits: number;
  misses: number;
  evictions: number;
  pinned: number;
}

export class TensorCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private tick = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(public budgetBytes: number) {}

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Borrow an entry's values for a run (counts a hit). Pair with release(). */
  acquire(key: string): Values | undefined {
    const e = this.entries.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    e.leases++;
    e.lastUsed = ++this.tick;
    return e.values;
  }

  release(key: string): void {
    const e = this.entries.get(key);
    if (e && e.leases > 0) e.leases--;
  }

  /**
   * Offer freshly computed values; on success the cache owns them and a lease is taken for the
   * caller. Returns false (caller keeps ownership) when they cannot fit the budget at all.
   */
  put(key: string, values: Values, costMs: number): boolean {
    const bytes = valueBytes(values);
    if (bytes > this.budgetBytes || this.entries.has(key)) return false;
    this.makeRoom(bytes);
    this.entries.set(key, { values, bytes, costMs, lastUsed: ++this.tick, leases: 1, pinned: false });
    this.bytes += bytes;
    return true;
  }

  pin(key: string, pinned = true): boolean {
    const e = this.entries.get(key);
    if (e) e.pinned = pinned;
    return !!e;
  }

  /** Evict until within budget (entries in use or pinned stay). Called after every run. */
  enforceBudget(): void {
    this.makeRoom(0);
  }

  evict(key: string): boolean {
    const e = this.entries.get(key);
    if (!e || e.leases > 0) return false;
    this.entries.delete(key);
    this.bytes -= e.bytes;
    this.evictions++;
    disposeValues(e.values);
    return true;
  }

  /** Free everything not in use by a run. */
  clear(): void {
    for (const key of [...this.entries.keys()]) this.evict(key);
  }

  stats(): CacheStats {
    let pinned = 0;
    for (const e of this.entries.values()) if (e.pinned) pinned++;
    return {
      entries: this.entries.size,
      bytes: this.bytes,
      budgetBytes: this.budgetBytes,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      pinned,
    };
  }

  private makeRoom(incoming: number): void {
    while (this.bytes + incoming > this.budgetBytes) {
      let victim: string | undefined;
      let worst = -1;
      for (const [key, e] of this.entries) {
        if (e.leases > 0 || e.pinned || holdsTrainedModel(e.values)) continue;
        const score = ((this.tick - e.lastUsed + 1) * (e.bytes + 1)) / (e.costMs + 1);
        if (score > worst) (worst = score), (victim = key);
      }
      if (!victim) return;
      this.evict(victim);
    }
  }
}
