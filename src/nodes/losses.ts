/**
 * Losses: each turns tensors into one scalar tensor (shape []) that an optimizer minimises.
 *
 *   KLDivergence     KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ_j (1 + log σ²_j − μ²_j − σ²_j)     Kingma & Welling 2014, app. B
 *   BCE              from logits x:        z·softplus(−x) + (1 − z)·softplus(x)
 *                                          (= max(x, 0) − x·z + log(1 + e^−|x|), without cancellation)
 *                    from probabilities p: −(z·log p̂ + (1 − z)·log(1 − p̂)),  p̂ = clip(p, ε, 1 − ε)
 *   MSE              (a − b)²
 *   GANLoss          on discriminator logits x, D = sigmoid(x), −log D = softplus(−x), −log(1 − D) = softplus(x):
 *                      minimax         (Goodfellow et al. 2014)  D: softplus(−x_r), softplus(x_f)   G: −softplus(x_f)
 *                      non_saturating  (same paper, §3)          D: as minimax                      G: softplus(−x_f)
 *                      hinge           (Lim & Ye 2017; Miyato et al. 2018)  D: relu(1 − x_r), relu(1 + x_f)   G: −x_f
 *   FeatureMatching  pairwise:    (f(x) − f(x̃))²            Larsen et al. 2016 (VAE/GAN: Gaussian on discriminator features)
 *                    batch_mean:  (E f(x) − E f(x̃))²        Salimans et al. 2016 (feature matching)
 *   FlowNLL          −log p(x) = −(log N(z; 0, I) + log|det ∂z/∂x|),  log N(z; 0, I) = −½ ‖z‖² − (D/2)·log 2π
 *                    bits/dim  = NLL / (D·ln 2)                 Dinh et al. 2017 (RealNVP); Kingma & Dhariwal 2018 (Glow)
 *   WeightedSum      Σ_k w_k·L_k
 *
 * Reductions (where a `reduction` param exists): mean = over every element; batchmean = summed over
 * each sample's elements, then averaged over the batch (axis 0: the per-sample KL or log-likelihood
 * of a VAE); sum = over everything.
 *
 * For the trainer: every `run` here is synchronous and uses only ops that tfjs differentiates on
 * cpu, wasm and webgpu (softplus, relu, exp, log, square, squaredDifference, clipByValue, sum, mean),
 * so tf.variableGrads can take gradients through it. Softplus is smooth at 0, unlike the
 * max(x, 0) + log1p(e^−|x|) form, whose relu/abs subgradients would give a gradient off by ½ at x = 0.
 */
import * as tf from '@tensorflow/tfjs';
import {
  bool,
  broadcastShapes,
  defineNode,
  elementCount,
  enumParam,
  formatShape,
  int,
  number,
  shapeError,
  tensor,
  textParam,
  type PortType,
  type Shape,
} from '../runtime/index.ts';

// ---- shared pieces ----------------------------------------------------------------------------

const REDUCTIONS = ['mean', 'batchmean', 'sum'] as const;
type Reduction = (typeof REDUCTIONS)[number];
const reductionParam = (def: Reduction) =>
  enumParam(REDUCTIONS, def, { doc: 'mean: over every element; batchmean: summed per sample, averaged over the batch (axis 0); sum: over everything' });

function reduce(x: tf.Tensor, how: Reduction): tf.Scalar {
  if (how === 'mean') return tf.mean(x);
  if (how === 'sum') return tf.sum(x);
  return tf.div(tf.sum(x), x.rank === 0 ? 1 : x.shape[0]);
}

/** The output type every loss shares: one float. */
const scalarOut = (doc: string) => tensor([], { doc });
const SCALAR = tensor([]);

const shapeOf = (t: unknown): Shape | undefined => {
  const p = t as PortType | undefined;
  return p?.kind === 'tensor' ? p.shape : undefined;
};

/**
 * Why `b` cannot stand beside `a` in an elementwise loss, or null. `b` may broadcast to `a`'s
 * shape but not widen it: a [N, 1] prediction against an [N] target would silently become [N, N].
 */
function broadcastProblem(a: Shape, b: Shape, aName: string): string | null {
  const out = broadcastShapes(a, b);
  if (typeof out === 'string') return out;
  const widens = out.length !== a.length || out.some((d, i) => typeof d === 'number' && typeof a[i] === 'number' && d !== a[i]);
  return widens ? `${formatShape(b)} would widen ${aName} ${formatShape(a)} to ${formatShape(out)}; the shapes must match (or broadcast to ${aName}'s)` : null;
}

