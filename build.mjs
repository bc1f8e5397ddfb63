// Bundles the server into dist/ for `npm run build` (after `tsc --noEmit` has type-checked it).
//
// Why a bundle: an MCP client spawns the server at launch, and npx users pay for every
// file Node resolves and every package npm installs. One ESM file plus lazily loaded
// chunks starts in about half the time of the unbundled tree, and the published package
// has no runtime dependencies at all.
//
//   dist/index.js          tiny entry: shebang, then loads the CLI
//   dist/chunks/*.js       the CLI and what it loads on demand (serve, sandbox emulator,
//                          audit CLI), each only when that code path runs
//   dist/chunks/pino.cjs   pino, one CommonJS file that src/logger.ts require()s at the first
//                          line it writes (over stdio that is after start-up; see buildPino)
//   dist/chunks/ajv.cjs    the SDK's JSON Schema validator (Ajv), require()d at its first use
//                          (src/sdkShims.ts, put in place by src/sdkShimsPlugin.mjs)
//   dist/**/*.js.map       source maps: with --enable-source-maps, stack traces name src/*.ts lines
//
// The user-status card's view (src/ui/view/) is built first into one HTML string, which
// the server bundle carries as a constant (src/ui/html.ts) and serves as its ui:// resource.
// So is the tools' listing (src/tools/listing.ts): what tools/list shows of them, JSON Schemas
// included, so that a server starts without loading the tools' code (it loads at the first call).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deferSdkValidator } from './src/sdkShimsPlugin.mjs';
import { buildCardHtml } from './src/ui/view/bundle.mjs';

// The file pino is bundled into, in dist/chunks/ (see buildPino).
const PINO_CHUNK = 'pino.cjs';
// The file the SDK's JSON Schema validator is bundled into, in dist/chunks/ (see src/sdkShimsPlugin.mjs).
const AJV_CHUNK = 'ajv.cjs';
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const root = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dist = join(root, 'dist');
// Built beside dist/ and swapped in at the end, so that a server or test started from dist/
// meanwhile never finds it half-written or missing.
const outdir = join(root, `.dist-${process.pid}`);

// The entry imports the CLI (src/index.ts), which esbuild turns into a chunk. Source maps are
// shipped but not turned on here: reading and indexing them cost every start about 6 ms of
// CPU and every idle process about 1 MiB, for stack traces that name their functions anyway.
// `NODE_OPTIONS=--enable-source-maps` turns them on (the container image does).
const ENTRY = `#!/usr/bin/env node
await import('./src/index.ts');
`;

// Node code in a bundle: bundled CommonJS dependencies (pino, undici) call require() for Node
// built-ins; an ES module has no require, so each output file gets one (and keeps it only
// if it uses it: see dropUnusedRequireBanners).
const REQUIRE_BANNER = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";
// src/version.ts reads these instead of ../package.json when bundled.
const PACKAGE_DEFINES = { __PACKAGE_NAME__: JSON.stringify(pkg.name), __PACKAGE_VERSION__: JSON.stringify(pkg.version) };
// What the server bundle and pino's file share: Node code for the oldest Node we support, minified
// in syntax and whitespace only (names stay as written, so `constructor.name` and error names are
// what the source says, and maps stay exact), licences gathered in one file (writeThirdPartyLicenses).
const NODE_BUNDLE = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: `node${pkg.engines.node.replace(/^>=\s*/, '')}`,
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  plugins: [deferPinoAssert()],
};
// The SDK's Node shims: what src/sdkShims.ts stands in for in the server bundle.
const SDK_SHIMS = '@modelcontextprotocol/server/_shims';

const cardHtml = await buildCardHtml();
const toolListing = await listTools();

let result;
try {
  result = await build({
    ...NODE_BUNDLE,
    plugins: [...NODE_BUNDLE.plugins, deferSdkValidator()],
    stdin: { contents: ENTRY, resolveDir: root, sourcefile: 'entry.js', loader: 'js' },
    splitting: true,
    format: 'esm',
    outdir,
    entryNames: 'index',
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: 'linked',
    // Stack traces need the mappings, not a copy of every bundled source: keeps the package small.
    sourcesContent: false,
    banner: { js: REQUIRE_BANNER },
    define: {
      ...PACKAGE_DEFINES,
      __UI_CARD_HTML__: JSON.stringify(cardHtml),
      // As JSON text: an object here would be initialised by every bundled module.
      __TOOL_LISTING__: JSON.stringify(JSON.stringify(toolListing)),
      __PINO_CHUNK__: JSON.stringify(`./${PINO_CHUNK}`),
      __AJV_CHUNK__: JSON.stringify(`./${AJV_CHUNK}`),
    },
  });
  const pinoResult = await buildPino(join(outdir, 'chunks', PINO_CHUNK));
  const ajvResult = await build({ ...NODE_BUNDLE, entryPoints: [SDK_SHIMS], format: 'cjs', outfile: join(outdir, 'chunks', AJV_CHUNK) });

  dropUnusedRequireBanners(outdir);
  trimSourceMaps(outdir);
  writeThirdPartyLicenses([result.metafile, pinoResult.metafile, ajvResult.metafile], join(outdir, 'THIRD-PARTY-LICENSES.txt'));

  const entry = join(outdir, 'index.js');
  const shebang = '#!/usr/bin/env node\n';
  const code = readFileSync(entry, 'utf8');
  if (!code.startsWith(shebang)) throw new Error('dist/index.js lost its shebang');
  chmodSync(entry, 0o755);

  const previous = `${dist}.old-${process.pid}`;
  if (existsSync(dist)) renameSync(dist, previous);
  renameSync(outdir, dist);
  rmSync(previous, { recursive: true, force: true });
} catch (error) {
  rmSync(outdir, { recursive: true, force: true });
  throw error;
}

