// The Kefu protocol client (the core of the JS SDK), shared by the widget and the console.
//
// One WebSocket to /ws. The first frame is `hello {token, resume}`, where `resume` holds
// the last seq this client applied per conversation, so the server replays what was
// missed. Per conversation, log events (every frame with a seq: `message.new`, ...) are
// applied strictly in seq order: older or repeated seqs are dropped, and one that jumps
// ahead is held back while a `resume` asks the server for the gap. Every send has a client id;
// unacked sends are kept and resent with the SAME id after a reconnect (the server dedupes).
// Reconnects back off exponentially with full jitter. Close 4003 (bad token) is not retried
// blindly: `refresh()` may renew the token once, else `unauthorized` is emitted.
//
// Events (client.on(type, fn)): state, welcome, synced, message.new, message.ack,
// conversation.updated, message.translated, typing, read, presence, pong, error,
// send.failed, unauthorized, disconnected, and any other frame type under its own type:
// the live `call.*` frames (no seq) pass straight through, while the stored call history
// events `call.started` and `call.ended` (with a seq) are log events like messages, so a
// `call.ended` listener sees the live frame and later the stored one (see lib/call.js).

export const CloseCode = Object.freeze({
  HELLO_TIMEOUT: 4001,
  UNAUTHORIZED: 4003,
  SLOW_CONSUMER: 4008,
});

// Every frame with a conversation_id and a seq is a log event (message.new,
// conversation.updated, message.translated, ...) except these, whose seq means something else.
const NOT_LOG_EVENTS = new Set(['message.ack', 'read']);

const DEFAULTS = {
  pingEveryMs: 25_000,
  pongTimeoutMs: 10_000,
  welcomeTimeoutMs: 15_000,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  retryRateLimitedMs: 1_000,
  maxResume: 500,
};