function checkInfer(inputs: Record<string, unknown>, a: string, b: string): void {
  const sa = shapeOf(inputs[a]);
  const sb = shapeOf(inputs[b]);
  if (!sa || !sb) return;
  const why = broadcastProblem(sa, sb, a);
  if (why) shapeError(b, why);
}

/** The same check at run time, for shapes compile could not know. */
function checkRun(x: tf.Tensor, y: tf.Tensor, a: string, b: string): void {
  const why = broadcastProblem(x.shape, y.shape, a);
  if (why) throw new Error(`input "${b}": ${why}`);
}

// ---- KL divergence to the prior ---------------------------------------------------------------

export const KLDivergence = defineNode({
  type: 'KLDivergence',
  category: 'losses',
  doc:
    'KL(N(μ, σ²) ‖ N(0, I)) from a Gaussian posterior’s mean and log-variance: −½ Σ (1 + log σ² − μ² − σ²), summed over ' +
    'the latent dims and averaged over the batch (batchmean, the VAE’s prior term). Zero when mean = 0 and logvar = 0.',
  inputs: {
    mean: tensor(undefined, { doc: 'μ, [N, ...] (VAEEncode.mean)' }),
    logvar: tensor(undefined, { doc: 'log σ², the shape of mean (VAEEncode.logvar)' }),
  },
  outputs: { loss: scalarOut('the KL divergence, in nats') },
  params: { reduction: reductionParam('batchmean') },
  infer: ({ inputs }) => {
    checkInfer(inputs, 'mean', 'logvar');
    return { loss: SCALAR };
  },
  run: ({ inputs, params }) => {
    const mu = inputs.mean as tf.Tensor;
    const logvar = inputs.logvar as tf.Tensor;
    checkRun(mu, logvar, 'mean', 'logvar');
    const loss = tf.tidy(() => {
      // per element: −½ (1 + log σ² − μ² − e^{log σ²})
      const perElement = tf.mul(-0.5, tf.sub(tf.sub(tf.add(1, logvar), tf.square(mu)), tf.exp(logvar)));
      return reduce(perElement, params.reduction);
    });
    return { loss };
  },
});

// ---- binary cross-entropy ---------------------------------------------------------------------

export const BCE = defineNode({
  type: 'BCE',
  category: 'losses',
  doc:
    'Binary cross-entropy −(z·log p + (1 − z)·log(1 − p)) between predictions and targets z ∈ [0, 1] (a Bernoulli ' +
    'decoder’s reconstruction term). With fromLogits the prediction is a logit x and the loss is computed stably as ' +
    'z·softplus(−x) + (1 − z)·softplus(x), finite for any x; otherwise probabilities are clipped to [eps, 1 − eps]. ' +
    'With no target connected, every target is `targetValue` (e.g. 1 for “real”).',
  inputs: {
    prediction: tensor(undefined, { doc: 'probabilities in [0, 1], or logits with fromLogits' }),
    target: tensor(undefined, { optional: true, doc: 'targets in [0, 1], the prediction’s shape (or broadcasting to it)' }),
  },
  outputs: { loss: scalarOut('the cross-entropy, in nats') },
  params: {
    fromLogits: bool(false, { doc: 'the prediction is a logit (before the sigmoid): exact and stable for any value' }),
    eps: number(1e-7, { min: 0, max: 0.1, doc: 'probabilities are clipped to [eps, 1 − eps] (ignored with fromLogits)' }),
    targetValue: number(1, { min: 0, max: 1, step: 0.1, doc: 'the target when the target input is not connected' }),
    reduction: reductionParam('mean'),
  },
  infer: ({ inputs }) => {
    checkInfer(inputs, 'prediction', 'target');
    return { loss: SCALAR };
  },
  run: ({ inputs, params }) => {
    const pred = inputs.prediction as tf.Tensor;
    const target = inputs.target as tf.Tensor | undefined;
    if (target) checkRun(pred, target, 'prediction', 'target');
    const loss = tf.tidy(() => {
      const z = target ?? tf.scalar(params.targetValue);
      let perElement: tf.Tensor;
      if (params.fromLogits) {
        // −z·log σ(x) − (1 − z)·log(1 − σ(x)),  −log σ(x) = softplus(−x),  −log(1 − σ(x)) = softplus(x)
        perElement = tf.add(tf.mul(z, tf.softplus(tf.neg(pred))), tf.mul(tf.sub(1, z), tf.softplus(pred)));
      } else {
        const p = tf.clipByValue(pred, params.eps, 1 - params.eps);
        perElement = tf.neg(tf.add(tf.mul(z, tf.log(p)), tf.mul(tf.sub(1, z), tf.log(tf.sub(1, p)))));
      }
      return reduce(perElement, params.reduction);
    });
    return { loss };
  },
});

