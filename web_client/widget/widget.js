// The shopper's chat UI inside the widget iframe.
//
// It starts only on an `init` postMessage from window.parent; the browser-checked
// event.origin of that message is the storefront's origin, sent as `host_origin` when
// opening the widget session, and the only target origin this frame ever posts to. The
// visitor token is kept in localStorage per widget key, so a reload resumes the same
// shopper and shows their conversation's history. Where the browser blocks storage in
// third-party frames, the SDK keeps it in the storefront's own storage instead.

import { KefuClient } from '/static/lib/kefu-client.js';
import { ApiError, requestJson } from '/static/lib/rest.js';
import { Thread, languageName } from '/static/lib/thread.js';
import { QueueLine, browserTimeZone } from '/static/widget/queue.js';
import { CallController } from '/static/lib/call.js';
import { Assignees, CallUI, describeCall } from '/static/lib/call-ui.js';

const widgetKey = new URLSearchParams(window.location.search).get('key') || '';
const storageKey = `kefu:${widgetKey}:visitor_token`;
const languageKey = `kefu:${widgetKey}:language`;
const TYPING_IDLE_MS = 3000;
const TYPING_SHOW_MS = 6000;

const ERROR_TEXT = {
  text_empty: 'The message is empty.',
  text_too_long: 'The message is too long.',
  rate_limited: 'You are sending too fast; please wait a moment.',
  origin_not_allowed: 'Chat is not enabled on this website.',
  widget_key_unknown: 'This chat is not set up correctly.',
  identity_invalid: 'We could not confirm who you are.',
  conversation_not_found: 'This conversation is no longer available.',
  network_error: 'The chat server cannot be reached.',
  email_invalid: 'That email address does not look right.',
  invalid_token: 'Your chat session has ended. Please reload the page.',
  token_expired: 'Your chat session has ended. Please reload the page.',
};

/** This frame's localStorage, or null where third-party storage is blocked. */
const frameStorage = (() => {
  try {
    window.localStorage.getItem(storageKey);
    return window.localStorage;
  } catch {
    return null;
  }
})();

const $ = (id) => document.getElementById(id);
const ui = {
  title: $('title'), subtitle: $('subtitle'), close: $('close'), banner: $('banner'),
  thread: $('thread'), empty: $('empty'), typing: $('typing'), error: $('error'),
  composer: $('composer'), text: $('text'), send: $('send'),
  language: $('language'), languageRow: $('language-row'),
  contact: $('contact'), contactLabel: $('contact-label'), contactEmail: $('contact-email'),
};

const state = {
  hostOrigin: null,
  identity: null,
  context: null,
  hostStoredToken: null,
  visible: false,
  token: null,
  visitor: null,
  conversationId: null,
  client: null,
  unread: 0,
  lastReadSent: 0,
  typingSent: false,
  typingTimer: null,
  typingShowTimer: null,
  generation: 0, // bumps on every (re)start so late answers of an old session are ignored
};

const queueLine = new QueueLine(document.getElementById('queue'), () => state.conversationId);

const thread = new Thread(ui.thread, {
  isMine: (author) => author && author.type === 'visitor',
  showAuthor: (author, mine) => !mine,
  describe: describeUpdate,
});

// Calls (lib/call.js, lib/call-ui.js): the shopper calls the assigned agent, once one
// joined; in perfect negotiation the widget is the impolite peer.
const calls = new CallController({ polite: false });
const assignees = new Assignees(() => callUI.refresh());
const callUI = new CallUI(calls, {
  variant: 'widget',
  buttonsHost: document.querySelector('.widget__header'),
  buttonsBefore: ui.close,
  panelHost: document.querySelector('.widget'),
  panelBefore: ui.banner,
  canCall: () => {
    const id = state.conversationId;
    const agent = id ? assignees.get(id) : null;
    if (agent) return { conversationId: id, allowed: true };
    return { conversationId: id, allowed: false, why: 'You can call once an agent has joined the chat' };
  },
  peerName: (call) => calls.peer?.name || assignees.get(call.conversationId)?.name || 'Support',
});