export function socketUrl(base = window.location) {
  const scheme = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${base.host}/ws`;
}

/** A v4 UUID; crypto.randomUUID only exists in secure contexts. */
export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class KefuClient {
  /**
   * @param {object} options
   * @param {string|(() => string|Promise<string>)} options.token access token, or a getter
   * @param {() => Promise<boolean>} [options.refresh] renew an expired token; true if renewed
   * @param {string} [options.url] WebSocket URL; default /ws on the page's origin
   */
  constructor({ token, refresh, url, ...options } = {}) {
    this.url = url || socketUrl();
    this.options = { ...DEFAULTS, ...options };
    this.state = 'idle'; // idle | connecting | open | reconnecting | unauthorized | closed
    this.user = null;
    this.limits = null;
    this._token = token;
    this._refresh = refresh;
    this._handlers = new Map();
    this._seqs = new Map(); // conversation id -> last applied seq (most recent last)
    this._held = new Map(); // conversation id -> Map(seq -> frame) waiting for a gap
    this._replaying = new Set(); // conversations with a gap `resume` in flight
    this._pending = new Map(); // client id -> message.send frame, until acked or refused
    this._ws = null;
    this._ready = false;
    this._attempt = 0;
    this._timers = {};
    this._lastErrorCode = null;
    this._refreshedOnce = false;
    this._onOnline = () => this.state === 'reconnecting' && this._reconnectNow();
  }

  on(type, fn) {
    if (!this._handlers.has(type)) this._handlers.set(type, new Set());
    this._handlers.get(type).add(fn);
    return () => this.off(type, fn);
  }

  off(type, fn) {
    this._handlers.get(type)?.delete(fn);
  }

  connect() {
    if (this.state !== 'idle' && this.state !== 'closed' && this.state !== 'unauthorized') return;
    window.addEventListener('online', this._onOnline);
    this._attempt = 0;
    this._open();
  }

  close() {
    window.removeEventListener('online', this._onOnline);
    this._clearTimers();
    const ws = this._ws;
    this._ws = null;
    this._ready = false;
    if (ws) ws.close(1000, 'bye');
    this._setState('closed');
  }

  /** Start (or move forward) the seq this client holds for a conversation, e.g. after REST history. */
  track(conversationId, seq) {
    const last = this._seqs.get(conversationId);
    if (last === undefined || seq > last) this._remember(conversationId, seq);
    this._drainHeld(conversationId);
  }

  lastSeq(conversationId) {
    return this._seqs.get(conversationId);
  }

  /** Send a message; returns its client id. Kept and resent until acked or refused. */
  send(conversationId, text) {
    const frame = { type: 'message.send', id: newClientId(), conversation_id: conversationId, text };
    this._pending.set(frame.id, frame);
    if (this._ready) this._write(frame);
    return frame.id;
  }

  isPending(clientId) {
    return this._pending.has(clientId);
  }

  typing(conversationId, state = true) {
    if (this._ready) this._write({ type: 'typing', conversation_id: conversationId, state });
  }

  read(conversationId, seq) {
    if (this._ready) this._write({ type: 'read', conversation_id: conversationId, seq });
  }

  /** Send one frame as is (the `call.*` frames); false when not connected, nothing queued. */
  sendFrame(frame) {
    if (!this._ready || !this._ws || this._ws.readyState !== WebSocket.OPEN) return false;
    this._write(frame);
    return true;
  }

  // Connection lifecycle

  async _open() {
    this._setState(this._attempt === 0 ? 'connecting' : 'reconnecting');
    let token;
    try {
      token = typeof this._token === 'function' ? await this._token() : this._token;
    } catch (exc) {
      this._scheduleReconnect({ code: 0, reason: 'no token' });
      return;
    }
    if (this.state === 'closed') return;
    const ws = new WebSocket(this.url);
    this._ws = ws;
    this._lastErrorCode = null;
    ws.addEventListener('open', () => {
      if (ws !== this._ws) return;
      this._write({ type: 'hello', token, resume: this._resumeMap() });
      this._timers.welcome = setTimeout(() => this._drop('no welcome'), this.options.welcomeTimeoutMs);
    });
    ws.addEventListener('message', (event) => {
      if (ws !== this._ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this._alive();
      this._onFrame(frame);
    });
    ws.addEventListener('close', (event) => {
      if (ws !== this._ws) return;
      this._ws = null;
      this._onClosed(event);
    });
  }

  _resumeMap() {
    // At most `maxResume` conversations, the most recently active ones (kept last in the Map).
    const entries = [...this._seqs.entries()];
    return Object.fromEntries(entries.slice(-this.options.maxResume));
  }

  async _onClosed({ code, reason }) {
    this._ready = false;
    this._clearTimers();
    this._replaying.clear();
    if (this.state === 'closed') return;
    if (code === CloseCode.UNAUTHORIZED) {
      const expired = this._lastErrorCode === 'token_expired';
      if (expired && this._refresh && !this._refreshedOnce) {
        this._refreshedOnce = true;
        const renewed = await this._refresh().catch(() => false);
        if (renewed && this.state !== 'closed') {
          this._open();
          return;
        }
      }
      this._setState('unauthorized');
      this._emit('unauthorized', { code: this._lastErrorCode || 'invalid_token' });
      return;
    }
    this._scheduleReconnect({ code, reason });
  }

  _scheduleReconnect({ code, reason }) {
    const { backoffBaseMs, backoffMaxMs } = this.options;
    const ceiling = Math.min(backoffMaxMs, backoffBaseMs * 2 ** this._attempt);
    const delay = Math.round(backoffBaseMs / 2 + Math.random() * ceiling);
    this._attempt += 1;
    this._setState('reconnecting');
    this._emit('disconnected', { code, reason, retryInMs: delay });
    this._timers.reconnect = setTimeout(() => this._open(), delay);
  }

  _reconnectNow() {
    clearTimeout(this._timers.reconnect);
    this._open();
  }

  /** Give up on a socket that stopped answering (a half-open connection) and reconnect. */
  _drop(reason) {
    const ws = this._ws;
    this._ws = null;
    if (ws) ws.close(4000, reason);
    this._onClosed({ code: 1006, reason });
  }

  _setState(state) {
    if (state === this.state) return;
    this.state = state;
    this._emit('state', state);
  }

  _clearTimers() {
    clearTimeout(this._timers.reconnect);
    clearInterval(this._timers.ping);
    clearTimeout(this._timers.pong);
    clearTimeout(this._timers.welcome);
    this._timers = {};
  }

  _startPing() {
    clearInterval(this._timers.ping);
    this._timers.ping = setInterval(() => {
      if (!this._ready) return;
      this._write({ type: 'ping', id: newClientId() });
      clearTimeout(this._timers.pong);
      this._timers.pong = setTimeout(() => this._drop('no pong'), this.options.pongTimeoutMs);
    }, this.options.pingEveryMs);
  }

  _alive() {
    clearTimeout(this._timers.pong);
  }

  _write(frame) {
    if (this._ws && this._ws.readyState === WebSocket.OPEN) this._ws.send(JSON.stringify(frame));
  }

  _emit(type, data) {
    for (const fn of [...(this._handlers.get(type) || [])]) {
      try {
        fn(data);
      } catch (exc) {
        console.error(`kefu: a "${type}" handler failed`, exc);
      }
    }
  }

  // Frames

  _onFrame(frame) {
    switch (frame.type) {
      case 'welcome':
        return this._onWelcome(frame);
      case 'synced':
        for (const id of Object.keys(frame.conversations || {})) this._replaying.delete(id);
        return this._emit('synced', frame);
      case 'message.ack':
        this._pending.delete(frame.id);
        return this._emit('message.ack', frame);
      case 'error':
        return this._onError(frame);
      default:
        if (!NOT_LOG_EVENTS.has(frame.type) && frame.conversation_id && Number.isInteger(frame.seq)) {
          return this._applyLogEvent(frame);
        }
        return this._emit(frame.type, frame);
    }
  }

  _onWelcome(frame) {
    clearTimeout(this._timers.welcome);
    this.user = frame.user;
    this.limits = frame.limits;
    this._ready = true;
    this._attempt = 0;
    this._refreshedOnce = false;
    this._setState('open');
    this._startPing();
    this._emit('welcome', frame);
    for (const pending of this._pending.values()) this._write(pending);
  }

  _onError(frame) {
    this._lastErrorCode = frame.code;
    const pending = frame.id ? this._pending.get(frame.id) : undefined;
    if (pending) {
      if (frame.retryable) {
        setTimeout(() => this._ready && this._pending.has(pending.id) && this._write(pending),
          this.options.retryRateLimitedMs);
      } else {
        this._pending.delete(frame.id);
        this._emit('send.failed', { ...frame, conversation_id: pending.conversation_id });
      }
    }
    this._emit('error', frame);
  }

  _applyLogEvent(frame) {
    const id = frame.conversation_id;
    const last = this._seqs.get(id);
    if (last !== undefined && frame.seq <= last) return;
    if (last !== undefined && frame.seq > last + 1) {
      if (!this._held.has(id)) this._held.set(id, new Map());
      this._held.get(id).set(frame.seq, frame);
      this._requestReplay(id, last);
      return;
    }
    this._remember(id, frame.seq);
    this._emit(frame.type, frame);
    this._drainHeld(id);
  }

  _drainHeld(id) {
    const held = this._held.get(id);
    if (!held) return;
    for (;;) {
      const last = this._seqs.get(id);
      for (const seq of held.keys()) if (seq <= last) held.delete(seq);
      const next = held.get(last + 1);
      if (!next) break;
      held.delete(last + 1);
      this._remember(id, next.seq);
      this._emit(next.type, next);
    }
    if (held.size === 0) this._held.delete(id);
  }

  _requestReplay(id, last) {
    if (this._replaying.has(id) || !this._ready) return;
    this._replaying.add(id);
    this._write({ type: 'resume', conversations: { [id]: last } });
  }

  _remember(id, seq) {
    this._seqs.delete(id); // re-insert: the Map keeps the most recently active last
    this._seqs.set(id, seq);
  }
}
