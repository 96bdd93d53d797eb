// The agent console's entry point: sign-in, then the inbox and the open conversation,
// wired to one KefuClient connection. Frames from the connection feed both views.

import { KefuClient } from '/static/lib/kefu-client.js';
import { CallController } from '/static/lib/call.js';
import { CallUI } from '/static/lib/call-ui.js';
import { AgentSession } from './api.js';
import { ConversationView } from './conversation.js';
import { Inbox, visitorName } from './inbox.js';
import { CoveragePanel } from './coverage.js';

const $ = (id) => document.getElementById(id);

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  unauthorized: 'Signed out',
  closed: 'Offline',
};

const session = new AgentSession((reason) => showLogin(reason));
let app = null;

function showLogin(reason) {
  app?.stop();
  app = null;
  $('app-view').hidden = true;
  $('login-view').hidden = false;
  const error = $('login-error');
  error.hidden = !reason;
  error.textContent = reason || '';
  $('login-form').elements.email.focus();
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    await session.login(form.elements.email.value, form.elements.password.value);
    form.reset();
    startApp();
  } catch (exc) {
    const error = $('login-error');
    error.hidden = false;
    error.textContent = exc.code === 'invalid_credentials'
      ? 'Wrong email or password.'
      : `Could not sign in (${exc.code || 'error'}).`;
  } finally {
    button.disabled = false;
  }
});

function startApp() {
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  app = new ConsoleApp();
}

class ConsoleApp {
  constructor() {
    this.listeners = [];
    this.client = new KefuClient({
      token: () => session.accessToken,
      refresh: () => session.refresh(),
    });
    this.coverage = new CoveragePanel($('coverage-panel'), $('coverage-open'),
      (path) => session.call(path));
    this.inbox = new Inbox($('inbox'), $('inbox-empty'), {
      session,
      onSelect: (id) => this.select(id),
    });
    this.view = new ConversationView(
      {
        root: $('conversation'), empty: $('pane-empty'), title: $('conv-title'),
        meta: $('conv-meta'), assign: $('assign'), close: $('close-conv'),
        reopen: $('reopen-conv'), history: $('history'), older: $('older'),
        thread: $('thread'), typingLine: $('typing'), composer: $('composer'), reply: $('reply'),
        preview: $('preview'), previewBox: $('preview-box'), previewLabel: $('preview-label'),
        previewText: $('preview-text'),
      },
      {
        session,
        client: this.client,
        listen: (node, type, fn) => this.listen(node, type, fn),
        onSummary: (summary) => this.inbox.put(summary),
        onError: (exc) => this.toast(exc),
        onRead: (id) => this.inbox.markRead(id),
        onRender: () => this.callUI?.refresh(),
      },
    );
    // Calls (lib/call.js): the assigned agent calls the shopper or answers them; in
    // perfect negotiation the console is the polite peer. The panel is the pane's right column.
    this.calls = new CallController({ polite: true });
    this.calls.attach(this.client);
    this.callUI = new CallUI(this.calls, {
      variant: 'console',
      buttonsHost: document.querySelector('.conversation__actions'),
      buttonsBefore: $('assign'),
      panelHost: $('pane'),
      canCall: () => {
        const summary = this.view.summary;
        if (!summary) return { conversationId: null, allowed: false };
        const mine = summary.assignee?.id === session.agent.id;
        return { conversationId: summary.id, allowed: mine,
          why: mine ? '' : 'Assign the conversation to yourself to call' };
      },
      peerName: (call) => {
        const summary = this.inbox.get(call.conversationId);
        return summary ? visitorName(summary) : this.calls.peer?.name || 'Visitor';
      },
      onAccept: (call) => call.conversationId !== this.view.id && this.select(call.conversationId),
    });
    this.wire();
    $('me-name').textContent = session.agent.name;
    $('presence').value = session.agent.status;
    this.client.connect();
  }

  wire() {
    const client = this.client;
    client.on('state', (state) => {
      const line = $('connection');
      line.textContent = CONNECTION_TEXT[state] || state;
      line.dataset.state = state;
    });
    client.on('synced', () => {
      // First sync: load the inbox. Later ones (after a reconnect): reload it, since
      // conversations started while we were away were never tracked, so not replayed.
      this.inbox.load().catch((exc) => this.toast(exc));
    });
    client.on('message.new', (frame) => {
      this.inbox.onMessage(frame);
      this.view.onLogEvent(frame);
    });
    client.on('conversation.updated', (frame) => {
      this.inbox.onUpdated(frame);
      this.view.onLogEvent(frame);
    });
    client.on('message.translated', (frame) => this.view.onLogEvent(frame));
    client.on('call.started', (frame) => this.view.onLogEvent(frame));
    client.on('call.ended', (frame) => Number.isInteger(frame.seq) && this.view.onLogEvent(frame));
    client.on('state', () => this.callUI.refresh());
    client.on('message.ack', (ack) => this.view.thread.acked(ack));
    client.on('send.failed', (frame) => {
      this.view.thread.failed(frame.id, frame.code);
      this.toast(frame);
    });
    client.on('error', (frame) => !frame.id && this.toast(frame));
    client.on('typing', (frame) => this.view.onTyping(frame));
    client.on('read', (frame) => {
      if (frame.reader && frame.reader.id === session.agent.id) this.inbox.markRead(frame.conversation_id);
    });
    client.on('presence', (frame) => {
      if (frame.agent_id === session.agent.id) $('presence').value = frame.status;
    });
    client.on('unauthorized', () => session.signOut('Your session has ended; please sign in again.'));

    this.listen($('presence'), 'change', (event) => this.setPresence(event.target.value));
    this.listen($('sign-out'), 'click', () => session.signOut());
    this.listen($('status-filter'), 'change', (event) => this.filter({ status: event.target.value }));
    this.listen($('assignee-filter'), 'change', (event) => this.filter({ assignee: event.target.value }));
    $('status-filter').value = this.inbox.filters.status;
    $('assignee-filter').value = this.inbox.filters.assignee;
  }

  listen(node, type, fn) {
    node.addEventListener(type, fn);
    this.listeners.push(() => node.removeEventListener(type, fn));
  }

  stop() {
    this.coverage.destroy();
    this.calls.hangup();
    this.calls.destroy();
    this.callUI.destroy();
    this.client.close();
    for (const remove of this.listeners) remove();
    $('conversation').hidden = true;
    $('pane-empty').hidden = false;
    $('inbox').replaceChildren();
  }

  async select(id) {
    const summary = this.inbox.get(id);
    if (!summary) return;
    this.inbox.select(id);
    try {
      await this.view.open(summary);
    } catch (exc) {
      this.toast(exc);
    }
  }

  async filter(filters) {
    try {
      await this.inbox.setFilters(filters);
    } catch (exc) {
      this.toast(exc);
    }
  }

  async setPresence(status) {
    try {
      const agent = await session.call('/api/v1/agents/me/presence', { method: 'PUT', body: { status } });
      session.setAgent({ ...session.agent, status: agent.status });
    } catch (exc) {
      $('presence').value = session.agent.status;
      this.toast(exc);
    }
  }

  toast(error) {
    const line = $('toast');
    line.textContent = `${error.message || 'Something went wrong'} (${error.code || 'error'})`;
    line.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => (line.hidden = true), 6000);
  }
}

async function boot() {
  if (!session.signedIn) return showLogin();
  try {
    session.setAgent(await session.call('/api/v1/auth/me'));
  } catch (exc) {
    if (session.signedIn) session.signOut(`Could not restore your session (${exc.code}).`);
    return;
  }
  startApp();
}

boot();
