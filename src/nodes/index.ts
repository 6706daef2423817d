/** Every built-in node kind, one file per family. */
import { Optimizer, Trainer } from './train.ts';
import { Registry, type AnyNodeKind } from '../runtime/index.ts';
import { Dataset } from './data.ts';
import { PromptDropout, RandomTimesteps } from './diffusion-train.ts';
import { BCE, FeatureMatching, FlowNLL, GANLoss, KLDivergence, MSE, WeightedSum } from './losses.ts';
import { ActNorm, AffineCoupling, FlowForward, FlowInverse, Invertible1x1Conv } from './flow/index.ts';
import { Discriminate, Discriminator } from './gan.ts';
import { Add, Lerp, Scale } from './math.ts';
import { ImageOutput, Plot, TensorOutput } from './outputs.ts';
import { Constant, NoiseSource } from './sources.ts';
import { Sampler } from './sampler.ts';
import { AddNoise, Scheduler } from './scheduler.ts';
import { EncodeText, Text, TextEncoder } from './text.ts';
import { UNet, UNetPredict } from './unet.ts';
import { Reparameterize, VAE, VAEDecode, VAEEncode } from './vae.ts';
import { Classifier, Classify, CrossEntropy, InceptionScore } from './judge.ts';
import { MLP, MLPApply } from './mlp.ts';

export const builtinKinds: AnyNodeKind[] = [NoiseSource, Constant, Text, Add, Scale, Lerp, ImageOutput, TensorOutput, Plot, TextEncoder, EncodeText, UNet, UNetPredict, Scheduler, AddNoise, RandomTimesteps, PromptDropout, Sampler, VAE, VAEEncode, VAEDecode, Reparameterize, Discriminator, Discriminate, ActNorm, Invertible1x1Conv, AffineCoupling, FlowForward, FlowInverse, Dataset, KLDivergence, BCE, MSE, GANLoss, FeatureMatching, FlowNLL, WeightedSum, Classifier, Classify, CrossEntropy, InceptionScore, MLP, MLPApply, Optimizer, Trainer];

/** A fresh registry holding every built-in kind (add your own with .register()). */
export const createRegistry = (): Registry => new Registry(builtinKinds);

export { NoiseSource, Constant, Text, Add, Scale, Lerp, ImageOutput, TensorOutput, Plot, TextEncoder, EncodeText, UNet, UNetPredict, RandomTimesteps, PromptDropout, Sampler, VAE, VAEEncode, VAEDecode, Reparameterize, Discriminator, Discriminate, ActNorm, Invertible1x1Conv, AffineCoupling, FlowForward, FlowInverse, Dataset, KLDivergence, BCE, MSE, GANLoss, FeatureMatching, FlowNLL, WeightedSum, Classifier, Classify, CrossEntropy, InceptionScore, MLP, MLPApply };
