// npm run docs:card — refreshes the README's picture of the user-status card (docs/card.png):
// the same test host page and real sandbox results as test/ui/card.browser.test.ts, in headless Chromium.
import { mkdirSync } from 'node:fs';
import { chromiumAvailable, CHROMIUM_INSTALL, CHROMIUM_PATH, demoResults, openCardPage } from '../test/ui/page.js';

const OUTPUT = 'docs/card.png';

if (!chromiumAvailable()) {
  process.stderr.write(`No browser at ${CHROMIUM_PATH}: install it with \`${CHROMIUM_INSTALL}\` (or set CHROMIUM_PATH).\n`);
  process.exit(1);
}
const results = await demoResults();
const browser = await openCardPage();
try {
  await browser.show({ html: results.html, title: 'find_user { query: "jdoe" }', toolName: 'find_user', toolArguments: { query: 'jdoe' }, result: results.findUser });
  await browser.show({ html: results.html, title: 'list_user_devices { user: "jdoe" }', toolName: 'list_user_devices', toolArguments: { user: 'jdoe' }, result: results.listDevices });
  mkdirSync('docs', { recursive: true });
  await browser.screenshot(OUTPUT);
  process.stdout.write(`wrote ${OUTPUT}\n`);
} finally {
  await browser.close();
  await results.host.close();
}
