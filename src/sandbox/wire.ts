import type { IncomingMessage } from 'node:http';

/** Reading a request off the wire, defensively: the emulator faces clients under test, some of them hostile. */

export const MAX_BODY_BYTES = 64 * 1024;
/** Past this much upload, stop draining and drop the connection. */
const MAX_DRAIN_BYTES = 8 * 1024 * 1024;

export type ReceivedBody = { text: string; tooLarge: boolean };

export function readBody(req: IncomingMessage): Promise<ReceivedBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let total = 0;
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > MAX_DRAIN_BYTES) {
        req.destroy();
        reject(new Error('request body far too large'));
        return;
      }
      // Keep only the first 64 KiB; the rest is drained so the 413 reaches a client still uploading.
      const room = MAX_BODY_BYTES - kept;
      if (room > 0) {
        const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
        chunks.push(part);
        kept += part.length;
      }
    });
    req.on('end', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), tooLarge: total > MAX_BODY_BYTES }));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('client went away'));
    });
  });
}

export function headerRecord(req: IncomingMessage): Record<string, string> {
  // fromEntries defines own properties, so a header named __proto__ is just data.
  return Object.fromEntries(
    Object.entries(req.headers).flatMap(([name, value]) =>
      value === undefined ? [] : [[name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value]],
    ),
  );
}

export function queryRecord(rawQuery: string): Record<string, string> {
  const first = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(rawQuery)) if (!first.has(name)) first.set(name, value);
  return Object.fromEntries(first);
}
