/**
 * Graphs in and out of files: what a dropped or picked file holds (JSON, or a PNG carrying a
 * graph), downloads, and the PNG export of an ImageOutput picture with the graph embedded.
 */
import { formatIssue, parseGraph, serializeGraph, type GraphDoc, type GraphIssue } from '../../graph/index.ts';
import { embedGraph, encodeRgbaPng, isPng, parseGraphPng } from '../../graph/png.ts';
import type { RGBAImage } from '../../runtime/index.ts';

/** Files bigger than this are not graphs (a PNG export of a large grid is a few MB). */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

export type Opened = { doc: GraphDoc; name: string } | { error: string };

/** The graph in a file's bytes; a readable error when there is none or it is broken. */
export function graphFromBytes(bytes: Uint8Array, fileName: string): Opened {
  const png = isPng(bytes);
  let parsed;
  if (png) {
    parsed = parseGraphPng(bytes);
  } else {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return { error: `${fileName} is neither a graph (JSON) nor a PNG exported by Weft` };
    }
    parsed = parseGraph(text);
  }
  if (!parsed.doc || parsed.errors.length) return { error: `cannot open ${fileName}:\n${describe(parsed.errors)}` };
  const stem = fileName.replace(/\.(weft\.)?(json|png)$/i, '');
  const name = parsed.doc.name && parsed.doc.name !== 'Untitled' ? parsed.doc.name : stem || 'Untitled';
  return { doc: parsed.doc, name };
}

export async function graphFromFile(file: File): Promise<Opened> {
  if (file.size > MAX_FILE_BYTES) return { error: `${file.name} is ${Math.round(file.size / 2 ** 20)} MB: too big to be a graph` };
  return graphFromBytes(new Uint8Array(await file.arrayBuffer()), file.name);
}

export const describe = (errors: GraphIssue[]): string => {
  const shown = errors.slice(0, 8).map(formatIssue);
  return shown.join('\n') + (errors.length > shown.length ? `\n… and ${errors.length - shown.length} more` : '');
};

/** A file name from a graph name. */
export const fileStem = (name: string): string =>
  name
    .trim()
    .replace(/[^\p{L}\p{N}._-]+/gu, '-')
    .replace(/^[-.]+|-+$/g, '') || 'graph';

export function download(bytes: Uint8Array | string, fileName: string, type: string): void {
  const blob = new Blob([bytes as BlobPart], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function exportJson(doc: GraphDoc, name: string): string {
  const fileName = `${fileStem(name)}.json`;
  download(serializeGraph(doc), fileName, 'application/json');
  return fileName;
}

/** The ImageOutput to export: the first of `preferred` with a picture, else "preview", else the first in graph order. */
export function pickImage(doc: GraphDoc, images: Record<string, RGBAImage>, preferred: Array<string | undefined> = []): string | undefined {
  const chosen = preferred.find((id) => id !== undefined && images[id]);
  if (chosen) return chosen;
  if (images.preview) return 'preview';
  return doc.nodes.find((n) => images[n.id])?.id ?? Object.keys(images)[0];
}

/** PNG bytes of a picture with the graph embedded. */
export async function pngWithGraph(image: RGBAImage, doc: GraphDoc): Promise<Uint8Array> {
  return embedGraph(await encodeRgbaPng(image), doc);
}
