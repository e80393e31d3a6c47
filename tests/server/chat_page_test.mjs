// Drives the chat page of a running `bitjit serve` (GET /) in headless Chromium: greedy replies
// streamed into the page equal the same requests made over the API, the conversation is sent
// whole, the API key goes out as a Bearer token, errors and model text are shown as text, Stop
// ends the generation on the server, and every request the page makes is to the server itself.
// Exits non-zero (an uncaught assertion) on any mismatch.
//
//   node tests/server/chat_page_test.mjs http://127.0.0.1:8080
// tests/chat_page_test.cc runs this against a server it starts (-c 65536 --allow-long-context,
// for the reply that Stop cuts off).
import assert from 'node:assert/strict';
import { launchBrowser } from './browser.mjs';

const base = process.argv[2] ?? process.env.BITJIT_SERVER_URL;
if (!base) {
  console.error('usage: node chat_page_test.mjs SERVER_URL (e.g. http://127.0.0.1:8080)');
  process.exit(2);
}
const origin = new URL(base).origin;

// The same conversation over the API, whole, greedy.
async function apiReply(messages, maxTokens) {
  const response = await fetch(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages, max_tokens: maxTokens, temperature: 0 }),
  });
  assert.equal(response.status, 200);
  const body = await response.json();
  return { content: body.choices[0].message.content, usage: body.usage };
}

async function health() {
  return (await fetch(`${origin}/health`)).json();
}

const browser = await launchBrowser();
const requests = [];
const consoleErrors = [];
browser.context.on('request', (r) => requests.push(r.url()));
const page = await browser.context.newPage();
page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
page.on('pageerror', (e) => consoleErrors.push(e.message));

// Types `text`, presses Enter and waits for the reply to end; returns what the page shows.
async function sendMessage(text) {
  const n = await page.locator('.msg.assistant').count();
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
  await page.waitForFunction(
    (n) => {
      const replies = document.querySelectorAll('.msg.assistant');
      return replies.length === n + 1 && replies[n].dataset.state !== 'streaming';
    },
    n,
    { timeout: 120_000 },
  );
  const reply = page.locator('.msg.assistant').nth(n);
  return {
    text: await reply.locator('.text').textContent(),
    stats: await reply.locator('.stats').textContent(),
    state: await reply.getAttribute('data-state'),
  };
}

