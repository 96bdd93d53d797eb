// A conversation's message list, shared by the widget and the console.
//
// Items are keyed by seq, so history pages, live events and replays can arrive in any
// order and overlap without duplicates. Own sends show at once as pending (keyed by their
// client id) and take their seq when acked. A `message.translated` event shows the message in
// the reader's language, with the original one click away ("Show original"). Text is always set with textContent.

import { el, formatTime } from './dom.js';

const languageNames = (() => {
  try { return new Intl.DisplayNames(undefined, { type: 'language' }); } catch { return null; }
})();

/** "English" for "en", the code itself when the browser has no name for it. */
export function languageName(code) {
  if (!code) return 'another language';
  try { return languageNames?.of(code) || code; } catch { return code; }
}

const STATE_LABELS = { pending: 'Sending…', sent: 'Sent', failed: 'Not sent' };

export class Thread {
  /**
   * @param {HTMLElement} root the scrolling list element
   * @param {object} options
   * @param {(author) => boolean} options.isMine whether a message is shown as our own
   * @param {(author) => boolean} [options.showAuthor] whether to print the author's name
   * @param {(frame) => string|null} options.describe text for a conversation.updated frame
   * @param {HTMLElement} [options.scroller] the element that scrolls, if not root
   * @param {string} [options.language] the reader's language, for translations
   */
  constructor(root, { isMine, showAuthor = () => true, describe, scroller, language }) {
    this.language = language;
    this.translations = new Map(); // message seq -> translation entry, until its message shows
    this.root = root;
    this.scroller = scroller || root;
    this.isMine = isMine;
    this.showAuthor = showAuthor;
    this.describe = describe;
    this.bySeq = new Map();
    this.pending = new Map();
  }

  clear() {
    this.bySeq.clear();
    this.pending.clear();
    this.translations.clear();
    this.root.replaceChildren();
  }

  get lastSeq() {
    return this.bySeq.size ? Math.max(...this.bySeq.keys()) : 0;
  }

  get oldestSeq() {
    return this.bySeq.size ? Math.min(...this.bySeq.keys()) : null;
  }

  /** Add a log event (message.new, conversation.updated, ...), from history or live. */
  add(frame, { keepScroll = false } = {}) {
    if (this.bySeq.has(frame.seq)) return null;
    if (frame.type === 'message.translated') return this._translated(frame);
    const follow = this._nearBottom();
    const before = this.scroller.scrollHeight - this.scroller.scrollTop;
    let node;
    if (frame.type === 'message.new') {
      const message = frame.message;
      node = this.pending.get(message.client_id);
      if (node && this.isMine(message.author)) {
        this.pending.delete(message.client_id);
        this._setState(node, 'sent');
      } else {
        node = this._messageNode(message, this.isMine(message.author) ? 'sent' : null);
      }
    } else {
      const text = this.describe(frame);
      if (!text) return null;
      node = el('li', { class: 'note' }, el('span', { text }), ' ',
        el('time', { datetime: frame.created_at, text: formatTime(frame.created_at) }));
    }
    node.dataset.seq = String(frame.seq);
    this.bySeq.set(frame.seq, node);
    this._place(node, frame.seq);
    if (this.translations.has(frame.seq)) this._showTranslation(node, this.translations.get(frame.seq));
    if (keepScroll) this.scroller.scrollTop = this.scroller.scrollHeight - before;
    else if (follow) this.scrollToBottom();
    return node;
  }

  /** Show an own message at once, before the server has acked it. */
  addPending(clientId, text, author) {
    const node = this._messageNode(
      { author, text, created_at: new Date().toISOString(), client_id: clientId },
      'pending',
    );
    this.pending.set(clientId, node);
    this.root.append(node);
    this.scrollToBottom();
  }

  acked({ id, seq }) {
    const node = this.pending.get(id);
    if (!node) return;
    this.pending.delete(id);
    this._setState(node, 'sent');
    if (this.bySeq.has(seq)) {
      node.remove(); // a replay already showed it
      return;
    }
    node.dataset.seq = String(seq);
    this.bySeq.set(seq, node);
    this._place(node, seq);
    if (this.translations.has(seq)) this._showTranslation(node, this.translations.get(seq));
  }

  failed(clientId, label) {
    const node = this.pending.get(clientId);
    if (!node) return;
    this.pending.delete(clientId);
    this._setState(node, 'failed', label);
  }

  _translated(frame) {
    const entry = (frame.translations || {})[this.language];
    this.bySeq.set(frame.seq, null); // applied; it has no row of its own
    if (!entry) return null;
    const target = this.bySeq.get(frame.message_seq);
    if (target) this._showTranslation(target, { ...entry, source: frame.source_language });
    else this.translations.set(frame.message_seq, { ...entry, source: frame.source_language });
    return null;
  }

  /**
   * A message translated into the reader's language reads in it; the original stays one
   * click away ("Show original"), and an untranslated one says why.
   */
  _showTranslation(node, entry) {
    node.querySelector('.msg__translation')?.remove();
    const bubble = node.querySelector('.msg__bubble');
    if (node.dataset.original !== undefined) bubble.textContent = node.dataset.original;
    if (!entry.translated) {
      bubble.after(el('div', { class: 'msg__translation msg__translation--none',
        text: `Not translated${entry.reason ? `: ${entry.reason}` : ''}` }));
      return;
    }
    node.dataset.original = bubble.textContent;
    bubble.textContent = entry.text;
    bubble.lang = this.language;
    const original = el('div', { class: 'msg__original', lang: entry.source || undefined,
      text: node.dataset.original, hidden: true });
    const toggle = el('button', { type: 'button', class: 'msg__toggle', 'aria-expanded': 'false',
      text: 'Show original' });
    toggle.addEventListener('click', () => {
      original.hidden = !original.hidden;
      toggle.textContent = original.hidden ? 'Show original' : 'Hide original';
      toggle.setAttribute('aria-expanded', String(!original.hidden));
    });
    bubble.after(el('div', { class: 'msg__translation' },
      el('span', { class: 'msg__translation-label',
        text: `Translated from ${languageName(entry.source)}` }), ' ', toggle, original));
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  _nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  _place(node, seq) {
    // Before the first item with a greater seq, or before the first still-pending item.
    for (const child of this.root.children) {
      if (child === node) continue;
      const childSeq = child.dataset.seq === undefined ? Infinity : Number(child.dataset.seq);
      if (childSeq > seq) {
        this.root.insertBefore(node, child);
        return;
      }
    }
    this.root.append(node);
  }

  _messageNode(message, state) {
    const mine = this.isMine(message.author);
    const author = message.author || {};
    const meta = el('div', { class: 'msg__meta' },
      el('time', { datetime: message.created_at, text: formatTime(message.created_at) }));
    if (state) meta.append(el('span', { class: 'msg__state', text: STATE_LABELS[state] }));
    return el('li', { class: `msg ${mine ? 'msg--mine' : 'msg--theirs'}`, dataset: { state: state || '' } },
      this.showAuthor(author, mine) ? el('div', { class: 'msg__author', text: author.name || '' }) : null,
      el('div', { class: 'msg__bubble', text: message.text }),
      meta);
  }

  _setState(node, state, label) {
    node.dataset.state = state;
    const slot = node.querySelector('.msg__state');
    if (slot) slot.textContent = label ? `${STATE_LABELS[state]}: ${label}` : STATE_LABELS[state];
  }
}