if (process.argv.includes('--mcpb')) packMcpb();

if (process.argv.includes('--report')) {
  for (const [file, info] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.js')) process.stdout.write(`${file.replace(/^\.dist-\d+/, 'dist')}  ${(info.bytes / 1024).toFixed(0)} KiB\n`);
  }
}

/**
 * pino, bundled on its own as one CommonJS file beside the chunks: src/logger.ts loads it with
 * require() when the first line is written (over stdio, after start-up), and an exit handler can
 * still load it then, which an import() could not. No source map: no code of ours in it.
 */
async function buildPino(outfile) {
  return build({ ...NODE_BUNDLE, entryPoints: ['pino'], format: 'cjs', outfile });
}

/**
 * pino's sonic-boom and thread-stream require node:assert when they load, each for one check
 * made later (a destination closing, a worker stream draining); loading node:assert costs
 * about 3 ms of every start-up. They get this stand-in instead, which loads it at that check.
 */
function deferPinoAssert() {
  return {
    name: 'defer-pino-assert',
    setup(plugin) {
      plugin.onResolve({ filter: /^assert$/ }, (args) => (/[\\/](sonic-boom|thread-stream)[\\/]/.test(args.importer) ? { path: 'assert', namespace: 'deferred-assert' } : undefined));
      plugin.onLoad({ filter: /.*/, namespace: 'deferred-assert' }, () => ({
        contents: "module.exports = function assert(...args) { return require('node:assert')(...args); };",
        loader: 'js',
      }));
    },
  };
}

/**
 * Every output file starts with REQUIRE_BANNER, and creating a require costs each module
 * that loads a fraction of a millisecond. Files that never call require lose it; the line
 * stays, empty, so that the source maps' line numbers stay right.
 */
function dropUnusedRequireBanners(dir) {
  for (const file of readdirSync(dir, { recursive: true }).map(String)) {
    if (!file.endsWith('.js')) continue;
    const path = join(dir, file);
    const code = readFileSync(path, 'utf8');
    const at = code.indexOf(REQUIRE_BANNER);
    if (at < 0 || /\brequire\b/.test(code.slice(at + REQUIRE_BANNER.length))) continue;
    writeFileSync(path, code.slice(0, at) + code.slice(at + REQUIRE_BANNER.length));
  }
}

/**
 * The tools' listing, JSON Schemas converted as the SDK would ask zod for them at tools/list:
 * a one-line program over the tool catalog, bundled into a temporary file and run.
 */
