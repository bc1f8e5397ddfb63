import type { ToolAnnotations } from '@modelcontextprotocol/server';

/**
 * The write tools restore access: not destructive, and repeating them leaves
 * the same state. The spec's defaults (destructive, not idempotent) would make
 * clients warn about them as if they deleted something.
 */
export const RESTORATIVE_WRITE: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
};