// ---- mean squared error -----------------------------------------------------------------------

export const MSE = defineNode({
  type: 'MSE',
  category: 'losses',
  doc: 'Squared error (prediction − target)², averaged over every element by default (a Gaussian decoder’s reconstruction term, up to scale).',
  inputs: {
    prediction: tensor(undefined, { doc: 'any shape' }),
    target: tensor(undefined, { doc: 'the prediction’s shape (or broadcasting to it)' }),
  },
  outputs: { loss: scalarOut('the mean (or summed) squared error') },
  params: { reduction: reductionParam('mean') },
  infer: ({ inputs }) => {
    checkInfer(inputs, 'prediction', 'target');
    return { loss: SCALAR };
  },
  run: ({ inputs, params }) => {
    const a = inputs.prediction as tf.Tensor;
    const b = inputs.target as tf.Tensor;
    checkRun(a, b, 'prediction', 'target');
    return { loss: tf.tidy(() => reduce(tf.squaredDifference(a, b), params.reduction)) };
  },
});

// ---- GAN objectives ---------------------------------------------------------------------------

const GAN_MODES = ['non_saturating', 'minimax', 'hinge'] as const;
const GAN_ROLES = ['generator', 'discriminator_real', 'discriminator_fake'] as const;

/** The per-element GAN loss on logits x (see the header for the table). */
export function ganLoss(x: tf.Tensor, mode: (typeof GAN_MODES)[number], role: (typeof GAN_ROLES)[number], smoothing = 0): tf.Tensor {
  if (mode === 'hinge') {
    if (role === 'generator') return tf.neg(x);
    return tf.relu(role === 'discriminator_real' ? tf.sub(1, x) : tf.add(1, x));
  }
  if (role === 'discriminator_fake') return tf.softplus(x); // −log(1 − D(x̃))
  if (role === 'discriminator_real') {
    // −(1 − s)·log D(x) − s·log(1 − D(x)): one-sided label smoothing (Salimans et al. 2016) at s > 0
    const real = tf.softplus(tf.neg(x));
    return smoothing > 0 ? tf.add(tf.mul(1 - smoothing, real), tf.mul(smoothing, tf.softplus(x))) : real;
  }
  return mode === 'minimax' ? tf.neg(tf.softplus(x)) : tf.softplus(tf.neg(x)); // log(1 − D(G(z))) | −log D(G(z))
}

export const GANLoss = defineNode({
  type: 'GANLoss',
  category: 'losses',
  doc:
    'An adversarial loss on discriminator logits (before the sigmoid), stable for any logit. role picks the term: ' +
    'the generator’s (on logits of generated samples), or the discriminator’s on real or on generated samples (add the two ' +
    'with WeightedSum). non_saturating: G minimises −log D(G(z)); minimax: G minimises log(1 − D(G(z))); hinge: ' +
    'D minimises relu(1 − D(x)) + relu(1 + D(G(z))), G minimises −D(G(z)).',
  inputs: { logits: tensor(undefined, { doc: 'discriminator logits, e.g. [N, 1] (Discriminate.logits)' }) },
  outputs: { loss: scalarOut('the mean loss over the logits') },
  params: {
    mode: enumParam(GAN_MODES, 'non_saturating', { doc: 'non_saturating, minimax or hinge' }),
    role: enumParam(GAN_ROLES, 'generator', { doc: 'generator (logits of generated samples), discriminator_real or discriminator_fake' }),
    smoothing: number(0, { min: 0, max: 0.5, step: 0.05, doc: 'one-sided label smoothing: real targets become 1 − smoothing (discriminator_real, non-hinge)' }),
    reduction: enumParam(['mean', 'sum'], 'mean', { doc: 'mean or sum over the logits' }),
  },
  infer: () => ({ loss: SCALAR }),
  run: ({ inputs, params }) => {
    const x = inputs.logits as tf.Tensor;
    const loss = tf.tidy(() => reduce(ganLoss(x, params.mode, params.role, params.smoothing), params.reduction));
    return { loss };
  },
});

