// The console's inbox: the conversations matching the filters, newest activity first,
// kept live from WebSocket frames. A new message bumps its conversation to the top and
// counts as unread unless that conversation is open; an unknown one is fetched by id.

import { el, formatTime, shortId } from '/static/lib/dom.js';

export function visitorName(summary) {
  const visitor = summary.visitor || {};
  return visitor.name || visitor.email || `Visitor ${shortId(visitor.id)}`;
}

export class Inbox {
  constructor(list, empty, { session, onSelect }) {
    this.list = list;
    this.empty = empty;
    this.session = session;
    this.onSelect = onSelect;
    this.filters = { status: 'open', assignee: '' };
    this.items = new Map();
    this.openId = null;
    this.fetching = new Set();
    this.generation = 0;
  }

  get me() {
    return this.session.agent.id;
  }

  async load() {
    const query = new URLSearchParams({ limit: '100' });
    if (this.filters.status) query.set('status', this.filters.status);
    if (this.filters.assignee) query.set('assignee', this.filters.assignee);
    const generation = ++this.generation;
    const { conversations } = await this.session.call(`/api/v1/conversations?${query}`);
    if (generation !== this.generation) return;
    const items = new Map();
    for (const summary of conversations) {
      const known = this.items.get(summary.id);
      items.set(summary.id, known && known.last_seq > summary.last_seq ? known : summary);
    }
    this.items = items;
    this.render();
  }

  setFilters(filters) {
    Object.assign(this.filters, filters);
    return this.load();
  }

  get(id) {
    return this.items.get(id);
  }

  matches(summary) {
    const { status, assignee } = this.filters;
    if (status && summary.status !== status) return false;
    if (assignee === 'me') return summary.assignee?.id === this.me;
    if (assignee === 'unassigned') return !summary.assignee;
    return true;
  }

  /** Replace one conversation's summary (from REST), keeping the list's rules. */
  put(summary) {
    if (this.matches(summary)) this.items.set(summary.id, summary);
    else this.items.delete(summary.id);
    this.render();
  }

  select(id) {
    this.openId = id;
    this.markRead(id);
  }

  markRead(id) {
    const item = this.items.get(id);
    if (item && item.unread) {
      item.unread = 0;
      this.render();
    }
  }

  onMessage(frame) {
    const item = this.items.get(frame.conversation_id);
    if (!item) return this._fetch(frame.conversation_id);
    const message = frame.message;
    item.last_seq = Math.max(item.last_seq, frame.seq);
    item.last_message_preview = message.text.slice(0, 140);
    item.last_activity_at = message.created_at;
    if (message.author.type === 'visitor' && frame.conversation_id !== this.openId) item.unread += 1;
    this.render();
  }

  onUpdated(frame) {
    const item = this.items.get(frame.conversation_id);
    if (!item) return this._fetch(frame.conversation_id);
    item.last_seq = Math.max(item.last_seq, frame.seq);
    item.last_activity_at = frame.created_at;
    item.status = frame.status;
    const previous = item.assignee;
    item.assignee = frame.assignee_id
      ? {
          id: frame.assignee_id,
          name: frame.assignee_name || (previous?.id === frame.assignee_id ? previous.name : ''),
        }
      : null;
    this.put(item);
  }

  async _fetch(id) {
    if (this.fetching.has(id)) return;
    this.fetching.add(id);
    try {
      this.put(await this.session.call(`/api/v1/conversations/${encodeURIComponent(id)}`));
    } catch (exc) {
      console.warn('kefu console: could not fetch conversation', id, exc);
    } finally {
      this.fetching.delete(id);
    }
  }

  render() {
    const sorted = [...this.items.values()].sort((a, b) =>
      b.last_activity_at.localeCompare(a.last_activity_at));
    // Rows are reused (a click in progress is not lost) and only moved when out of place.
    const rows = new Map();
    for (const row of this.list.children) rows.set(row.dataset.conversationId, row);
    let at = this.list.firstElementChild;
    for (const summary of sorted) {
      let row = rows.get(summary.id);
      if (row) rows.delete(summary.id);
      else row = el('li', { dataset: { conversationId: summary.id } });
      row.replaceChildren(this._button(summary));
      if (row === at) at = at.nextElementSibling;
      else this.list.insertBefore(row, at);
    }
    for (const row of rows.values()) row.remove();
    this.empty.hidden = sorted.length > 0;
  }

  _button(summary) {
    const active = summary.id === this.openId;
    const badge = summary.unread > 0
      ? el('span', { class: 'badge', 'aria-label': `${summary.unread} unread`, text: String(summary.unread) })
      : null;
    const closed = summary.status === 'closed' ? el('span', { class: 'tag', text: 'Closed' }) : null;
    const button = el('button', {
      type: 'button',
      class: `conv${active ? ' conv--active' : ''}${summary.unread ? ' conv--unread' : ''}`,
      'aria-current': active ? 'true' : null,
      onclick: () => this.onSelect(summary.id),
    },
    el('span', { class: 'conv__top' },
      el('span', { class: 'conv__name', text: visitorName(summary) }),
      el('time', { datetime: summary.last_activity_at, text: formatTime(summary.last_activity_at) })),
    el('span', { class: 'conv__bottom' },
      el('span', { class: 'conv__preview', text: summary.last_message_preview || '' }),
      closed, badge));
    return button;
  }
}
