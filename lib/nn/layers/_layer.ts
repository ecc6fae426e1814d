// The Layer interface of nn.layers and defineLayer, which turns a forward function (params, x,
// context) -> [y, state] into the public init / apply / initState / outputShape object.
import { Tensor } from "../../tensor.ts";
import { checkOptions } from "../../options.ts";
import { makeJaxpr } from "../../api/jit.ts";
import { zeros } from "../../numpy.ts";

/** Options of `layer.apply`. */
export interface ApplyOptions<S = unknown> {
  /** PRNG key for stochastic layers (dropout) in training. */
  key?: Tensor;
  /** Training mode: dropout drops, batch norm uses and updates batch statistics (default false). */
  train?: boolean;
  /** Layer state (batch norm running statistics, from `initState`); apply then returns `[y, newState]`. */
  state?: S;
  /** Boolean attention mask (multiHeadAttention only). */
  mask?: Tensor;
  /** Keys/values input for cross-attention (multiHeadAttention only; default x). */
  context?: Tensor;
}

/** What a forward function sees besides params and x. */
export interface Context<S> {
  /** PRNG key, if given. */
  key?: Tensor;
  /** Training mode. */
  train: boolean;
  /** The layer's state (null for stateless layers). */
  state: S;
  /** Attention mask, if given. */
  mask?: Tensor;
  /** Cross-attention input, if given. */
  context?: Tensor;
}

/**
 * A pure layer: `init(key, inputShape)` makes its parameters (a pytree of Tensors);
 * `apply(params, x, opts?)` runs it. Layers with state (batch norm) make it with
 * `initState(inputShape)`; pass it as `opts.state` and `apply` returns `[y, newState]`.
 */
export interface Layer<P = unknown, S = unknown> {
  /** Layer name, for messages. */
  readonly name: string;
  /** Parameters for inputs of `inputShape` (batch axis included). */
  init(key: Tensor, inputShape: number[]): P;
  /** The state (null for stateless layers). */
  initState(inputShape: number[]): S;
  /** Runs the layer. */
  apply(params: P, x: Tensor, opts?: ApplyOptions<S> & { state?: undefined }): Tensor;
  /** Runs the layer with its state, returning the new state too. */
  apply(params: P, x: Tensor, opts: ApplyOptions<S> & { state: S }): [Tensor, S];
  /** The output shape for `inputShape` (traced, nothing is computed). */
  outputShape(params: P, inputShape: number[]): number[];
}

/** The parts a layer is made of. */
export interface LayerDef<P, S> {
  /** Layer name, for messages. */
  name: string;
  /** Makes the parameters. */
  init(key: Tensor, inputShape: number[]): P;
  /** Makes the state (stateful layers only). */
  initState?(inputShape: number[]): S;
  /** Runs the layer: the output and the new state. */
  forward(params: P, x: Tensor, ctx: Context<S>): [Tensor, S];
}

const APPLY_KEYS = ["key", "train", "state", "mask", "context"];

/** Builds a {@link Layer} from its parts. */
export function defineLayer<P, S = null>(def: LayerDef<P, S>): Layer<P, S> {
  const layer = {
    name: def.name,
    init: (key: Tensor, inputShape: number[]) => {
      if (!Array.isArray(inputShape) || inputShape.some((d) => !Number.isInteger(d) || d < 0)) {
        throw new TypeError(
          `${def.name}.init: inputShape must be an array of sizes, got ${inputShape}`,
        );
      }
      return def.init(key, inputShape);
    },
    initState: (inputShape: number[]) => (def.initState ? def.initState(inputShape) : null) as S,
    apply(params: P, x: Tensor, opts?: ApplyOptions<S>) {
      const o = checkOptions(`${def.name}.apply`, opts, APPLY_KEYS);
      if (!(x instanceof Tensor)) throw new TypeError(`${def.name}.apply: x must be a Tensor`);
      const stateful = o.state !== undefined;
      const ctx: Context<S> = { ...o, train: o.train ?? false, state: o.state as S };
      const [y, s] = def.forward(params, x, ctx);
      return stateful ? [y, s] : y;
    },
    outputShape(params: P, inputShape: number[]) {
      const state = layer.initState(inputShape);
      const jp = makeJaxpr((x: Tensor) =>
        (layer.apply as (p: P, x: Tensor, o: ApplyOptions<S>) => Tensor | [Tensor, S])(params, x, {
          state: state ?? undefined,
        })
      )(zeros(inputShape));
      return [...jp.outs[0].aval.shape];
    },
  };
  return layer as Layer<P, S>;
}
