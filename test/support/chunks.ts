import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The built chunks (`<dist>/chunks/*.js`) whose text holds `marker`, as absolute paths. */
export function chunksHolding(dist: string, marker: string): string[] {
  const chunks = join(dist, 'chunks');
  return readdirSync(chunks)
    .filter((name) => name.endsWith('.js'))
    .map((name) => join(chunks, name))
    .filter((file) => readFileSync(file, 'utf8').includes(marker));
}

/** What marks the chunk of the tool modules: the catalog (src/tools/catalog.ts) as esbuild writes it. */
export const TOOL_CODE_MARKER = 'TOOLS={find_user:findUserTool';