// ---- feature matching -------------------------------------------------------------------------

export const FeatureMatching = defineNode({
  type: 'FeatureMatching',
  category: 'losses',
  doc:
    'Squared distance between discriminator features of real (a) and reconstructed or generated (b) samples. pairwise ' +
    '(Larsen et al. 2016, VAE/GAN): sample by sample, (f(x) − f(x̃))², the learned-similarity reconstruction loss. ' +
    'batch_mean (Salimans et al. 2016): between the batches’ mean features, ‖E f(x) − E f(G(z))‖², batch sizes may differ.',
  inputs: {
    a: tensor(undefined, { doc: 'features [N, ...] (Discriminate.features on real data)' }),
    b: tensor(undefined, { doc: 'features [N, ...] (on reconstructions or samples)' }),
  },
  outputs: { loss: scalarOut('the squared feature distance') },
  params: {
    mode: enumParam(['pairwise', 'batch_mean'], 'pairwise', { doc: 'pairwise (per sample) or batch_mean (mean features)' }),
    reduction: reductionParam('mean'),
  },
  infer: ({ inputs, params }) => {
    const sa = shapeOf(inputs.a);
    const sb = shapeOf(inputs.b);
    if (sa && sb && params.mode === 'batch_mean') {
      const why = broadcastProblem(sa.slice(1), sb.slice(1), 'a');
      if (why || sa.length !== sb.length) shapeError('b', `features ${formatShape(sb)} do not match ${formatShape(sa)} past the batch dim`);
    } else checkInfer(inputs, 'a', 'b');
    return { loss: SCALAR };
  },
  run: ({ inputs, params }) => {
    const a = inputs.a as tf.Tensor;
    const b = inputs.b as tf.Tensor;
    if (params.mode === 'pairwise') checkRun(a, b, 'a', 'b');
    else if (a.rank !== b.rank || broadcastProblem(a.shape.slice(1), b.shape.slice(1), 'a')) {
      throw new Error(`input "b": features ${formatShape(b.shape)} do not match ${formatShape(a.shape)} past the batch dim`);
    }
    const loss = tf.tidy(() => {
      if (params.mode === 'pairwise') return reduce(tf.squaredDifference(a, b), params.reduction);
      // The difference of the mean features is one "sample": batchmean and sum both sum it.
      const d = tf.squaredDifference(tf.mean(a, 0), tf.mean(b, 0));
      return params.reduction === 'mean' ? tf.mean(d) : tf.sum(d);
    });
    return { loss };
  },
});

// ---- normalising-flow likelihood --------------------------------------------------------------

const LOG_2PI = Math.log(2 * Math.PI);

export const FlowNLL = defineNode({
  type: 'FlowNLL',
  category: 'losses',
  doc:
    'Negative log-likelihood of data under a normalising flow, from the latent z = f(x) and log|det ∂f/∂x| per sample: ' +
    '−(log N(z; 0, I) + logdet), averaged over the batch, and the same in bits per dimension (NLL / (D·ln 2), ' +
    'D = elements per sample). For data made from b-bit levels scaled to [0, 1] and dequantised with uniform noise, set ' +
    'bits = b to add D·ln 2^b, the NLL of the discrete data (8-bit images: +8 bits/dim); logdet must then include ' +
    'any rescaling of [0, 1] the flow does.',
  inputs: {
    z: tensor(undefined, { doc: 'latents [N, ...] (FlowForward.z)' }),
    logdet: tensor(undefined, { doc: 'log|det ∂z/∂x| per sample, [N] (FlowForward.logdet)' }),
  },
  outputs: {
    loss: scalarOut('the mean NLL per sample, in nats'),
    bitsPerDim: scalarOut('the NLL in bits per dimension'),
  },
  params: {
    bits: int(0, { min: 0, max: 16, doc: '0: continuous data; b: data were b-bit levels scaled to [0, 1] (adds D·ln 2^b nats)' }),
  },
  infer: ({ inputs }) => {
    const z = shapeOf(inputs.z);
    const ld = shapeOf(inputs.logdet);
    if (z && z.length < 1) shapeError('z', 'expects a batch [N, ...], got a scalar');
    if (ld && !(ld.length === 0 || (ld.length === 1 && (z === undefined || broadcastProblem([z[0]], ld, 'z') === null)))) {
      shapeError('logdet', `expects one log-determinant per sample, [${z ? String(z[0] ?? '?') : 'N'}], got ${formatShape(ld)}`);
    }
    return { loss: SCALAR, bitsPerDim: SCALAR };
  },
  run: ({ inputs, params }) => {
    const z = inputs.z as tf.Tensor;
    const logdet = inputs.logdet as tf.Tensor;
    if (z.rank < 1) throw new Error('input "z": expects a batch [N, ...], got a scalar');
    if (logdet.rank > 1 || (logdet.rank === 1 && logdet.shape[0] !== z.shape[0] && logdet.shape[0] !== 1)) {
      throw new Error(`input "logdet": expects [${z.shape[0]}], got ${formatShape(logdet.shape)}`);
    }
    const dims = elementCount(z.shape.slice(1)) ?? 1;
    const offset = dims * params.bits * Math.LN2; // D·ln 2^b
    return tf.tidy(() => {
      const sq = z.rank === 1 ? tf.square(z) : tf.sum(tf.square(z), z.shape.slice(1).map((_, i) => i + 1));
      // −log N(z; 0, I) = ½‖z‖² + (D/2)·log 2π, per sample
      const nll = tf.sub(tf.add(tf.mul(0.5, sq), 0.5 * dims * LOG_2PI + offset), logdet);
      const loss = tf.mean(nll);
      return { loss, bitsPerDim: tf.div(loss, dims * Math.LN2) };
    });
  },
});

