// Which build-cache steps a prune removes, as pure code over a snapshot of the cache: least recently used first,
// leaves first (containerd keeps a snapshot while any child references it, so a parent goes only after every child
// went), never a pinned step (used by a live session, or parent of something that is not a removable step).
//
// A step's "last use" for ordering is the newest use in its subtree: using a child uses its parent's files too.

/** One build-cache step as the pruner sees it. */
export interface CacheEntry {
  /** Snapshot name (the chain key). */
  key: string;
  /** Parent snapshot name ("" or an image layer when the step is the first of its chain). */
  parent: string;
  /** Bytes the step holds: its filesystem diff plus its stored outputs. */
  bytes: number;
  /** When a session last used it (ms since the epoch). */
  lastUsedMs: number;
  /** Used by a live session, or parent of a snapshot that is not a build-cache step (a container's rootfs). */
  pinned: boolean;
}

/** What to remove; an absent limit does not limit. */
export interface PruneCriteria {
  /** Stop once the cache's total is at most this many bytes. */
  keepStorageBytes?: number | undefined;
  /** Only steps unused for longer than this. */
  olderThanMs?: number | undefined;
}

/** The automatic policy: everything unused for longer than maxAgeMs, then least recently used down to the budget. */
export interface GcPolicy {
  keepStorageBytes: number;
  maxAgeMs: number;
}

export interface Selection {
  /** Keys in removal order (every key's children come before it). */
  keys: string[];
  /** Bytes those steps hold. */
  bytes: number;
  /** Bytes the whole cache holds before removal. */
  totalBytes: number;
}

/** Steps to remove under explicit criteria (both limits at once: old ones only, until within budget). */
export function selectForPrune(entries: readonly CacheEntry[], criteria: PruneCriteria, nowMs: number, exclude: ReadonlySet<string> = new Set()): Selection {
  const graph = buildGraph(entries);
  let total = entries.reduce((sum, e) => sum + e.bytes, 0);
  const totalBytes = total;
  for (const key of exclude) total -= graph.nodes.get(key)?.entry.bytes ?? 0;
  const cutoff = criteria.olderThanMs === undefined ? Infinity : nowMs - criteria.olderThanMs;
  const keep = criteria.keepStorageBytes;
  const heap = new MinHeap<Node>((a, b) => a.recency - b.recency || (a.entry.key < b.entry.key ? -1 : 1));
  for (const node of graph.nodes.values()) {
    if (exclude.has(node.entry.key)) continue;
    for (const child of node.children) if (exclude.has(child.entry.key)) node.pending--;
  }
  for (const node of graph.nodes.values()) if (!exclude.has(node.entry.key) && removable(node)) heap.push(node);
  const keys: string[] = [];
  let bytes = 0;
  while (heap.size > 0 && (keep === undefined || total > keep)) {
    const node = heap.pop()!;
    if (!(node.recency < cutoff)) break; // the oldest leaf is too recent: so is everything left
    keys.push(node.entry.key);
    bytes += node.entry.bytes;
    total -= node.entry.bytes;
    const parent = node.parent;
    if (parent && --parent.pending === 0 && removable(parent)) heap.push(parent);
  }
  return { keys, bytes, totalBytes };
}

/** Steps the automatic policy removes: the age rule first, then the budget rule over what is left. */
export function selectByPolicy(entries: readonly CacheEntry[], policy: GcPolicy, nowMs: number): Selection {
  const aged = selectForPrune(entries, { olderThanMs: policy.maxAgeMs }, nowMs);
  const budget = selectForPrune(entries, { keepStorageBytes: policy.keepStorageBytes }, nowMs, new Set(aged.keys));
  return { keys: [...aged.keys, ...budget.keys], bytes: aged.bytes + budget.bytes, totalBytes: aged.totalBytes };
}

interface Node {
  entry: CacheEntry;
  parent: Node | undefined;
  children: Node[];
  /** Children not yet removed. */
  pending: number;
  /** Newest last use in the subtree. */
  recency: number;
  /** Pinned itself or through a descendant. */
  held: boolean;
}

function removable(node: Node): boolean {
  return node.pending === 0 && !node.held;
}

function buildGraph(entries: readonly CacheEntry[]): { nodes: Map<string, Node> } {
  const nodes = new Map<string, Node>();
  for (const entry of entries) {
    nodes.set(entry.key, { entry, parent: undefined, children: [], pending: 0, recency: entry.lastUsedMs, held: entry.pinned });
  }
  for (const node of nodes.values()) {
    const parent = nodes.get(node.entry.parent);
    if (!parent || parent === node) continue;
    node.parent = parent;
    parent.children.push(node);
    parent.pending++;
  }
  // Propagate recency and pins upwards; an iterative post-order keeps deep chains off the call stack.
  const order: Node[] = [];
  const stack = [...nodes.values()].filter((n) => !n.parent);
  while (stack.length > 0) {
    const n = stack.pop()!;
    order.push(n);
    stack.push(...n.children);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    const p = n.parent;
    if (!p) continue;
    p.recency = Math.max(p.recency, n.recency);
    p.held ||= n.held;
  }
  return { nodes };
}

/** A binary min-heap. */
class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #less: (a: T, b: T) => number;

  constructor(compare: (a: T, b: T) => number) {
    this.#less = compare;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const a = this.#items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.#less(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.#less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.#less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
