export * from './types.ts';
export { parseGraph, loadGraph, serializeGraph, checkReferences, type ParseResult } from './load.ts';
export { migrateDocument, detectVersion, FORMAT_MIGRATIONS, type FormatMigration } from './migrations.ts';
export { DOC_LIMITS } from './schema.ts';
export { setParam } from './edit.ts';
