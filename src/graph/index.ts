export * from './types.ts';
export { parseGraph, loadGraph, serializeGraph, checkReferences, type ParseResult } from './load.ts';
export { migrateDocument, detectVersion, FORMAT_MIGRATIONS, type FormatMigration } from './migrations.ts';
export { DOC_LIMITS } from './schema.ts';
export { setParam } from './edit.ts';
export { encodeShare, decodeShare, shareUrl, sharePayload, SHARE_KEY } from './share.ts';
export { embedGraph, graphTextFromPng, parseGraphPng, encodeRgbaPng, readChunks, writeChunks, PngError, type PngErrorCode } from './png.ts';
