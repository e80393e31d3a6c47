// Talks to a running `bitjit serve` with the official openai npm client as applications do,
// naming OpenAI's models ("gpt-3.5-turbo"): a chat call, a streamed chat call, a completions
// call, each with logprobs, and refused fields. Exits non-zero (an uncaught assertion) on any
// mismatch.
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
const served = models.data[0].id;
assert.equal(typeof served, 'string');
// Whatever a client names, the one model serves it; replies carry the served id.
const model = 'gpt-3.5-turbo';

const messages = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Name a colour.' },
];

// Chat, whole reply.
const chat = await client.chat.completions.create({
  model, messages, max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 2,
});
assert.equal(chat.object, 'chat.completion');
assert.match(chat.id, /^chatcmpl-/);
assert.equal(chat.model, served);
// One logprobs entry per generated token, each a log probability with the two likeliest.
const entries = chat.choices[0].logprobs.content;
assert.equal(entries.length, chat.usage.completion_tokens);
for (const e of entries) {
  assert.equal(typeof e.token, 'string');
  assert.ok(e.logprob <= 0);
  assert.equal(e.top_logprobs.length, 2);
  assert.ok(e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob);
  assert.ok(e.logprob <= e.top_logprobs[0].logprob + 1e-6);
}
assert.equal(chat.choices.length, 1);
assert.equal(chat.choices[0].message.role, 'assistant');
assert.equal(typeof chat.choices[0].message.content, 'string');
assert.ok(['stop', 'length'].includes(chat.choices[0].finish_reason));
assert.ok(chat.usage.prompt_tokens > 0);
assert.ok(chat.usage.completion_tokens >= 1 && chat.usage.completion_tokens <= 12);
assert.equal(chat.usage.total_tokens, chat.usage.prompt_tokens + chat.usage.completion_tokens);

// Chat, streamed: the same greedy reply, delta by delta, then the usage chunk.
const stream = await client.chat.completions.create({
  model, messages, max_tokens: 12, temperature: 0, stream: true, logprobs: true, top_logprobs: 2,
  stream_options: { include_usage: true },
});
const streamedEntries = [];
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
  streamedEntries.push(...(choice.logprobs?.content ?? []));
  text += choice.delta.content ?? '';
  finish = choice.finish_reason ?? finish;
}
assert.equal(role, 'assistant');
assert.equal(text, chat.choices[0].message.content);
assert.equal(finish, chat.choices[0].finish_reason);
assert.deepEqual(usage, chat.usage);
assert.deepEqual(streamedEntries, entries);

// Completions.
const completion = await client.completions.create({
  model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon a time', max_tokens: 8, temperature: 0,
  stop: ['\n\n'], logprobs: 3,
});
assert.equal(completion.object, 'text_completion');
const lp = completion.choices[0].logprobs;
assert.equal(lp.tokens.length, completion.usage.completion_tokens);
assert.equal(lp.token_logprobs.length, lp.tokens.length);
assert.equal(lp.top_logprobs[0] && Object.keys(lp.top_logprobs[0]).length <= 3, true);
assert.ok(lp.token_logprobs.every((x) => x <= 0));
assert.match(completion.id, /^cmpl-/);
assert.equal(typeof completion.choices[0].text, 'string');
assert.ok(['stop', 'length'].includes(completion.choices[0].finish_reason));
assert.ok(completion.usage.completion_tokens >= 1 && completion.usage.completion_tokens <= 8);

// Errors arrive as the client's typed errors; what bitjit does not implement is refused by name.
await assert.rejects(
  client.chat.completions.create({
    model, messages, max_tokens: 1,
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
  }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === 'tools',
);
await assert.rejects(
  client.chat.completions.create({
    model, messages, max_tokens: 1, response_format: { type: 'json_object' },
  }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === 'response_format',
);
await assert.rejects(
  client.chat.completions.create({ model, messages, max_tokens: 1, n: 2 }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === 'n',
);

console.log('openai client: all checks passed');
