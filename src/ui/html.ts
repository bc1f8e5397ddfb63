import type { buildCardHtml } from './view/bundle.mjs';

// The card's HTML, built from src/ui/view/ by view/bundle.mjs.
// Set by the bundler (build.mjs); absent when src/ runs unbundled (tests, tsx).
declare const __UI_CARD_HTML__: string | undefined;

let built: Promise<string> | undefined;

export function cardHtml(): Promise<string> {
  if (typeof __UI_CARD_HTML__ === 'string') return Promise.resolve(__UI_CARD_HTML__);
  // Unbundled: build the view now, exactly as build.mjs does for dist/ (esbuild is a devDependency).
  const builder = new URL('./view/bundle.mjs', import.meta.url).href;
  built ??= (import(builder) as Promise<{ buildCardHtml: typeof buildCardHtml }>).then((module) => module.buildCardHtml());
  return built;
}
