import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type BrowserContext, type FrameLocator, type Page } from 'playwright-core';
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { McpUiMessageRequest } from '@modelcontextprotocol/ext-apps';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { CARD_URI } from '../../src/ui/card.js';
import { startHost, UI_CAPABILITIES, type Host } from './support.js';

/** Debian's package; CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_INSTALL = 'apt-get update && apt-get install -y --no-install-recommends chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export interface CardPage {
  page: Page;
  /** Embeds one card fed with one tool result, as a host does; resolves when the card has the result. */
  show(card: { html: string; title: string; toolName: string; toolArguments: Record<string, unknown>; result: CallToolResult; theme?: 'light' | 'dark' }): Promise<FrameLocator>;
  /** The whole page as a PNG, every card painted (a full-page capture can miss out-of-process frames). */
  screenshot(path: string): Promise<Buffer>;
  /** The `ui/message` requests the cards sent to the host. */
  messages(): Promise<Array<McpUiMessageRequest['params']>>;
  close(): Promise<void>;
}

const HOST_PAGE = (script: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MCP Apps test host</title>
<style>
  body { margin: 0; padding: 16px; background: #eef0f3; font: 13px system-ui, sans-serif; color: #3c4450; }
  figure { margin: 0 0 16px; }
  figcaption { margin: 0 0 6px; font-family: ui-monospace, monospace; }
  iframe { display: block; width: 100%; border: 1px solid #cfd4da; border-radius: 10px; background: #fff; height: 120px; }
</style></head>
<body><div id="cards"></div><script>${script}</script></body></html>`;

/**
 * A headless Chromium (the system's, as root without its sandbox) showing a
 * page that plays the MCP Apps host. Only the card's own HTML runs in the frames.
 */
export async function openCardPage(): Promise<CardPage> {
  const profile = mkdtempSync(join(tmpdir(), 'p1mcp-chromium-'));
  const hostScript = await build({
    entryPoints: [join(import.meta.dirname, 'host', 'host.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'error',
  });
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      chromiumSandbox: false,
      args: ['--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 640, height: 400 },
      deviceScaleFactor: 2,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.setContent(HOST_PAGE(hostScript.outputFiles[0]!.text.replace(/<\/script/gi, '<\\/script')));
    const opened = context;
    let frames = 0;
    return {
      page,
      async show({ html, ...card }) {
        const index = frames++;
        await page.evaluate(({ html, card }) => (globalThis as unknown as { showCard(h: string, c: unknown): Promise<void> }).showCard(html, card), { html, card: { theme: 'light', ...card } });
        const frame = page.frameLocator('iframe').nth(index);
        await frame.locator('main > :not(.summary:only-child)').first().waitFor();
        return frame;
      },
      async screenshot(path) {
        const height = await page.evaluate<number>('document.documentElement.scrollHeight');
        await page.setViewportSize({ width: 640, height });
        // Two animation frames in every card: the resized page is laid out and painted everywhere.
        for (const frame of page.frames()) await frame.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
        return page.screenshot({ path });
      },
      messages: () => page.evaluate(() => (globalThis as unknown as { cardMessages(): Array<McpUiMessageRequest['params']> }).cardMessages()),
      async close() {
        await opened.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}

export interface DemoResults {
  host: Host;
  /** The card's HTML as the server serves it. */
  html: string;
  findUser: CallToolResult;
  listDevices: CallToolResult;
}

/**
 * Real results from the sandbox: the in-process server and emulator behind a
 * client that announces the UI extension; the card's HTML read as a host reads
 * it, and find_user / list_user_devices for the locked demo user jdoe.
 */
export async function demoResults(user: string = DEMO_USERS.jdoe.username): Promise<DemoResults> {
  const host = await startHost({ capabilities: UI_CAPABILITIES });
  try {
    const { contents } = await host.client.readResource({ uri: CARD_URI });
    const page = contents[0];
    if (!page || !('text' in page)) throw new Error('the card resource has no HTML');
    const findUser = (await host.client.callTool({ name: 'find_user', arguments: { query: user } })) as CallToolResult;
    const listDevices = (await host.client.callTool({ name: 'list_user_devices', arguments: { user } })) as CallToolResult;
    return { host, html: page.text, findUser, listDevices };
  } catch (error) {
    await host.close();
    throw error;
  }
}