try {
  const loaded = await page.goto(`${origin}/`);
  assert.equal(loaded.status(), 200);
  assert.equal(await page.title(), 'bitjit chat');
  // The script ran (the CSP let it) and asked the server for the model's name.
  const models = await (await fetch(`${origin}/v1/models`)).json();
  await page.waitForFunction(() => document.getElementById('model').textContent !== '');
  assert.equal(await page.textContent('#model'), models.data[0].id);

  // Two greedy turns: each reply equals the API's for the same conversation so far.
  const system = 'You answer briefly.';
  await page.fill('#system', system);
  await page.fill('#temperature', '0');
  await page.fill('#max-tokens', '12');
  const messages = [{ role: 'system', content: system }];
  for (const question of ['Hello there! Who are you?', 'And what do you like?']) {
    const shown = await sendMessage(question);
    messages.push({ role: 'user', content: question });
    const expected = await apiReply(messages, 12);
    messages.push({ role: 'assistant', content: expected.content });
    assert.equal(shown.state, 'done', shown.stats);
    assert.equal(shown.text, expected.content);
    assert.equal(await page.inputValue('#input'), '');
    // Under the reply: its token count (the server's) and its rate.
    const tokens = expected.usage.completion_tokens;
    assert.match(shown.stats, new RegExp(`^${tokens} tokens`));
    if (tokens > 0) assert.match(shown.stats, / · \d+\.\d tok\/s · /);
    assert.match(shown.stats, /finish: (stop|length)$/);
  }
  const userBubbles = await page.locator('.msg.user .text').allTextContents();
  assert.deepEqual(userBubbles, [messages[1].content, messages[3].content]);

  // The API key goes out as a Bearer token (this server has none to check).
  await page.fill('#api-key', 'test-key-123');
  const sent = page.waitForRequest((r) => r.url() === `${origin}/v1/chat/completions`);
  const third = await sendMessage('One more thing.');
  assert.equal((await (await sent).allHeaders()).authorization, 'Bearer test-key-123');
  messages.push({ role: 'user', content: 'One more thing.' });
  assert.equal(third.text, (await apiReply(messages, 12)).content);

  // New chat empties the conversation.
  await page.click('#clear');
  assert.equal(await page.locator('#messages > *').count(), 0);

  // A refused request (as a server with --api-key answers a wrong key) shows the server's
  // message, and the text is back in the input to be sent again.
  await page.route(
    `${origin}/v1/chat/completions`,
    (route) => route.fulfill({
      status: 401,
      contentType: 'application/json',
      body: JSON.stringify({
        error: { message: 'Invalid API key.', type: 'invalid_request_error', param: null,
                 code: 'invalid_api_key' },
      }),
    }),
    { times: 1 },
  );
  const refused = await sendMessage('Let me in.');
  assert.equal(refused.state, 'error');
  assert.match(refused.stats, /^HTTP 401: Invalid API key\. .*API key/);
  assert.equal(await page.inputValue('#input'), 'Let me in.');

  // Model text that looks like HTML stays text, across events split oddly (CRLF line ends, a
  // comment line, one event in two data lines).
  const chunk = (delta, finish = null) =>
    JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] });
  const markup = '<b>bold</b> <img src=x onerror="window.xss=1">';
  await page.route(
    `${origin}/v1/chat/completions`,
    (route) => route.fulfill({
      status: 200,
      contentType: 'text/event-stream',
      body: `data: ${chunk({ role: 'assistant', content: '' })}\n\n` +
            `: a comment\r\ndata: ${chunk({ content: markup.slice(0, 10) })}\r\n\r\n` +
            `data: {"object": "chat.completion.chunk",\ndata: "choices": [{"index": 0, "delta": ` +
            `{"content": ${JSON.stringify(markup.slice(10))}}, "finish_reason": null}]}\n\n` +
            `data: ${chunk({}, 'stop')}\n\ndata: [DONE]\n\n`,
    }),
    { times: 1 },
  );
  await page.fill('#input', '');
  const marked = await sendMessage('Say something in <i>HTML</i> & more');
  assert.equal(marked.state, 'done', marked.stats);
  assert.equal(marked.text, markup);
  assert.equal(await page.locator('.msg.user .text').last().textContent(),
               'Say something in <i>HTML</i> & more');
  assert.equal(await page.locator('#messages b, #messages i, #messages img').count(), 0);
  assert.equal(await page.evaluate(() => window.xss), undefined);

  // A stream cut off before `data: [DONE]` is an error, not a finished reply.
  await page.route(
    `${origin}/v1/chat/completions`,
    (route) => route.fulfill({
      status: 200,
      contentType: 'text/event-stream',
      body: `data: ${chunk({ role: 'assistant', content: 'half a' })}\n\n`,
    }),
    { times: 1 },
  );
  const cut = await sendMessage('Go on.');
  assert.equal(cut.state, 'error');
  assert.equal(cut.text, 'half a');
  assert.match(cut.stats, /connection ended before the reply did/);

  // Stop: a long reply cut off while it streams; the server frees its slot. (The request goes
  // to the server with ignore_eos added: the tiny model's greedy text would end too soon.)
  await page.click('#clear');
  await page.route(
    `${origin}/v1/chat/completions`,
    (route) => route.continue({
      postData: JSON.stringify({ ...route.request().postDataJSON(), ignore_eos: true }),
    }),
    { times: 1 },
  );
  await page.fill('#max-tokens', '60000');
  await page.fill('#input', 'Tell me everything.');
  await page.press('#input', 'Enter');
  await page.waitForFunction(() => document.querySelector('.msg.assistant .text')?.textContent !== '',
                             null, { timeout: 60_000 });
  assert.equal((await health()).slots_busy, 1);
  await page.click('#stop');
  await page.waitForFunction(() => document.querySelector('.msg.assistant').dataset.state === 'stopped',
                             null, { timeout: 10_000 });
  assert.match(await page.textContent('.msg.assistant .stats'), /^stopped after /);
  assert.equal(await page.isDisabled('#stop'), true);
  assert.equal(await page.isDisabled('#send'), false);
  let h = await health();
  for (const end = Date.now() + 20_000; h.slots_busy !== 0 && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 100));
    h = await health();
  }
  assert.equal(h.slots_busy, 0, JSON.stringify(h));

  // Everything the page asked for came from the server itself, and nothing went wrong in it
  // (a CSP violation or a script error would be logged), beyond the 401 asked for above.
  assert.ok(requests.length >= 8, requests.join('\n'));
  for (const url of requests) assert.equal(new URL(url).origin, origin, url);
  const unexpected = consoleErrors.filter((e) => !/status of 401/.test(e));
  assert.deepEqual(unexpected, []);
} finally {
  await browser.close();
}
console.log('chat page: all checks passed');
