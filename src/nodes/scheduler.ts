/**
 * Diffusion schedulers as graph nodes: `Scheduler` configures one (DDPM, DDIM, Euler or
 * DPM-Solver++(2M), diffusers' config keys and defaults) and `AddNoise` applies the forward process
 * a U-Net is trained on:
 *
 *   x_t = √ᾱ_t · x0 + √(1 − ᾱ_t) · ε        (Ho et al. 2020, eq. 4; ᾱ_t = ∏_{s≤t} (1 − β_s))
 *
 * The math lives in schedulers/ (one scheduler per file, each citing its paper); this file is the
 * interface. A Scheduler's output is a recipe, not a running scheduler: DPM++ keeps model outputs
 * between steps and Euler counts them, so every sampling run calls `create()` for a fresh instance.
 *
 * Param names are diffusers' config keys (snake_case, unlike Weft's other kinds) so a
 * `scheduler_config.json` maps onto them one to one.
 */
import type * as tf from '@tensorflow/tfjs';
import {
  bool,
  defineNode,
  enumParam,
  int,
  number,
  scheduler,
  shapeError,
  shapeMismatch,
  tensor,
  type PortType,
} from '../runtime/index.ts';
import {
  BETA_SCHEDULES,
  PREDICTION_TYPES,
  SCHEDULER_TYPES,
  SchedulerSpec,
  TIMESTEP_SPACINGS,
  type SchedulerConfig,
} from './schedulers/index.ts';

const tensorType = (t: PortType | PortType[] | undefined) => (t && !Array.isArray(t) && t.kind === 'tensor' ? t : undefined);

export const Scheduler = defineNode({
  type: 'Scheduler',
  category: 'diffusion',
  doc:
    'A diffusion noise schedule and sampler rule, configured as Hugging Face diffusers configures its schedulers ' +
    '(the param names are diffusers’ config keys). ddpm: ancestral sampling (Ho et al. 2020), stochastic, best with ' +
    'many steps. ddim: deterministic at eta 0 (Song et al. 2021), good at 20–50 steps. euler: Euler steps of the ' +
    'probability-flow ODE in σ (Karras et al. 2022). dpmpp_2m: DPM-Solver++(2M), a second-order multistep solver ' +
    '(Lu et al. 2022), good at 10–25 steps. Connect it to a Sampler (which makes a fresh scheduler for every run) or to ' +
    'AddNoise (training). Defaults are diffusers’ for a 1000-step linear schedule; for Stable-Diffusion-style ' +
    'latents use scaled_linear, 0.00085 → 0.012, steps_offset 1.',
  inputs: {},
  outputs: { scheduler: scheduler({ doc: 'the configured scheduler (a recipe: each run makes its own instance)' }) },
  params: {
    type: enumParam(SCHEDULER_TYPES, 'ddim', { doc: 'ddpm, ddim, euler or dpmpp_2m (DPM-Solver++ 2M)' }),
    num_train_timesteps: int(1000, { min: 2, max: 10000, doc: 'T, the number of noise levels the model was trained with' }),
    beta_schedule: enumParam(BETA_SCHEDULES, 'linear', {
      doc: 'β_t over training: linear (DDPM), scaled_linear (linear in √β, latent diffusion), squaredcos_cap_v2 (cosine ᾱ, Nichol & Dhariwal 2021; ignores beta_start/end)',
    }),
    beta_start: number(0.0001, { min: 1e-8, max: 0.999, step: 0.0001, doc: 'β at t = 0' }),
    beta_end: number(0.02, { min: 1e-8, max: 0.999, step: 0.001, doc: 'β at t = T − 1' }),
    prediction_type: enumParam(PREDICTION_TYPES, 'epsilon', {
      doc: 'what the model predicts: epsilon (the noise ε), v_prediction (v = √ᾱ·ε − √(1−ᾱ)·x0, Salimans & Ho 2022) or sample (x0)',
    }),
    timestep_spacing: enumParam(['default', ...TIMESTEP_SPACINGS], 'default', {
      doc: 'which training timesteps the inference steps visit: leading (0, T/n, … + steps_offset), trailing (ends at T − 1), linspace (evenly from T − 1 to 0); default: diffusers’ choice per type (leading for ddpm/ddim, linspace for euler/dpmpp_2m)',
    }),
    steps_offset: int(0, { min: 0, max: 1000, doc: 'added to every timestep with leading spacing (Stable Diffusion uses 1)' }),
    clip_sample: bool(false, { doc: 'ddpm, ddim: clamp the predicted x0 to ±clip_sample_range (on for pixel-space models in [−1, 1]; diffusers’ class default is on, latent models turn it off)' }),
    clip_sample_range: number(1, { min: 0, step: 0.1, doc: 'the bound for clip_sample' }),
    set_alpha_to_one: bool(true, { doc: 'ddim: after the last step use ᾱ = 1 (a clean sample) rather than ᾱ_0' }),
    eta: number(0, { min: 0, max: 1, step: 0.1, doc: 'ddim: η, the share of ancestral noise (0 deterministic, 1 like DDPM); a Sampler’s own eta overrides it' }),
    variance_type: enumParam(['fixed_small', 'fixed_large'], 'fixed_small', { doc: 'ddpm: the step noise variance, β̃_t (posterior) or β_t' }),
    use_karras_sigmas: bool(false, { doc: 'euler, dpmpp_2m: space the noise levels as Karras et al. 2022, eq. 5 (ρ = 7), denser near σ_min' }),
    s_churn: number(0, { min: 0, step: 0.1, doc: 'euler: noise re-injected per step (Karras et al. Algorithm 2); 0 is deterministic' }),
    final_sigmas_type: enumParam(['zero', 'sigma_min'], 'zero', { doc: 'euler, dpmpp_2m: the noise level after the last step, 0 or the smallest training σ' }),
    lower_order_final: bool(true, { doc: 'dpmpp_2m: first-order final steps when there are fewer than 15 (stabler)' }),
  },
  run: ({ params }) => {
    const { type, timestep_spacing, ...rest } = params;
    const config: Partial<SchedulerConfig> = { ...rest, ...(timestep_spacing === 'default' ? {} : { timestep_spacing }) };
    return { scheduler: new SchedulerSpec(type, config) };
  },
});