// ---- weighted sum -----------------------------------------------------------------------------

/** "1, 0.5" -> [1, 0.5] ("" -> []); a message when a token is not a finite number. */
export function parseWeights(s: string): number[] | string {
  const tokens = s.split(/[\s,;]+/).filter(Boolean);
  const out = tokens.map(Number);
  const bad = tokens.find((_, i) => !Number.isFinite(out[i]));
  return bad === undefined ? out : `"${bad}" is not a number`;
}

const weightsText = textParam('', {
  maxLength: 1000,
  doc: 'weights in the order the terms were connected, separated by commas or spaces ("1, 0.5"); empty: every weight 1; one number: every term',
});
const weightsSpec = {
  ...weightsText,
  schema: weightsText.schema.refine((s) => typeof parseWeights(s) !== 'string', { message: 'expects numbers separated by commas or spaces, e.g. "1, 0.5"' }),
};

/** The weight of each of `n` terms, or why the list does not fit. */
function weightsFor(s: string, n: number): number[] | string {
  const w = parseWeights(s);
  if (typeof w === 'string') return w;
  if (w.length === 0) return new Array<number>(n).fill(1);
  if (w.length === 1) return new Array<number>(n).fill(w[0]);
  return w.length === n ? w : `${w.length} weights for ${n} connected terms`;
}

export const WeightedSum = defineNode({
  type: 'WeightedSum',
  category: 'losses',
  doc:
    'Σ w_k·L_k over any number of scalar losses: how a hybrid objective is composed (VAE: reconstruction + β·KL; ' +
    'VAE-GAN: KL + feature reconstruction + GAN terms). Weights follow the order in which the terms were connected.',
  inputs: { terms: tensor([], { multi: true, doc: 'scalar losses (shape [])' }) },
  outputs: { loss: scalarOut('the weighted sum (0 with no terms)') },
  params: { weights: weightsSpec },
  infer: ({ inputs, params }) => {
    const terms = (inputs.terms as PortType[] | undefined) ?? [];
    terms.forEach((t, i) => {
      const s = shapeOf(t);
      if (s && s.length !== 0) shapeError('terms', `term ${i + 1} is ${formatShape(s)}, expects a scalar loss (shape [])`);
    });
    const w = weightsFor(params.weights, terms.length);
    if (typeof w === 'string' && terms.length > 0) shapeError('terms', w);
    return { loss: SCALAR };
  },
  run: ({ inputs, params }) => {
    const terms = (inputs.terms as tf.Tensor[] | undefined) ?? [];
    const w = weightsFor(params.weights, terms.length);
    if (typeof w === 'string') throw new Error(`input "terms": ${w}`);
    terms.forEach((t, i) => {
      if (t.rank !== 0) throw new Error(`input "terms": term ${i + 1} is ${formatShape(t.shape)}, expects a scalar loss`);
    });
    const loss = tf.tidy(() => terms.reduce<tf.Tensor>((acc, t, i) => tf.add(acc, tf.mul(t, w[i])), tf.scalar(0)) as tf.Scalar);
    return { loss };
  },
});
