// Writes a screenshot of the chat page of a running `bitjit serve` with a short conversation
// (docs/chat-page.png, taken with the embedded default model).
//
//   node tests/server/chat_page_screenshot.mjs http://127.0.0.1:8080 docs/chat-page.png
import { launchBrowser } from './browser.mjs';

const [base, out] = process.argv.slice(2);
if (!base || !out) {
  console.error('usage: node chat_page_screenshot.mjs SERVER_URL OUT.png');
  process.exit(2);
}
const browser = await launchBrowser();
try {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 760, height: 560 });
  await page.goto(new URL('/', base).href);
  await page.fill('#system', 'You are a helpful assistant.');
  await page.fill('#max-tokens', '40');
  for (const [i, text] of ['Tell me a story about a dog.', 'What happened next?'].entries()) {
    await page.fill('#input', text);
    await page.press('#input', 'Enter');
    await page.waitForFunction(
      (n) => document.querySelectorAll('.msg.assistant')[n]?.dataset.state === 'done', i,
      { timeout: 60_000 });
  }
  await page.evaluate(() => document.activeElement?.blur());
  await page.screenshot({ path: out, fullPage: true });
} finally {
  await browser.close();
}