function describeUpdate(frame) {
  if (frame.type === 'call.started' || frame.type === 'call.ended') return describeCall(frame, 'visitor');
  switch (frame.change) {
    case 'assigned':
    case 'transferred':
      return frame.assignee_name ? `${frame.assignee_name} joined the conversation` : null;
    case 'closed':
      return 'This conversation was closed. Write again any time.';
    case 'reopened':
      return 'The conversation was reopened.';
    default:
      return null;
  }
}

// Talking to the host page

window.addEventListener('message', (event) => {
  if (window.parent === window || event.source !== window.parent) return;
  const data = event.data;
  if (!data || data.kefu !== 1 || typeof data.type !== 'string') return;
  if (state.hostOrigin === null) {
    if (data.type !== 'init' || event.origin === 'null') return;
    state.hostOrigin = event.origin;
    state.identity = data.identity || null;
    state.context = data.context || null;
    state.hostStoredToken = typeof data.visitorToken === 'string' ? data.visitorToken : null;
    setVisible(Boolean(data.open));
    start();
    return;
  }
  if (event.origin !== state.hostOrigin) return;
  if (data.type === 'open') setVisible(true);
  else if (data.type === 'close') setVisible(false);
  else if (data.type === 'identify') {
    state.identity = data.identity || null;
    start();
  } else if (data.type === 'context') state.context = data.context || null;
});

function toHost(type, payload = {}) {
  if (state.hostOrigin) window.parent.postMessage({ kefu: 1, type, ...payload }, state.hostOrigin);
}

function setVisible(visible) {
  state.visible = visible;
  if (visible) {
    state.unread = 0;
    toHost('unread', { count: 0 });
    markRead();
    thread.scrollToBottom();
    if (!ui.text.disabled) ui.text.focus();
  }
}

ui.close.addEventListener('click', () => toHost('close'));

// Session, history and the live connection

async function start() {
  const generation = ++state.generation;
  state.client?.close();
  state.client = null;
  calls.detach();
  state.conversationId = null;
  state.lastReadSent = 0;
  let history = null;
  thread.clear();
  ui.contact.hidden = true;
  showError(null);
  setComposer(false);
  showBanner('Connecting…');
  try {
    const session = await openSession();
    if (generation !== state.generation) return;
    state.token = session.token;
    state.visitor = session.visitor;
    thread.language = session.visitor.language || browserLanguage();
    showLanguages(session.tenant.languages || [], thread.language);
    ui.title.textContent = session.tenant.name;
    history = await loadHistory();
    if (generation !== state.generation) return;
  } catch (exc) {
    if (generation !== state.generation) return;
    showBanner(null);
    showError(errorCode(exc));
    return;
  }
  connect(history);
  updateEmpty();
  setComposer(true);
  toHost('ready', { visitorId: state.visitor.id });
}

async function openSession() {
  const identity = state.identity || {};
  const stored = frameStorage ? frameStorage.getItem(storageKey) : state.hostStoredToken;
  const body = {
    widget_key: widgetKey,
    host_origin: state.hostOrigin,
    language: chosenLanguage(),
    timezone: browserTimeZone(),
  };
  if (identity.externalId) {
    body.external_id = identity.externalId;
    body.identity_hash = identity.identityHash;
  } else if (stored) {
    body.visitor_token = stored;
  }
  if (identity.name) body.name = identity.name;
  if (identity.email) body.email = identity.email;
  const market = state.context && state.context.market; // Kefu.setContext({ market: 'US' })
  if (typeof market === 'string' && /^[A-Za-z]{2,8}$/.test(market)) body.market = market;
  let session;
  try {
    session = await requestJson('/api/v1/widget/sessions', { method: 'POST', body });
  } catch (exc) {
    if (exc.code !== 'unknown_time_zone') throw exc;
    delete body.timezone; // a zone the server does not know: carry on without it
    session = await requestJson('/api/v1/widget/sessions', { method: 'POST', body });
  }
  // Only anonymous shoppers are resumed by token; identified ones identify again.
  if (!identity.externalId) storeVisitorToken(session.token);
  return session;
}

