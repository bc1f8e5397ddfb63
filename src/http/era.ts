/**
 * The first protocol revision served statelessly (2026-07-28); the SDK counts
 * every revision from it on as modern, by string order.
 */
const FIRST_MODERN_REVISION = '2026-07-28';

/**
 * Whether a POST is certainly not a 2025-era request, told from its
 * `MCP-Protocol-Version` header and its parsed body without the SDK's
 * classification, which the modern handler runs again anyway: calling
 * `isLegacyRequest` first made every 2026-07-28 call parse and check its
 * body twice (2–3% of the server's CPU per audited call in CPU profiles, and
 * garbage that outlived young-generation collections).
 *
 * True only where the SDK's `classifyInboundRequest` can answer nothing but
 * modern or a refusal (which the modern handler gives the same way): a
 * modern revision in the header, and a single object naming a `method`
 * without a `result` or `error` (the SDK takes a posted response, or a
 * batch, for 2025 traffic whatever the header says). Anything else is left
 * to `isLegacyRequest`. test/unit/era.test.ts checks this against the SDK's
 * own answer, so that a change of its rules fails there.
 */
export function surelyModern(request: Request, body: unknown): boolean {
  if (request.method !== 'POST') return false;
  // Headers already strips a value's leading and trailing whitespace (Fetch's header value normalisation).
  const revision = request.headers.get('mcp-protocol-version');
  if (revision === null || !(revision >= FIRST_MODERN_REVISION)) return false;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  return typeof (body as { method?: unknown }).method === 'string' && !('result' in body) && !('error' in body);
}
