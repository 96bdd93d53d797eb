// The open conversation in the console: its history (paged back with before_seq), live
// events, the reply box, and the actions (assign to me, close, reopen). It tells the
// server what the agent has seen with `read {conversation_id, seq}`.

import { Thread, languageName } from '/static/lib/thread.js';
import { describeCall } from '/static/lib/call-ui.js';
import { visitorName } from './inbox.js';

const PAGE = 50;
const TYPING_IDLE_MS = 3000;
const TYPING_SHOW_MS = 6000;

function describe(frame) {
  if (frame.type === 'call.started' || frame.type === 'call.ended') return describeCall(frame, 'agent');
  const by = frame.by && frame.by.name ? ` by ${frame.by.name}` : '';
  switch (frame.change) {
    case 'assigned':
      return frame.assignee_name ? `Assigned to ${frame.assignee_name}${by}` : `Unassigned${by}`;
    case 'transferred':
      return `Transferred to ${frame.assignee_name || 'another agent'}${by}`;
    case 'closed':
      return `Closed${by}`;
    case 'reopened':
      return `Reopened${by}`;
    default:
      return null;
  }
}

export class ConversationView {
  constructor(ui, { session, client, listen, onSummary, onError, onRead, onRender }) {
    this.ui = ui;
    this.onRender = onRender;
    this.session = session;
    this.client = client;
    this.onSummary = onSummary;
    this.onError = onError;
    this.onRead = onRead;
    this.summary = null;
    this.generation = 0;
    this.lastReadSent = 0;
    this.typingSent = false;
    this.thread = new Thread(ui.thread, {
      isMine: (author) => author && author.type === 'agent',
      describe,
      scroller: ui.history,
      language: session.agent.language,
    });
    listen(ui.older, 'click', () => this.loadOlder());
    listen(ui.assign, 'click', () => this.act('assign', { agent_id: session.agent.id }));
    listen(ui.close, 'click', () => this.act('close'));
    listen(ui.reopen, 'click', () => this.act('reopen'));
    listen(ui.composer, 'submit', (event) => {
      event.preventDefault();
      this.send();
    });
    listen(ui.reply, 'keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    listen(ui.reply, 'input', () => {
      this.typing();
      this.hidePreview();
    });
    listen(ui.preview, 'click', () => this.preview());
    listen(document, 'visibilitychange', () => this.markRead());
  }

  get id() {
    return this.summary && this.summary.id;
  }

  async open(summary) {
    const generation = ++this.generation;
    this.summary = { ...summary };
    this.lastReadSent = 0;
    this.thread.clear();
    this.hidePreview();
    this.ui.older.hidden = true;
    this.ui.typingLine.hidden = true;
    this.ui.empty.hidden = true;
    this.ui.root.hidden = false;
    this.renderHeader();
    const page = await this.session.call(`/api/v1/conversations/${summary.id}/events?limit=${PAGE}`);
    if (generation !== this.generation) return;
    for (const frame of page.events) this.thread.add(frame);
    this.ui.older.hidden = !page.has_more;
    this.client.track(summary.id, page.last_seq);
    this.thread.scrollToBottom();
    this.markRead();
    this.ui.reply.focus();
  }

  async loadOlder() {
    const oldest = this.thread.oldestSeq;
    if (!this.id || oldest === null) return;
    const generation = this.generation;
    const page = await this.session.call(
      `/api/v1/conversations/${this.id}/events?limit=${PAGE}&before_seq=${oldest}`);
    if (generation !== this.generation) return;
    for (const frame of [...page.events].reverse()) this.thread.add(frame, { keepScroll: true });
    this.ui.older.hidden = !page.has_more;
  }

  onLogEvent(frame) {
    if (frame.conversation_id !== this.id) return;
    this.thread.add(frame);
    if (frame.type === 'message.new') {
      if (frame.message.author.type === 'visitor') this.ui.typingLine.hidden = true;
      this.markRead();
    } else if (frame.type === 'conversation.updated') {
      const previous = this.summary.assignee;
      this.summary.status = frame.status;
      this.summary.assignee = frame.assignee_id
        ? {
            id: frame.assignee_id,
            name: frame.assignee_name || (previous?.id === frame.assignee_id ? previous.name : ''),
          }
        : null;
      this.renderHeader();
    }
  }

  onTyping(frame) {
    if (frame.conversation_id !== this.id) return;
    clearTimeout(this.typingShowTimer);
    this.ui.typingLine.hidden = !frame.state;
    if (!frame.state) return;
    this.ui.typingLine.textContent = `${frame.author.name || 'Visitor'} is typing…`;
    this.typingShowTimer = setTimeout(() => (this.ui.typingLine.hidden = true), TYPING_SHOW_MS);
  }

  markRead() {
    const seq = this.thread.lastSeq;
    if (!this.id || document.visibilityState !== 'visible' || seq <= this.lastReadSent) return;
    if (this.client.state !== 'open') return;
    this.lastReadSent = seq;
    this.client.read(this.id, seq);
    this.onRead(this.id);
  }

  /** Show how the draft will read to the shopper (translation-preview), before sending. */
  async preview() {
    const text = this.ui.reply.value.trim();
    const id = this.id;
    if (!text || !id) return;
    let result;
    try {
      result = await this.session.call(`/api/v1/conversations/${id}/translation-preview`, {
        method: 'POST', body: { text },
      });
    } catch (exc) {
      this.onError(exc);
      return;
    }
    if (id !== this.id || this.ui.reply.value.trim() !== text) return; // stale answer
    const { previewBox, previewLabel, previewText } = this.ui;
    previewLabel.textContent = result.translated
      ? `The shopper will read (${languageName(result.target)}):`
      : `Sent as written${result.reason ? `: ${result.reason}` : ''}`;
    previewText.textContent = result.text;
    previewText.lang = result.target || '';
    previewBox.hidden = false;
  }

  hidePreview() {
    this.ui.previewBox.hidden = true;
  }

  send() {
    const text = this.ui.reply.value.trim();
    if (!text || !this.id) return;
    this.hidePreview();
    this.ui.reply.value = '';
    this.stopTyping();
    const clientId = this.client.send(this.id, text);
    this.thread.addPending(clientId, text, { type: 'agent', name: this.session.agent.name });
  }

  typing() {
    if (!this.id) return;
    if (!this.typingSent) {
      this.typingSent = true;
      this.client.typing(this.id, true);
    }
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingTimer);
    if (this.typingSent && this.id) this.client.typing(this.id, false);
    this.typingSent = false;
  }

  async act(action, body = {}) {
    if (!this.id) return;
    try {
      const summary = await this.session.call(`/api/v1/conversations/${this.id}/${action}`, {
        method: 'POST',
        body,
      });
      if (summary.id !== this.id) return;
      this.summary = summary;
      this.renderHeader();
      this.onSummary(summary);
    } catch (exc) {
      this.onError(exc);
    }
  }

  renderHeader() {
    const s = this.summary;
    const me = this.session.agent.id;
    const visitor = s.visitor || {};
    this.ui.title.textContent = visitorName(s);
    const parts = [];
    if (visitor.email) parts.push(visitor.email);
    if (visitor.language) parts.push(visitor.language.toUpperCase());
    parts.push(s.status === 'closed' ? 'Closed' : 'Open');
    parts.push(s.assignee ? `Assigned to ${s.assignee.name || 'an agent'}` : 'Unassigned');
    this.ui.meta.textContent = parts.join(' · ');
    this.ui.assign.hidden = Boolean(s.assignee && s.assignee.id === me);
    this.ui.close.hidden = s.status === 'closed';
    this.ui.reopen.hidden = s.status !== 'closed';
    this.onRender?.(s);
  }
}