function storeVisitorToken(token) {
  if (frameStorage) frameStorage.setItem(storageKey, token);
  else toHost('store', { visitorToken: token });
}

/** The shopper's open (else latest) conversation's newest page, or null if none yet. */
async function loadHistory() {
  const token = state.token;
  const { conversations } = await requestJson('/api/v1/conversations?limit=5', { token });
  const current = conversations.find((c) => c.status === 'open') || conversations[0];
  if (!current) return null;
  const page = await requestJson(`/api/v1/conversations/${current.id}/events?limit=100`, { token });
  return { conversationId: current.id, lastSeq: page.last_seq, events: page.events };
}

function connect(history) {
  const client = new KefuClient({ token: state.token });
  state.client = client;
  calls.attach(client);
  assignees.attach(client);
  if (history) {
    state.conversationId = history.conversationId;
    for (const frame of history.events) {
      thread.add(frame);
      if (frame.type === 'message.new') offerContact(frame.message);
    }
    client.track(history.conversationId, history.lastSeq);
  }
  client.on('state', onConnectionState);
  client.on('synced', () => state.visible && markRead());
  client.on('message.new', (frame) => onLogEvent(frame, true));
  client.on('conversation.updated', (frame) => onLogEvent(frame, false));
  client.on('message.translated', (frame) => onLogEvent(frame, false));
  client.on('call.started', (frame) => onLogEvent(frame, false));
  client.on('call.ended', (frame) => Number.isInteger(frame.seq) && onLogEvent(frame, false));
  client.on('state', () => callUI.refresh());
  client.on('message.ack', (ack) => thread.acked(ack));
  client.on('send.failed', (frame) => {
    thread.failed(frame.id, frame.code);
    showError(frame.code);
  });
  client.on('error', (frame) => {
    if (!frame.id) showError(frame.code);
  });
  client.on('typing', onTyping);
  client.on('queue.status', (frame) => queueLine.update(frame));
  client.on('conversation.updated', (frame) => queueLine.update(frame));
  client.on('unauthorized', ({ code }) => {
    showBanner(null);
    showError(code);
    setComposer(false);
  });
  client.connect();
}

function onConnectionState(connection) {
  if (connection === 'open') showBanner(null);
  else if (connection === 'connecting') showBanner('Connecting…');
  else if (connection === 'reconnecting') showBanner('Connection lost. Reconnecting…');
}

function onLogEvent(frame, isMessage) {
  if (frame.conversation_id !== state.conversationId) return;
  thread.add(frame);
  updateEmpty();
  if (isMessage) offerContact(frame.message);
  if (!isMessage || frame.message.author.type === 'visitor') return;
  hideTyping();
  const { author, text, created_at: createdAt } = frame.message;
  toHost('message', { author: { type: author.type, name: author.name }, text, createdAt });
  if (state.visible && document.visibilityState === 'visible') markRead();
  else toHost('unread', { count: ++state.unread });
}

/** Kefu's own auto-reply (nobody on shift) offers to answer by email: ask for it once. */
function offerContact(message) {
  if (message.author.type !== 'system' || (state.visitor && state.visitor.email)) return;
  ui.contact.hidden = false;
}

ui.contact.addEventListener('submit', async (event) => {
  event.preventDefault();
  const email = ui.contactEmail.value.trim();
  if (!email) return;
  try {
    const saved = await requestJson('/api/v1/widget/contact', {
      method: 'PUT', body: { email }, token: state.token,
    });
    state.visitor.email = saved.email;
  } catch (exc) {
    showError(exc.code === 'invalid_request' ? 'email_invalid' : errorCode(exc));
    return;
  }
  showError(null);
  ui.contactLabel.textContent = `Thanks! We will also answer at ${state.visitor.email}.`;
  ui.contact.querySelector('.contact__row').hidden = true;
});

