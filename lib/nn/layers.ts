/**
 * `nn.layers`: pure layers, each `{ init(key, inputShape) → params, apply(params, x, opts?) }`,
 * with PyTorch's parameter names (`weight`, `bias`), shapes (`Linear` weight `[out, in]`, conv
 * weight `[F, C/groups, ...kernel]`, channels on axis 1) and default initialisation, so a
 * PyTorch `state_dict` saved as safetensors loads with `io.load` and runs here. Stateful layers
 * (batch norm) take `opts.state` (from `initState`) and then return `[y, newState]`.
 *
 * @example A small CNN
 * ```ts
 * import { nn, np, random } from "../../mod.ts";
 * const L = nn.layers;
 * const net = L.sequential(L.conv(4, 3, { padding: 1 }), L.batchNorm(), L.relu(), L.maxPool({ window: 2 }), L.flatten(), L.dense(10));
 * const params = net.init(random.key(0), [2, 1, 8, 8]);
 * const [y, state] = net.apply(params, np.ones([2, 1, 8, 8]), { state: net.initState([2, 1, 8, 8]), train: true });
 * if (y.shape.join() !== "2,10" || state.length !== 6) throw new Error();
 * ```
 * @module
 */
export * from "./layers/_layer.ts";
export * from "./layers/basic.ts";
export * from "./layers/composite.ts";