export const AddNoise = defineNode({
  type: 'AddNoise',
  category: 'diffusion',
  doc:
    'Noises clean data to a training timestep t: out = √ᾱ_t·x0 + √(1 − ᾱ_t)·noise, the forward process q(x_t | x0) of ' +
    'Ho et al. 2020 with the scheduler’s ᾱ (the same point for every scheduler type; it is diffusers’ DDPM/DDIM ' +
    'add_noise). For training a denoiser: feed out and t to the U-Net and regress its output on noise. t is the ' +
    'timestep param, or per batch item from the optional t input (integers in 0 … T − 1, clamped).',
  inputs: {
    x0: tensor(undefined, { doc: 'clean data (images or latents), NHWC' }),
    noise: tensor(undefined, { doc: 'standard normal noise ε of the same shape as x0' }),
    scheduler: scheduler({ doc: 'a Scheduler: supplies ᾱ_t' }),
    t: tensor(undefined, { dtype: 'any', optional: true, doc: 'timesteps [N] (one per batch item) or [1]; overrides the timestep param' }),
  },
  outputs: { out: tensor(undefined, { doc: 'x_t, shaped like x0' }) },
  params: {
    timestep: int(500, { min: 0, max: 9999, doc: 'the training timestep t when the t input is open (must be below the scheduler’s num_train_timesteps)' }),
  },
  infer: ({ inputs }) => {
    const x0 = tensorType(inputs.x0);
    const noise = tensorType(inputs.noise);
    const t = tensorType(inputs.t);
    if (x0?.shape && noise?.shape) {
      const why = shapeMismatch(noise.shape, x0.shape);
      if (why) shapeError('noise', `noise must be shaped like x0: ${why}`);
    }
    if (t?.shape) {
      const n = x0?.shape?.[0];
      const len = t.shape.length === 0 ? 1 : t.shape.length === 1 ? t.shape[0] : undefined;
      if (len === undefined) shapeError('t', `t must be [N] or [1] (one timestep per batch item), got rank ${t.shape.length}`);
      if (typeof len === 'number' && len !== 1 && typeof n === 'number' && len !== n) {
        shapeError('t', `t has ${len} timesteps for a batch of ${n}; give one per batch item, or one for all`);
      }
    }
    return { out: x0 ? tensor(x0.shape) : tensor() };
  },
  run: ({ inputs, params }) => {
    const spec = inputs.scheduler as SchedulerSpec;
    if (typeof spec?.addNoise !== 'function') throw new Error('the scheduler input has no forward process (connect a Scheduler node)');
    const t = (inputs.t as tf.Tensor | undefined) ?? params.timestep;
    if (typeof t === 'number' && t >= spec.config.num_train_timesteps) {
      throw new Error(`timestep ${t} is outside the scheduler's 0..${spec.config.num_train_timesteps - 1} (num_train_timesteps ${spec.config.num_train_timesteps})`);
    }
    return { out: spec.addNoise(inputs.x0 as tf.Tensor, inputs.noise as tf.Tensor, t) };
  },
});
