// Headless Chromium for the browser tests (puppeteer-core on the system's Chromium; WebGPU through
// SwiftShader). Suites skip with a warning where it is missing, but fail under CI=true.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = '/usr/lib/chromium/chromium';

/** Whether the suite runs: Chromium is here, or CI=true (where its absence must fail). */
export function chromiumSuite(what: string): boolean {
  const have = fs.existsSync(CHROMIUM);
  if (!have) console.warn(`SKIPPING ${what}: ${CHROMIUM} not found`);
  return have || !!process.env.CI;
}

/** Launch with exactly the flags the project uses and a fresh profile; `close()` removes the profile. */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    ignoreDefaultArgs: true,
    args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${userDir}`],
  });
  return {
    browser,
    async close() {
      await browser.close();
      fs.rmSync(userDir, { recursive: true, force: true });
    },
  };
}
