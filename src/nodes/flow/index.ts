/** Flow kinds (RealNVP, Glow): layers that build a chain, and the nodes that apply it. */
export { ActNorm } from './actnorm.ts';
export { Invertible1x1Conv } from './conv1x1.ts';
export { AffineCoupling } from './coupling.ts';
export { FlowForward, FlowInverse } from './apply.ts';
export { FlowHandle, FlowLayer, flowForward, flowInverse, isFlow, liveLayerCount } from './handle.ts';

import { ActNorm } from './actnorm.ts';
import { FlowForward, FlowInverse } from './apply.ts';
import { Invertible1x1Conv } from './conv1x1.ts';
import { AffineCoupling } from './coupling.ts';

export const flowKinds = [ActNorm, Invertible1x1Conv, AffineCoupling, FlowForward, FlowInverse];
