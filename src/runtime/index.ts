/** The engine's public surface. Knows no concrete node kind and no platform. */
export * from './ports.ts';
export * from './params.ts';
export { defineNode, isBuilderKind, shapeError, ShapeError, type FingerprintContext, type TrainingRole, type NodeDef, type NodeKind, type AnyNodeKind, type RunContext, type InferContext, type Category, type ParamMigration, type ProgressInfo } from './define.ts';
export { Registry } from './registry.ts';
export { compile, type Plan, type PlanNode, type CompileResult } from './compile.ts';
export { execute, recipeKey, neededNodes, defaultOutputs, type RunEvent, type RunResult, type NodeReport, type ExecuteOptions } from './execute.ts';
export { TensorCache, type CacheStats } from './cache.ts';
export { selectBackend, describeAdapter, adapterName, type BackendInfo, type BackendName, type BackendRequest, type Platform, type AdapterDescription } from './backend.ts';
export { createRuntimeWith, type Runtime, type RuntimeOptions, type RunOptions } from './runtime.ts';
export { hashString, canonicalJson, hashValue } from './hash.ts';
export * from './values.ts';
export * from './image.ts';
export { tfSeed, stepSeed } from './random.ts';
export { ModelHandle, isModel, paramSeed, type Init } from './model.ts';
export { parseSafetensors, serializeSafetensors, SafetensorsError, type NamedTensor, type ParsedSafetensors } from './safetensors.ts';
export { hashBytes } from './hash.ts';
export { renderNodeReference } from './docs.ts';
export { train, planTraining, type TrainOptions, type TrainResult, type TrainStep, type Trainable, type OptimizerStore } from './train.ts';
