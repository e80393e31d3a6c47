// Talks to a running `bitjit serve` with the official openai npm client: a chat call, a streamed
// chat call, a completions call and a request for an unknown model. Exits non-zero (an uncaught
// assertion) on any mismatch.
//
//   node tests/server/openai_client_test.mjs http://127.0.0.1:8080/v1
// The base URL may also come from BITJIT_SERVER_URL. tests/server_test.cc runs this against the
// server it starts; `npm install --prefix tests/server` (scripts/setup.sh) installs the client.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const baseURL = process.argv[2] ?? process.env.BITJIT_SERVER_URL;
if (!baseURL) {
  console.error('usage: node openai_client_test.mjs BASE_URL (e.g. http://127.0.0.1:8080/v1)');
  process.exit(2);
}
const client = new OpenAI({ baseURL, apiKey: 'not-needed', maxRetries: 0, timeout: 60_000 });

const models = await client.models.list();
assert.equal(models.data.length, 1);
const model = models.data[0].id;
assert.equal(typeof model, 'string');

const messages = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Name a colour.' },
];

// Chat, whole reply.
const chat = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
assert.equal(chat.object, 'chat.completion');
assert.match(chat.id, /^chatcmpl-/);
assert.equal(chat.model, model);
assert.equal(chat.choices.length, 1);
assert.equal(chat.choices[0].message.role, 'assistant');
assert.equal(typeof chat.choices[0].message.content, 'string');
assert.ok(['stop', 'length'].includes(chat.choices[0].finish_reason));
assert.ok(chat.usage.prompt_tokens > 0);
assert.ok(chat.usage.completion_tokens >= 1 && chat.usage.completion_tokens <= 12);
assert.equal(chat.usage.total_tokens, chat.usage.prompt_tokens + chat.usage.completion_tokens);

// Chat, streamed: the same greedy reply, delta by delta, then the usage chunk.
const stream = await client.chat.completions.create({
  model, messages, max_tokens: 12, temperature: 0, stream: true,
  stream_options: { include_usage: true },
});
let text = '';
let role = null;
let finish = null;
let usage = null;
for await (const chunk of stream) {
  assert.equal(chunk.object, 'chat.completion.chunk');
  if (chunk.usage) usage = chunk.usage;
  const choice = chunk.choices[0];
  if (!choice) continue;
  role ??= choice.delta.role ?? null;
  text += choice.delta.content ?? '';
  finish = choice.finish_reason ?? finish;
}
assert.equal(role, 'assistant');
assert.equal(text, chat.choices[0].message.content);
assert.equal(finish, chat.choices[0].finish_reason);
assert.deepEqual(usage, chat.usage);

// Completions.
const completion = await client.completions.create({
  model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0, stop: ['\n\n'],
});
assert.equal(completion.object, 'text_completion');
assert.match(completion.id, /^cmpl-/);
assert.equal(typeof completion.choices[0].text, 'string');
assert.ok(['stop', 'length'].includes(completion.choices[0].finish_reason));
assert.ok(completion.usage.completion_tokens >= 1 && completion.usage.completion_tokens <= 8);

// Errors arrive as the client's typed errors.
await assert.rejects(
  client.chat.completions.create({ model: 'no-such-model', messages, max_tokens: 1 }),
  (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found',
);
await assert.rejects(
  client.chat.completions.create({ model, messages, max_tokens: 1, n: 2 }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === 'n',
);

console.log('openai client: all checks passed');
