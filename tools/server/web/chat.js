// The chat page of `bitjit serve` (served as /chat.js): a conversation sent whole to
// POST /v1/chat/completions with each new message, the reply streamed as server-sent events.
// Model and user text only ever reach the page as textContent (never parsed as HTML).
'use strict';

const $ = (id) => document.getElementById(id);

// The turns so far, as the API takes them; the system prompt is put in front at each request.
const conversation = [];
// Set while a reply streams: its abort() is the Stop button.
let controller = null;
// Counts "New chat" clicks: a reply stopped by one must not be added to the next conversation.
let chatNumber = 0;

function requestHeaders() {
  const headers = { 'Content-Type': 'application/json' };
  const key = $('api-key').value.trim();
  if (key) headers.Authorization = `Bearer ${key}`;
  return headers;
}

// The number in an input, or undefined when it is empty or not a number (the server's default
// then applies).
function numberField(id) {
  const text = $(id).value.trim();
  const value = Number(text);
  return text === '' || !Number.isFinite(value) ? undefined : value;
}

function requestBody(messages) {
  const body = { messages, stream: true, stream_options: { include_usage: true } };
  const temperature = numberField('temperature');
  if (temperature !== undefined) body.temperature = temperature;
  const maxTokens = numberField('max-tokens');
  if (maxTokens !== undefined) body.max_tokens = Math.trunc(maxTokens);
  return body;
}

// The message of an error reply (OpenAI's shape: {"error": {"message": ...}}).
async function errorText(response) {
  let message = '';
  try {
    message = (await response.json())?.error?.message ?? '';
  } catch {
    // not JSON: the status says it
  }
  let text = `HTTP ${response.status}${message ? `: ${message}` : ''}`;
  if (response.status === 401) text += ' (enter the server\'s API key under Settings)';
  return text;
}

// The data of each server-sent event in `body`, as the event stream format defines it: lines
// end with \n or \r\n, "data:" lines of one event are joined by \n, an empty line ends an event,
// lines starting with ":" are comments.
async function* sseData(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n')) >= 0) {
      let line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (data.length) yield data.join('\n');
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
    }
  }
}

// A message box in the conversation view: the text, and under a reply its figures.
function addMessage(role, text) {
  const root = document.createElement('div');
  root.className = `msg ${role}`;
  const body = document.createElement('div');
  body.className = 'text';
  body.textContent = text;
  root.append(body);
  const stats = document.createElement('div');
  stats.className = 'stats';
  if (role === 'assistant') root.append(stats);
  $('messages').append(root);
  scrollToEnd();
  return { root, body, stats };
}

// Scrolls to the newest text once per frame, however many pieces arrive in it.
let scrollPending = false;
function scrollToEnd() {
  if (scrollPending) return;
  scrollPending = true;
  requestAnimationFrame(() => {
    scrollPending = false;
    window.scrollTo(0, document.body.scrollHeight);
  });
}

function setBusy(busy) {
  $('send').disabled = busy;
  $('stop').disabled = !busy;
}

// What is shown under a finished reply. The rate is the tokens over the time from sending the
// request to the last token (prompt processing included): a reply can arrive in one burst, too
// fast to time between its own tokens.
function replyStats(usage, finish, startedMs, firstMs, lastMs) {
  const parts = [];
  const tokens = usage?.completion_tokens;
  if (tokens !== undefined) parts.push(`${tokens} tokens`);
  if (tokens > 0 && lastMs > startedMs) {
    parts.push(`${(tokens / ((lastMs - startedMs) / 1000)).toFixed(1)} tok/s`);
  }
  if (firstMs !== null) parts.push(`first token after ${((firstMs - startedMs) / 1000).toFixed(2)} s`);
  if (finish) parts.push(`finish: ${finish}`);
  return parts.join(' · ');
}

async function send(text) {
  const chat = chatNumber;
  conversation.push({ role: 'user', content: text });
  addMessage('user', text);
  const reply = addMessage('assistant', '');
  reply.root.dataset.state = 'streaming';
  const shown = reply.body.appendChild(document.createTextNode(''));
  const messages = [];
  const system = $('system').value;
  if (system.trim() !== '') messages.push({ role: 'system', content: system });
  messages.push(...conversation);

  controller = new AbortController();
  setBusy(true);
  const startedMs = performance.now();
  let firstMs = null;
  let lastMs = null;
  let content = '';
  let usage = null;
  let finish = null;
  let state = 'done';
  try {
    const response = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: requestHeaders(),
      body: JSON.stringify(requestBody(messages)),
      signal: controller.signal,
    });
    if (!response.ok) throw new Error(await errorText(response));
    let ended = false;
    for await (const data of sseData(response.body)) {
      if (data === '[DONE]') {
        ended = true;
        break;
      }
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message ?? 'The server ended the reply.');
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices?.[0];
      if (choice?.finish_reason) finish = choice.finish_reason;
      const piece = choice?.delta?.content;
      if (piece) {
        content += piece;
        shown.appendData(piece);  // not the whole text again: a long reply stays cheap to show
        lastMs = performance.now();
        firstMs ??= lastMs;
        scrollToEnd();
      }
    }
    if (!ended) throw new Error('The connection ended before the reply did.');
    reply.stats.textContent = replyStats(usage, finish, startedMs, firstMs, lastMs);
  } catch (e) {
    if (e.name === 'AbortError') {
      state = 'stopped';
      reply.stats.textContent = `stopped after ${((performance.now() - startedMs) / 1000).toFixed(2)} s`;
    } else {
      state = 'error';
      reply.stats.textContent = e.message;
      reply.stats.classList.add('error');
    }
  } finally {
    controller = null;
    setBusy(false);
  }
  reply.root.dataset.state = state;
  if (chat !== chatNumber) return;
  if (state === 'error' && content === '') {
    // Nothing came: the message is taken back, to be sent again (with a key, say).
    conversation.pop();
    if ($('input').value === '') $('input').value = text;
  } else {
    // A stopped reply stays in the conversation as far as it got.
    conversation.push({ role: 'assistant', content });
  }
  scrollToEnd();
}

// The served model's name in the header (empty when /v1/models is refused, say for a key).
async function showModel() {
  try {
    const response = await fetch('/v1/models', { headers: requestHeaders() });
    const id = response.ok ? (await response.json())?.data?.[0]?.id : '';
    $('model').textContent = id ?? '';
  } catch {
    $('model').textContent = '';
  }
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('input').value;
  if (controller || text.trim() === '') return;
  $('input').value = '';
  send(text);
});
$('input').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});
$('stop').addEventListener('click', () => controller?.abort());
$('clear').addEventListener('click', () => {
  controller?.abort();
  chatNumber += 1;
  conversation.length = 0;
  $('messages').replaceChildren();
});
$('api-key').addEventListener('change', showModel);
showModel();
