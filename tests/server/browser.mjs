// Headless Chromium for the chat page's tests, driven by playwright-core (tests/server/
// package.json): Debian's /usr/bin/chromium (scripts/setup.sh installs it), a fresh profile, and
// every background service off, since the test machines have no network.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const chromiumPath = '/usr/bin/chromium';

// A browser context; close() also removes its profile folder. Throws when Chromium is missing.
export async function launchBrowser() {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: run scripts/setup.sh (it installs chromium)`);
  }
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core is missing (${e.message}): run scripts/setup.sh`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'bitjit-chromium-'));
  // launchPersistentContext passes --user-data-dir=profile and, with headless, --headless.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 900, height: 700 },
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