function onTyping(frame) {
  if (frame.conversation_id !== state.conversationId || frame.author.type === 'visitor') return;
  if (!frame.state) return hideTyping();
  ui.typing.textContent = `${frame.author.name || 'Support'} is typing…`;
  ui.typing.hidden = false;
  clearTimeout(state.typingShowTimer);
  state.typingShowTimer = setTimeout(hideTyping, TYPING_SHOW_MS);
}

function hideTyping() {
  clearTimeout(state.typingShowTimer);
  ui.typing.hidden = true;
}

function markRead() {
  const seq = thread.lastSeq;
  const client = state.client;
  if (!client || client.state !== 'open' || !state.conversationId || seq <= state.lastReadSent) {
    return;
  }
  state.lastReadSent = seq;
  client.read(state.conversationId, seq);
}

document.addEventListener('visibilitychange', () => state.visible && markRead());

// Composer

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  send();
});

ui.text.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});

ui.text.addEventListener('input', () => {
  autoGrow();
  if (!state.client || !state.conversationId) return;
  if (!state.typingSent) {
    state.typingSent = true;
    state.client.typing(state.conversationId, true);
  }
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
});

function stopTyping() {
  clearTimeout(state.typingTimer);
  if (state.typingSent && state.client && state.conversationId) {
    state.client.typing(state.conversationId, false);
  }
  state.typingSent = false;
}

async function send() {
  const text = ui.text.value.trim();
  if (!text || !state.client) return;
  showError(null);
  ui.text.value = '';
  autoGrow();
  try {
    await ensureConversation();
  } catch (exc) {
    ui.text.value = text;
    showError(errorCode(exc));
    return;
  }
  stopTyping();
  const clientId = state.client.send(state.conversationId, text);
  thread.addPending(clientId, text, { type: 'visitor', name: state.visitor.name || 'You' });
  updateEmpty();
}

async function ensureConversation() {
  if (state.conversationId) return;
  const conversation = await requestJson('/api/v1/widget/conversations', {
    method: 'POST',
    token: state.token,
  });
  state.conversationId = conversation.id;
  state.client.track(conversation.id, conversation.last_seq);
  callUI.refresh();
}

function autoGrow() {
  ui.text.style.height = 'auto';
  ui.text.style.height = `${Math.min(ui.text.scrollHeight, 120)}px`;
}

// Small view helpers

function setComposer(enabled) {
  ui.text.disabled = !enabled;
  ui.send.disabled = !enabled;
  if (enabled && state.visible) ui.text.focus();
}

function showBanner(text) {
  ui.banner.hidden = !text;
  ui.banner.textContent = text || '';
}

function showError(code) {
  ui.error.hidden = !code;
  ui.error.textContent = code ? `${ERROR_TEXT[code] || 'Something went wrong.'} (${code})` : '';
}

function browserLanguage() {
  return (navigator.language || 'en').split('-')[0].toLowerCase();
}

/** The language the shopper picked in this widget before, else the browser's. */
function chosenLanguage() {
  return (frameStorage && frameStorage.getItem(languageKey)) || browserLanguage();
}

/** The "Read in" picker: the store's languages, the current one selected. */
function showLanguages(languages, current) {
  const codes = languages.includes(current) ? languages : [current, ...languages];
  ui.language.replaceChildren(...codes.map((code) => {
    const option = document.createElement('option');
    option.value = code;
    option.textContent = languageName(code);
    option.selected = code === current;
    return option;
  }));
  ui.languageRow.hidden = codes.length < 2;
}

ui.language.addEventListener('change', async () => {
  const language = ui.language.value;
  try {
    await requestJson('/api/v1/widget/language', {
      method: 'PUT', body: { language }, token: state.token,
    });
  } catch (exc) {
    showError(errorCode(exc));
    return;
  }
  if (frameStorage) frameStorage.setItem(languageKey, language);
  start(); // history again, with the new language's translations from now on
});

function errorCode(exc) {
  if (exc instanceof ApiError) return exc.code;
  console.error('kefu widget:', exc);
  return 'internal_error';
}

function updateEmpty() {
  ui.empty.hidden = ui.thread.children.length > 0;
}

if (window.parent === window) {
  showError(null);
  ui.empty.textContent = 'This chat opens from a store page.';
}
