/** The example graphs shipped in graphs/, bundled as text and read by name (`?graph=noise-blend`). */
const files = import.meta.glob('../../graphs/*.json', { eager: true, query: '?raw', import: 'default' }) as Record<string, string>;

export const examples: Record<string, string> = Object.fromEntries(
  Object.entries(files).map(([path, text]) => [path.replace(/^.*\//, '').replace(/\.json$/, ''), text]),
);

export const DEFAULT_EXAMPLE = 'noise-blend';
