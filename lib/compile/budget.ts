/**
 * Kernel input budgets: the buffers each fused value reads, and the materializations and
 * concatenate splits that keep every generated kernel within a backend's limit of inputs
 * (WebGPU: storage buffers per shader stage, less the output and a reduction's partials).
 * @module
 */
import type { Eqn, Var } from "../ir.ts";
import { bufferNode, type Node } from "./fuse.ts";

const EMPTY: ReadonlySet<number> = new Set();

/** The union of buffer sets. */
function unionOf(sets: readonly ReadonlySet<number>[]): Set<number> {
  const u = new Set<number>();
  for (const s of sets) for (const b of s) u.add(b);
  return u;
}

/** A fused value with the buffers its expression loads. */
interface Item {
  node: Node;
  reads: ReadonlySet<number>;
}

/**
 * Buffers read by the expression of each fused value, and the fitting of an equation's inputs
 * into `limit` buffers.
 *
 * @example
 * ```ts
 * import { ReadSets } from "./budget.ts";
 * import { Var } from "../ir.ts";
 * const [a, b, c] = [0, 1, 2].map(() => new Var({ shape: [2], dtype: "float32", weak: false }));
 * const rs = new ReadSets(2);
 * rs.buffer(a, 0);
 * rs.buffer(b, 1);
 * rs.union(c, [a, b]);
 * if (rs.of(c).size !== 2) throw new Error("ReadSets");
 * ```
 */
export class ReadSets {
  readonly #of = new Map<Var, ReadonlySet<number>>();
  /** Most buffers one kernel may read. */
  readonly limit: number;

  /** Read sets bounded by `limit` buffers per kernel. */
  constructor(limit: number) {
    this.limit = Math.max(2, limit);
  }
  /** `v` is (now) the buffer `b`. */
  buffer(v: Var, b: number): void {
    this.#of.set(v, new Set([b]));
  }
  /** `v` fuses the expressions of `from`. */
  union(v: Var, from: readonly Var[]): void {
    this.#of.set(v, unionOf(from.map((f) => this.of(f))));
  }
  /** The buffers `v`'s expression reads. */
  of(v: Var): ReadonlySet<number> {
    return this.#of.get(v) ?? EMPTY;
  }

  /**
   * Makes `e`'s inputs fit: materializes inputs (most reads first) until their union fits;
   * a concatenate of more buffers than the limit is split into concatenates of groups, each
   * materialized by `materializeNode`. Returns the input nodes to fuse (`nodeOf` after the
   * materializations; the groups for a split concatenate).
   */
  fit(
    e: Eqn,
    nodeOf: (v: Var) => Node,
    materialize: (v: Var) => void,
    materializeNode: (n: Node) => number,
    groupNode: (ins: Node[]) => Node,
  ): Node[] {
    const vs = e.inputs;
    while (this.#unionSize(vs) > this.limit) {
      let best: Var | undefined;
      for (const v of vs) {
        if (this.of(v).size > 1 && (!best || this.of(v).size > this.of(best).size)) best = v;
      }
      if (!best) break; // only plain buffers left
      materialize(best);
    }
    if (this.#unionSize(vs) <= this.limit || e.op.name !== "concatenate") {
      return vs.map(nodeOf);
    }
    let items: Item[] = vs.map((v) => ({ node: nodeOf(v), reads: this.of(v) }));
    while (unionOf(items.map((i) => i.reads)).size > this.limit) {
      items = this.#groups(items).map((g) => {
        if (g.length === 1) return g[0];
        const n = groupNode(g.map((i) => i.node));
        const b = materializeNode(n);
        return { node: bufferNode(b, n.aval), reads: new Set([b]) };
      });
    }
    return items.map((i) => i.node);
  }

  #unionSize(vs: readonly Var[]): number {
    return unionOf(vs.map((v) => this.of(v))).size;
  }

  /** Consecutive groups whose reads fit the limit. */
  #groups(items: Item[]): Item[][] {
    const out: Item[][] = [];
    let cur: Item[] = [];
    let reads = new Set<number>();
    for (const it of items) {
      const next = unionOf([reads, it.reads]);
      if (cur.length && next.size > this.limit) {
        out.push(cur);
        cur = [];
        reads = new Set(it.reads);
      } else reads = next;
      cur.push(it);
    }
    if (cur.length) out.push(cur);
    return out;
  }
}