async function listTools() {
  const dir = mkdtempSync(join(tmpdir(), 'tool-listing-'));
  try {
    const program = join(dir, 'convert.mjs');
    await build({
      absWorkingDir: root,
      stdin: {
        contents: `import { ALL_TOOLS } from './src/tools/catalog.ts';
import { listTools } from './src/tools/listing.ts';
process.stdout.write(JSON.stringify(listTools(ALL_TOOLS)));`,
        resolveDir: root,
        sourcefile: 'list-tools.js',
        loader: 'js',
      },
      bundle: true,
      format: 'esm',
      platform: 'node',
      outfile: program,
      logLevel: 'warning',
      banner: { js: REQUIRE_BANNER },
      define: PACKAGE_DEFINES,
    });
    return JSON.parse(execFileSync(process.execPath, [program], { encoding: 'utf8' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `node build.mjs --mcpb` (npm run pack:mcpb): the Claude Desktop extension. The npm package's
 * files are a complete MCP Bundle directory (manifest.json + dist/, no node_modules needed),
 * so they are staged as they are and packed with the official mcpb tool.
 */
function packMcpb() {
  const stage = mkdtempSync(join(tmpdir(), 'mcpb-stage-'));
  try {
    for (const file of ['package.json', ...pkg.files]) cpSync(join(root, file), join(stage, file), { recursive: true });
    const output = join(root, `${pkg.name}-${pkg.version}.mcpb`);
    const cli = join(root, 'node_modules', '@anthropic-ai', 'mcpb', 'dist', 'cli', 'cli.js');
    execFileSync(process.execPath, [cli, 'pack', stage, output], { stdio: ['ignore', 'inherit', 'inherit'] });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * The bundle redistributes its dependencies' code, so it carries their licences:
 * name, version, licence and licence text of every package that ended up in dist/.
 */
function writeThirdPartyLicenses(metafiles, file) {
  const packages = new Map();
  for (const input of metafiles.flatMap((metafile) => Object.keys(metafile.inputs))) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match && !packages.has(match[1])) packages.set(match[1], join(root, match[1]));
  }
  const sections = [...packages.values()]
    .map((dir) => {
      const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const licenseFile = readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
      const text = licenseFile ? readFileSync(join(dir, licenseFile), 'utf8').trim() : '(no licence file in the package)';
      return { title: `${meta.name}@${meta.version} (${meta.license ?? 'see text'})`, text };
    })
    .sort((a, b) => a.title.localeCompare(b.title));
  const header = `${pkg.name} bundles the following packages into dist/. Their licences follow.\n`;
  writeFileSync(file, [header, ...sections.map((s) => `${'='.repeat(78)}\n${s.title}\n\n${s.text}\n`)].join('\n'));
}

/**
 * Keeps only the mappings that point into src/ (the generated entry stub has none). Node reads and parses the map of every
 * module it loads while source maps are on, and the dependencies' mappings (zod, the SDK,
 * undici, pino: 90% of the total) cost start-up time for frames nobody debugs from here.
 * A chunk with no code of ours loses its map altogether; a frame in it still names the
 * bundled file, line and column.
 */
function trimSourceMaps(dir) {
  for (const file of readdirSync(dir, { recursive: true }).map(String)) {
    if (!file.endsWith('.js')) continue;
    const jsPath = join(dir, file);
    const mapPath = `${jsPath}.map`;
    const map = JSON.parse(readFileSync(mapPath, 'utf8'));
    const keep = map.sources.map((source) => /(^|[\\/])src[\\/]/.test(source) && !/node_modules/.test(source));
    if (!keep.includes(true)) {
      rmSync(mapPath);
      const js = readFileSync(jsPath, 'utf8');
      writeFileSync(jsPath, js.replace(/\n\/\/# sourceMappingURL=\S+\n?$/, '\n'));
      continue;
    }
    writeFileSync(mapPath, JSON.stringify(filterMap(map, keep)));
  }
}

function decodeSegment(text) {
  const values = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

function encodeValue(value) {
  let rest = value < 0 ? (-value << 1) | 1 : value << 1;
  let text = '';
  do {
    let digit = rest & 31;
    rest >>>= 5;
    if (rest > 0) digit |= 32;
    text += BASE64[digit];
  } while (rest > 0);
  return text;
}

/** Drops the segments whose source is not kept, renumbering sources and names. */
function filterMap(map, keep) {
  const sourceIndex = [];
  const sources = [];
  map.sources.forEach((source, i) => {
    if (keep[i]) {
      sourceIndex[i] = sources.length;
      sources.push(source);
    }
  });
  const nameIndex = new Map();
  const names = [];
  // Absolute state while decoding (source, line, column, name carry across lines)...
  let source = 0;
  let line = 0;
  let column = 0;
  let name = 0;
  // ...and while encoding.
  let outSource = 0;
  let outLine = 0;
  let outColumn = 0;
  let outName = 0;
  const lines = map.mappings.split(';').map((group) => {
    let generated = 0;
    let outGenerated = 0;
    const kept = [];
    for (const segment of group.split(',')) {
      if (segment === '') continue;
      const v = decodeSegment(segment);
      generated += v[0];
      if (v.length < 4) continue;
      source += v[1];
      line += v[2];
      column += v[3];
      if (v.length >= 5) name += v[4];
      if (!keep[source]) continue;
      let out = encodeValue(generated - outGenerated) + encodeValue(sourceIndex[source] - outSource) +
        encodeValue(line - outLine) + encodeValue(column - outColumn);
      outGenerated = generated;
      outSource = sourceIndex[source];
      outLine = line;
      outColumn = column;
      if (v.length >= 5) {
        const label = map.names[name];
        if (!nameIndex.has(label)) {
          nameIndex.set(label, names.length);
          names.push(label);
        }
        out += encodeValue(nameIndex.get(label) - outName);
        outName = nameIndex.get(label);
      }
      kept.push(out);
    }
    return kept.join(',');
  });
  return { ...map, sources, names, mappings: lines.join(';') };
}
