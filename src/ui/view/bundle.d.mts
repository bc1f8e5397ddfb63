/** The card's view as one self-contained HTML page (script and styles inlined under a hash-based CSP). */
export function buildCardHtml(): Promise<string>;
