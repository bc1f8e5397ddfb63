// Turns the card's view (main.ts, card.css, card.html) into one self-contained HTML string: the
// script and styles inlined, and a Content-Security-Policy that allows exactly those two blocks
// (by hash) and nothing else: no network, no other scripts, styles, images, fonts or frames.
// build.mjs puts the string into dist/ at build time; unbundled runs (tests, tsx) call it directly.
import { build, transform } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export async function buildCardHtml() {
  const [script, style, template] = await Promise.all([bundleScript(), minifyStyle(), readFile(join(here, 'card.html'), 'utf8')]);
  if (/<\/script/i.test(script) || /<\/style/i.test(style)) throw new Error('the card view would end its own <script> or <style> early');
  const csp = [
    "default-src 'none'",
    `script-src '${sha256(script)}'`,
    `style-src '${sha256(style)}'`,
    "img-src 'none'",
    "connect-src 'none'",
    "font-src 'none'",
    "media-src 'none'",
    "frame-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  // Function replacements: a `$` in the script must not be read as a replacement pattern.
  return template
    .replace('%CSP%', () => csp)
    .replace('%STYLE%', () => style)
    .replace('%SCRIPT%', () => script);
}

async function bundleScript() {
  const result = await build({
    entryPoints: [join(here, 'main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return result.outputFiles[0].text.trim();
}

async function minifyStyle() {
  const css = await readFile(join(here, 'card.css'), 'utf8');
  return (await transform(css, { loader: 'css', minify: true })).code.trim();
}

function sha256(text) {
  return `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;
}
