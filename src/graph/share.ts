/**
 * Share links: a graph carried whole in a URL's fragment, `#g=<payload>`, where the payload is
 * base64url(deflate-raw(compact graph JSON)). The fragment never reaches a server, and nothing
 * else is needed to open it. Decoding validates like any other load (parse -> migrate -> zod ->
 * reference checks) and reports problems as GraphIssues; it never throws.
 *
 * A link is only as long as the browser allows (Chromium: 2 MB of URL); the typical example
 * graph is 1-3 kB of link. Works in Node ≥ 18 as well (CompressionStream is global there).
 */
import { deflate, fromBase64Url, inflate, toBase64Url } from './bytes.ts';
import { parseGraph, type ParseResult } from './load.ts';
import type { GraphDoc } from './types.ts';

/** The fragment key: `#g=...`. */
export const SHARE_KEY = 'g';
/** Chromium refuses URLs over 2 MiB; a payload longer than that was not made by a link. */
export const MAX_SHARE_CHARS = 2 * 1024 * 1024;
/** What a payload may inflate to; real graphs are far smaller. */
export const MAX_SHARED_GRAPH_BYTES = 16 * 1024 * 1024;

/** The payload for a graph: compact JSON, compressed, base64url. */
export async function encodeShare(doc: GraphDoc): Promise<string> {
  const json = new TextEncoder().encode(JSON.stringify(doc));
  return toBase64Url(await deflate(json, 'deflate-raw'));
}

/** A full link: `base` (a page URL; any fragment it has is replaced) + `#g=<payload>`. */
export async function shareUrl(doc: GraphDoc, base: string): Promise<string> {
  return `${base.replace(/#.*$/, '')}#${SHARE_KEY}=${await encodeShare(doc)}`;
}

/** The payload in a fragment (`#g=...`, with or without the `#`), or undefined when it has none. */
export function sharePayload(hash: string): string | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const payload = params.get(SHARE_KEY);
  return payload === null ? undefined : payload;
}

/** The graph in a payload, validated. Never throws: a damaged link gives issues, not a crash. */
export async function decodeShare(payload: string): Promise<ParseResult> {
  const damaged = (why: string): ParseResult => ({
    errors: [{ code: 'invalid-document', message: `the share link is damaged: ${why}`, detail: { source: 'share-link' } }],
  });
  if (payload.length === 0) return damaged('it carries no graph (nothing after "#g=")');
  if (payload.length > MAX_SHARE_CHARS) return damaged(`it is ${payload.length} characters long, more than a link can hold (${MAX_SHARE_CHARS})`);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(payload.trim());
  } catch (err) {
    return damaged(`${(err as Error).message}; was the link cut short or edited?`);
  }
  let json: string;
  try {
    const inflated = await inflate(bytes, 'deflate-raw', MAX_SHARED_GRAPH_BYTES);
    json = new TextDecoder('utf-8', { fatal: true }).decode(inflated);
  } catch (err) {
    return damaged(`${err instanceof Error ? err.message : String(err)}; was the link cut short or edited?`);
  }
  return parseGraph(json);
}
