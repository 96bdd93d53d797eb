// One voice/video call at a time, for the widget and the console: the `call.*` frames of
// docs/protocol.md on a KefuClient, and the browser side of WebRTC.
//
// Media goes browser to browser; the gateway only relays offers, answers and ICE
// candidates (`call.signal`) between the two bound connections once the call is active,
// and owns the call's state. So:
// - Caller: media first (getUserMedia, so a denied permission never rings anyone), then
//   `call.invite`; `call.ringing` says which tab placed it (`session_id`). Once
//   `call.accepted` names this tab, the RTCPeerConnection is made and the caller sends the
//   first offer.
// - Callee: `call.incoming` rings every tab; accepting takes media first, then
//   `call.accept`; the tab named by `call.accepted` takes part, the others stop ringing.
//   The callee never offers before it has received the caller's first offer.
// - After that either side may renegotiate (camera turned on in a voice call, a screen
//   shared or stopped), with MDN's perfect negotiation: the console is the POLITE peer (it
//   rolls its own offer back on a collision), the widget the impolite one.
// - Screen share adds the screen as a second video track in its own stream (the other side
//   tells it from the camera by its stream: the camera's stream carries the audio);
//   stopping removes the track. Each is a renegotiation of the same call.
// - `hangup` ends the call in any live state (while ringing it cancels or declines).
// - A WebSocket that reconnects during an active call sends `call.rejoin`; signals that
//   could not reach the other side (`peer_interrupted`, or our socket was down) are kept
//   and resent once both are bound again. The media itself does not need the WebSocket.
// - No camera, no microphone, permission denied: a clear notice and no call; the chat goes
//   on. A video call without a camera falls back to voice.
//
// The controller holds the state; `call-ui.js` draws it. `window.__kefuCall` is the live
// controller (tests read `__kefuCall.pc.getStats()`; support staff can inspect it too).

import { newClientId } from './kefu-client.js';

/** What the UI draws. `outgoing`/`incoming` ring, `connecting` until media flows. */
export const Phase = Object.freeze({
  IDLE: 'idle',
  STARTING: 'starting', // getting the caller's camera/microphone, then inviting
  OUTGOING: 'outgoing',
  INCOMING: 'incoming',
  ACCEPTING: 'accepting', // getting the callee's media, then accepting
  CONNECTING: 'connecting',
  ACTIVE: 'active',
  ENDED: 'ended',
});

const LIVE = new Set([Phase.STARTING, Phase.OUTGOING, Phase.INCOMING, Phase.ACCEPTING,
  Phase.CONNECTING, Phase.ACTIVE]);

const STALE_AFTER_WELCOME_MS = 6000; // a live call we hear nothing about after a reconnect is over
const FAILED_GIVE_UP_MS = 15000; // ICE failed even after a restart: hang up as `failed`

/** Text for the refusals an invite or accept can get (codes of signaling/errors.py). */
const REFUSALS = {
  no_agent: 'You can call once an agent has joined the conversation.',
  not_the_assignee: 'Only the assigned agent can call. Assign the conversation to yourself first.',
  already_in_call: 'You are already in a call. Hang it up first.',
  not_a_participant: 'You are not part of this conversation.',
  conversation_not_found: 'This conversation is no longer available.',
  conversation_closed: 'This conversation is closed. Write a message to reopen it, then call.',
  call_ended: 'The call has already ended.',
  call_not_ringing: 'The call is no longer ringing.',
  call_not_found: 'The call has already ended.',
  rate_limited: 'Too many attempts; please wait a moment.',
};

export class MediaUnavailable extends Error {}

/** Why getUserMedia/getDisplayMedia failed, in words for people. */
export function mediaProblem(exc, what = 'microphone') {
  const name = exc && exc.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return `Access to your ${what} was blocked. Allow it in your browser's site settings to call; you can keep chatting meanwhile.`;
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return `No ${what} was found. Connect one to call; you can keep chatting meanwhile.`;
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return `Your ${what} is in use by another application. Close it and try again.`;
  }
  return `Your ${what} could not be started (${name || 'error'}). You can keep chatting meanwhile.`;
}

/** `m:ss` (or `h:mm:ss`) of a number of seconds. */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.floor(seconds || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export class CallController {
  /**
   * @param {object} options
   * @param {boolean} options.polite the perfect-negotiation role: true in the console
   */
  constructor({ polite }) {
    this.polite = Boolean(polite);
    this.client = null;
    this.sessionId = null;
    this.formerSessionIds = new Set(); // this page's earlier connections (before reconnects)
    this.user = null;
    this.iceServers = [];
    this.skewMs = 0; // server clock minus ours
    this.call = null; // {id, conversationId, media, role, caller, callee, phase, ...}
    this.elsewhere = null; // id of a live call of ours held by another tab
    this.notice = null; // {kind: 'error'|'info', text}
    this.pc = null;
    this.localStream = null;
    this.screenStream = null;
    this.screenSender = null;
    this.remoteStreams = new Map(); // stream id -> MediaStream
    this.muted = false;
    this.cameraOff = false;
    this._handlers = new Map();
    this._unsubscribe = [];
    this._sent = new Map(); // client frame id -> {purpose, frame}
    this._abandoned = new Set(); // invite ids hung up before `call.ringing` named the call
    this._outbox = []; // signals to resend once both sides are bound again
    this._makingOffer = false;
    this._ignoreOffer = false;
    this._settingRemoteAnswer = false;
    this._mayOffer = false;
    this._iceRestarted = false;
    this._timers = {};
    this._onPageHide = () => this.isLive && this.hangup();
    window.addEventListener('pagehide', this._onPageHide);
    window.__kefuCall = this;
  }

  // --- wiring ------------------------------------------------------------------------

  on(type, fn) {
    if (!this._handlers.has(type)) this._handlers.set(type, new Set());
    this._handlers.get(type).add(fn);
    return () => this._handlers.get(type)?.delete(fn);
  }

  _emit(type = 'change') {
    for (const fn of [...(this._handlers.get(type) || [])]) {
      try {
        fn(this);
      } catch (exc) {
        console.error(`kefu call: a "${type}" handler failed`, exc);
      }
    }
  }

  /** Follow a KefuClient's frames (a new client replaces the old one and ends any call). */
  attach(client) {
    this.detach();
    this.client = client;
    const listen = (type, fn) => this._unsubscribe.push(client.on(type, fn));
    listen('welcome', (frame) => this._onWelcome(frame));
    listen('call.ringing', (frame) => this._onRinging(frame));
    listen('call.incoming', (frame) => this._onIncoming(frame));
    listen('call.accepted', (frame) => this._onAccepted(frame));
    listen('call.signal', (frame) => this._onSignal(frame));
    listen('call.ended', (frame) => this._onEnded(frame));
    listen('call.state', (frame) => this._onState(frame));
    listen('error', (frame) => this._onError(frame));
  }

  detach() {
    for (const off of this._unsubscribe) off();
    this._unsubscribe = [];
    if (this.isLive) this._teardown();
    this.call = null;
    this.elsewhere = null;
    this.client = null;
  }

  destroy() {
    this.detach();
    window.removeEventListener('pagehide', this._onPageHide);
    if (window.__kefuCall === this) delete window.__kefuCall;
  }

  // --- reading -----------------------------------------------------------------------

  get phase() {
    return this.call ? this.call.phase : Phase.IDLE;
  }

  get isLive() {
    return LIVE.has(this.phase);
  }

  /** Whether a new call may be placed from here right now. */
  get canStart() {
    return !this.isLive && !this.elsewhere && Boolean(this.client && this.client.state === 'open');
  }

  /** The other participant of the current call ({type, id, name?}). */
  get peer() {
    if (!this.call) return null;
    return this.call.role === 'caller' ? this.call.callee : this.call.caller;
  }

  /** Talk time so far in seconds (0 before the answer). */
  get elapsedSeconds() {
    const call = this.call;
    if (!call || !call.answeredAt) return 0;
    const until = call.endedAt || Date.now();
    return Math.max(0, (until - call.answeredAt) / 1000);
  }

  get hasLocalVideo() {
    return Boolean(this.localStream && this.localStream.getVideoTracks().length);
  }

  get sharingScreen() {
    return Boolean(this.screenStream);
  }

  /** The remote camera/microphone stream (it carries the audio) and a shared screen. */
  remoteMedia() {
    let camera = null;
    let screen = null;
    for (const stream of this.remoteStreams.values()) {
      const live = (tracks) => tracks.filter((t) => t.readyState === 'live');
      if (live(stream.getAudioTracks()).length) camera = stream;
      else if (live(stream.getVideoTracks()).length) screen = stream;
    }
    return { camera, screen };
  }

  // --- actions -----------------------------------------------------------------------

  /** Call the other participant of `conversationId`; `media` is 'audio' or 'video'. */
  async start(conversationId, media) {
    if (!this.canStart || !conversationId) return;
    this.notice = null;
    this.call = { id: null, conversationId, media, role: 'caller', phase: Phase.STARTING,
      caller: null, callee: null };
    const call = this.call;
    this._emit();
    let stream;
    try {
      stream = await this._acquireMedia(media);
    } catch (exc) {
      if (this.call !== call) return;
      this.call = null;
      this._setNotice('error', exc.message);
      return;
    }
    if (this.call !== call || call.phase !== Phase.STARTING) {
      stopAll(stream); // hung up (or replaced) while the browser asked for permission
      return;
    }
    this._useMedia(stream);
    call.inviteId = this._send('invite', { type: 'call.invite', conversation_id: conversationId, media });
    if (!call.inviteId) {
      this._releaseMedia();
      this.call = null;
      this._setNotice('error', 'You are offline; the call could not be placed.');
    }
  }

  async accept() {
    const call = this.call;
    if (!call || call.phase !== Phase.INCOMING) return;
    call.phase = Phase.ACCEPTING;
    this.notice = null;
    this._emit();
    let stream;
    try {
      stream = await this._acquireMedia(call.media);
    } catch (exc) {
      if (this.call !== call) return;
      // We cannot take part: say so to the caller (`failed`), not a plain decline.
      this._send('hangup', { type: 'call.hangup', call_id: call.id, reason: 'failed' });
      this._finish({ reason: 'failed', local: true });
      this._setNotice('error', exc.message);
      return;
    }
    if (this.call !== call || call.phase !== Phase.ACCEPTING) {
      stopAll(stream); // declined, cancelled or answered elsewhere meanwhile
      return;
    }
    this._useMedia(stream);
    this._send('accept', { type: 'call.accept', call_id: call.id });
  }

  decline() {
    const call = this.call;
    if (!call || call.phase !== Phase.INCOMING) return;
    this._send('decline', { type: 'call.decline', call_id: call.id });
    this._finish({ reason: 'declined', local: true });
  }

  /** The red button: cancel, decline or hang up, whatever the call's state. */
  hangup() {
    const call = this.call;
    if (!call || !this.isLive) return;
    if (!call.id) {
      // Still getting media, or the invite is out and `call.ringing` not back yet: the
      // call is cancelled as soon as the server names it.
      if (call.inviteId) this._abandoned.add(call.inviteId);
      this._finish({ reason: 'cancelled', local: true });
      return;
    }
    this._send('hangup', { type: 'call.hangup', call_id: call.id });
    const answered = Boolean(call.answeredAt);
    const reason = answered ? 'hung_up' : call.role === 'caller' ? 'cancelled' : 'declined';
    this._finish({ reason, local: true });
  }

  toggleMute() {
    if (!this.localStream) return;
    this.muted = !this.muted;
    for (const track of this.localStream.getAudioTracks()) track.enabled = !this.muted;
    this._emit();
  }

  /** Camera off/on; in a voice call, turning it on adds a video track (renegotiation). */
  async toggleCamera() {
    if (!this.localStream) return;
    const tracks = this.localStream.getVideoTracks();
    if (tracks.length) {
      this.cameraOff = !this.cameraOff;
      for (const track of tracks) track.enabled = !this.cameraOff;
      this._emit();
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: VIDEO_CONSTRAINTS });
    } catch (exc) {
      this._setNotice('error', mediaProblem(exc, 'camera'));
      return;
    }
    const [track] = stream.getVideoTracks();
    if (!this.isLive || !this.localStream) {
      track.stop();
      return;
    }
    this.localStream.addTrack(track);
    this.cameraOff = false;
    if (this.pc) this.pc.addTrack(track, this.localStream);
    this._emit();
  }

  /** Share the screen (a second video track) or stop sharing it; both renegotiate. */
  async toggleScreen() {
    if (this.screenStream) {
      this._stopScreen();
      return;
    }
    if (!this.pc || !navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) {
      if (!this.pc) return;
      this._setNotice('error', 'This browser cannot share a screen.');
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (exc) {
      if (exc && exc.name === 'NotAllowedError') return; // the person cancelled the picker
      this._setNotice('error', mediaProblem(exc, 'screen'));
      return;
    }
    const [track] = stream.getVideoTracks();
    if (!this.pc || !track) {
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    if ('contentHint' in track) track.contentHint = 'detail';
    track.addEventListener('ended', () => this._stopScreen()); // the browser's own "Stop sharing"
    this.screenStream = stream;
    this.screenSender = this.pc.addTrack(track, stream);
    this._emit();
  }

  clearNotice() {
    this.notice = null;
    this._emit();
  }

  /** Close the ended call's summary (and any notice). */
  dismiss() {
    if (this.phase === Phase.ENDED) {
      clearTimeout(this._timers.dismiss);
      this.call = null;
    }
    this.notice = null;
    this._emit();
  }

  // --- frames --------------------------------------------------------------------------

  _onWelcome(frame) {
    if (this.sessionId) this.formerSessionIds.add(this.sessionId);
    this.sessionId = frame.session_id || null;
    this.user = frame.user || null;
    if (Array.isArray(frame.ice_servers)) this.iceServers = frame.ice_servers;
    const serverTime = Date.parse(frame.server_time);
    if (!Number.isNaN(serverTime)) this.skewMs = serverTime - Date.now();
    // A live call must be confirmed by a `call.state` after this welcome; else it ended
    // while we were away (and its `call.ended` may not reach us).
    this.elsewhere = null;
    if (this.isLive && this.call.id) {
      this.call.confirmed = false;
      clearTimeout(this._timers.stale);
      this._timers.stale = setTimeout(() => {
        if (this.isLive && !this.call.confirmed) this._finish({ reason: 'dropped', local: true });
      }, STALE_AFTER_WELCOME_MS);
    } else if (this.phase === Phase.STARTING && this.call.inviteId) {
      // The invite went out on the old socket: its call (if any) was dropped with it.
      this._finish({ reason: 'dropped', local: true });
    }
  }

  _onRinging(frame) {
    const call = this.call;
    if (frame.id && this._abandoned.delete(frame.id)) {
      this._send('hangup', { type: 'call.hangup', call_id: frame.call_id });
      return;
    }
    const mine = frame.session_id === this.sessionId
      || (call && call.inviteId && frame.id === call.inviteId);
    if (mine && call && call.role === 'caller' && !call.id && call.phase === Phase.STARTING) {
      this._adopt(frame, Phase.OUTGOING);
      return;
    }
    if (!mine && !this.isLive) {
      this.elsewhere = frame.call_id; // placed from another tab of ours
      this._emit();
    }
  }

  _onIncoming(frame) {
    if (this.isLive) return; // busy here; the server answers such invites with `busy`
    this.elsewhere = null;
    clearTimeout(this._timers.dismiss);
    this.notice = null;
    this.call = { role: 'callee' };
    this._adopt(frame, Phase.INCOMING);
  }

  _adopt(frame, phase) {
    const call = this.call;
    call.id = frame.call_id;
    call.conversationId = frame.conversation_id;
    call.media = frame.media || call.media;
    call.caller = frame.caller || call.caller;
    call.callee = frame.callee || call.callee;
    call.phase = phase;
    call.confirmed = true;
    call.ringExpiresAt = this._local(frame.ring_expires_at);
    if (Array.isArray(frame.ice_servers)) this.iceServers = frame.ice_servers;
    this._emit();
  }

  _onAccepted(frame) {
    const call = this.call;
    if (!call || call.id !== frame.call_id) {
      if (this.elsewhere === frame.call_id && frame.session_id === this.sessionId) this.elsewhere = null;
      return;
    }
    if (frame.session_id !== this.sessionId) {
      // Another tab of ours answered (or placed) it: this one steps aside.
      this._teardown();
      this.call = null;
      this.elsewhere = frame.call_id;
      this._setNotice('info', 'The call continues in another tab.');
      return;
    }
    call.answeredAt = this._local(frame.answered_at) || Date.now();
    call.phase = Phase.CONNECTING;
    this._startTimer();
    this._ensurePeer();
    this._emit();
  }

  async _onSignal(frame) {
    const call = this.call;
    if (!call || call.id !== frame.call_id || !this.localStream) return;
    if (call.phase !== Phase.CONNECTING && call.phase !== Phase.ACTIVE) return;
    const pc = this._ensurePeer();
    const { description, candidate } = frame;
    try {
      if (description) {
        // MDN's perfect negotiation.
        const readyForOffer = !this._makingOffer
          && (pc.signalingState === 'stable' || this._settingRemoteAnswer);
        const collision = description.type === 'offer' && !readyForOffer;
        this._ignoreOffer = !this.polite && collision;
        if (this._ignoreOffer) return;
        this._settingRemoteAnswer = description.type === 'answer';
        await pc.setRemoteDescription(description);
        this._settingRemoteAnswer = false;
        if (description.type === 'offer') {
          this._mayOffer = true; // the caller's first offer arrived: we may renegotiate too
          await pc.setLocalDescription();
          this._signal({ description: pc.localDescription.toJSON() });
        }
      } else if (candidate) {
        try {
          await pc.addIceCandidate(candidate);
        } catch (exc) {
          if (!this._ignoreOffer && pc.signalingState !== 'closed') throw exc;
        }
      }
    } catch (exc) {
      this._settingRemoteAnswer = false;
      if (this.pc === pc && pc.signalingState !== 'closed') console.warn('kefu call: signal failed', exc);
    }
  }

  _onEnded(frame) {
    const call = this.call;
    if (this.elsewhere === frame.call_id) {
      this.elsewhere = null;
      if (this.notice && this.notice.kind === 'info') this.notice = null;
      this._emit();
      return;
    }
    if (!call) return;
    const invited = call.inviteId && frame.id === call.inviteId;
    if (call.id !== frame.call_id && !invited) return;
    if (!call.id) call.id = frame.call_id;
    if (call.phase === Phase.ENDED) {
      // Our own hang-up (or the live frame) came first: fill in what the server knows.
      Object.assign(call.end, endOf(frame));
      this._emit();
      return;
    }
    this._finish(endOf(frame));
  }

  _onState(frame) {
    const call = this.call;
    if (call && call.id === frame.call_id) {
      call.confirmed = true;
      if (frame.state === 'ended') {
        this._finish({ reason: frame.reason || 'dropped' });
        return;
      }
      if (frame.state === 'active') {
        if (!frame.session_id) {
          // Our WebSocket was lost and is back: take the call again if we still hold it.
          if (this.pc) this._send('rejoin', { type: 'call.rejoin', call_id: call.id });
          else this.hangup();
          return;
        }
        if (frame.session_id !== this.sessionId) {
          if (this.pc && this.formerSessionIds.has(frame.session_id)) {
            // Still bound to our previous connection, whose loss the server has not
            // noticed yet (a cut network): it will, say we are interrupted, and we rejoin.
            this._emit();
            return;
          }
          this._teardown();
          this.call = null;
          this.elsewhere = frame.call_id;
          this._emit();
          return;
        }
        call.peerInterrupted = (frame.interrupted || []).length > 0;
        if (!call.peerInterrupted) this._flushOutbox();
        this._emit();
      }
      return;
    }
    if (frame.state === 'ringing' && frame.role === 'callee' && !this.isLive) {
      this._onIncoming(frame); // a tab opened while it rings rings too
    } else if (frame.state !== 'ended' && !this.isLive) {
      this.elsewhere = frame.call_id; // a call of ours that another tab holds
      this._emit();
    }
  }

  _onError(frame) {
    const sent = frame.id ? this._sent.get(frame.id) : undefined;
    const call = this.call;
    if (!sent && !(call && frame.call_id && frame.call_id === call.id)) return;
    if (sent) this._sent.delete(frame.id);
    const purpose = sent ? sent.purpose : 'other';
    if (frame.code === 'call_ended' && purpose !== 'invite' && purpose !== 'accept') return;
    if (purpose === 'signal') {
      if (frame.code === 'peer_interrupted' || frame.retryable) this._outbox.push(sent.frame);
      else console.warn('kefu call: a signal was refused', frame.code, frame.message);
      return;
    }
    if (purpose === 'invite' || purpose === 'accept') {
      if (!call || (purpose === 'invite' && call.inviteId !== frame.id)) return;
      this._teardown();
      this.call = null;
      this._setNotice('error', REFUSALS[frame.code] || `The call could not be placed (${frame.code}).`);
      return;
    }
    if (purpose === 'rejoin') {
      this._finish({ reason: 'dropped', local: true });
      return;
    }
    console.warn('kefu call: refused', frame.code, frame.message);
  }

  // --- peer connection ---------------------------------------------------------------

  _ensurePeer() {
    if (this.pc) return this.pc;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: 'max-bundle' });
    this.pc = pc;
    this._mayOffer = this.call.role === 'caller';
    this._makingOffer = false;
    this._ignoreOffer = false;
    this._iceRestarted = false;
    pc.addEventListener('negotiationneeded', async () => {
      if (!this._mayOffer || this.pc !== pc) return;
      try {
        this._makingOffer = true;
        await pc.setLocalDescription();
        this._signal({ description: pc.localDescription.toJSON() });
      } catch (exc) {
        if (pc.signalingState !== 'closed') console.warn('kefu call: offer failed', exc);
      } finally {
        this._makingOffer = false;
      }
    });
    pc.addEventListener('icecandidate', ({ candidate }) => {
      if (candidate && candidate.candidate) this._signal({ candidate: candidate.toJSON() });
    });
    pc.addEventListener('track', ({ track, streams }) => {
      const stream = streams[0] || new MediaStream([track]);
      if (!this.remoteStreams.has(stream.id)) {
        this.remoteStreams.set(stream.id, stream);
        stream.addEventListener('removetrack', () => this._emit());
        stream.addEventListener('addtrack', () => this._emit());
      } else if (!stream.getTracks().includes(track)) {
        stream.addTrack(track);
      }
      track.addEventListener('ended', () => this._emit());
      track.addEventListener('unmute', () => this._emit());
      this._emit();
    });
    pc.addEventListener('connectionstatechange', () => this._onConnectionState(pc));
    for (const track of this.localStream.getTracks()) pc.addTrack(track, this.localStream);
    return pc;
  }

  _onConnectionState(pc) {
    const call = this.call;
    if (this.pc !== pc || !call) return;
    const state = pc.connectionState;
    call.connection = state;
    if (state === 'connected') {
      clearTimeout(this._timers.failed);
      if (call.phase === Phase.CONNECTING) call.phase = Phase.ACTIVE;
    } else if (state === 'failed') {
      if (!this._iceRestarted) {
        this._iceRestarted = true;
        pc.restartIce(); // a new offer from whichever side; perfect negotiation sorts it out
      }
      clearTimeout(this._timers.failed);
      this._timers.failed = setTimeout(() => {
        if (this.pc !== pc || pc.connectionState === 'connected') return;
        this._send('hangup', { type: 'call.hangup', call_id: call.id, reason: 'failed' });
        this._finish({ reason: 'failed', local: true });
        this._setNotice('error', 'The call\'s connection failed. A firewall may be blocking calls.');
      }, FAILED_GIVE_UP_MS);
    }
    this._emit();
  }

  _signal(payload) {
    const call = this.call;
    if (!call || !call.id) return;
    const frame = { type: 'call.signal', call_id: call.id, ...payload };
    if (call.peerInterrupted || !this._send('signal', frame)) this._outbox.push(frame);
  }

  _flushOutbox() {
    const frames = this._outbox;
    this._outbox = [];
    for (const frame of frames) {
      if (this.call && frame.call_id === this.call.id) this._signal(stripId(frame));
    }
  }

  _stopScreen() {
    const stream = this.screenStream;
    if (!stream) return;
    this.screenStream = null;
    for (const track of stream.getTracks()) track.stop();
    const sender = this.screenSender;
    this.screenSender = null;
    if (sender && this.pc && this.pc.signalingState !== 'closed') this.pc.removeTrack(sender);
    this._emit();
  }

  // --- media -------------------------------------------------------------------------

  /** Camera and/or microphone for `media`; MediaUnavailable with a message for people. */
  async _acquireMedia(media) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.RTCPeerConnection) {
      throw new MediaUnavailable('Calls need a secure (https) page in a browser that supports them.');
    }
    let stream;
    let notice = null;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: true,
        video: media === 'video' ? VIDEO_CONSTRAINTS : false,
      });
    } catch (exc) {
      const noCamera = media === 'video' && exc && exc.name !== 'NotAllowedError'
        && exc.name !== 'SecurityError';
      if (!noCamera) throw new MediaUnavailable(mediaProblem(exc, media === 'video' ? 'camera and microphone' : 'microphone'));
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        notice = `${mediaProblem(exc, 'camera').split('.')[0]}: you take part with your voice only.`;
      } catch (exc2) {
        throw new MediaUnavailable(mediaProblem(exc2, 'microphone'));
      }
    }
    if (notice) this._setNotice('info', notice);
    return stream;
  }

  _useMedia(stream) {
    this._releaseMedia();
    this.localStream = stream;
    this.muted = false;
    this.cameraOff = false;
  }

  _releaseMedia() {
    stopAll(this.localStream);
    stopAll(this.screenStream);
    this.localStream = null;
    this.screenStream = null;
    this.screenSender = null;
  }

  _teardown() {
    clearInterval(this._timers.tick);
    clearTimeout(this._timers.failed);
    clearTimeout(this._timers.stale);
    if (this.pc) {
      this.pc.close();
      this.pc = null;
    }
    this._releaseMedia();
    this.remoteStreams.clear();
    this._outbox = [];
    this._makingOffer = false;
    this._ignoreOffer = false;
    this._settingRemoteAnswer = false;
    this.muted = false;
    this.cameraOff = false;
  }

  _finish(end) {
    const call = this.call;
    if (!call) return;
    this._teardown();
    call.endedAt = call.answeredAt ? Date.now() : null;
    call.phase = Phase.ENDED;
    call.end = { ...end };
    if (end.duration === undefined && call.answeredAt) call.end.duration = this.elapsedSeconds;
    clearTimeout(this._timers.dismiss);
    this._timers.dismiss = setTimeout(() => {
      if (this.call === call) this.dismiss();
    }, 12000);
    this._emit();
  }

  _startTimer() {
    clearInterval(this._timers.tick);
    this._timers.tick = setInterval(() => this._emit('tick'), 1000);
  }

  // --- helpers -----------------------------------------------------------------------

  /** Send a call frame with a fresh id; the id, or null when not connected. */
  _send(purpose, frame) {
    if (!this.client) return null;
    const id = newClientId();
    const withId = { ...frame, id };
    if (!this.client.sendFrame(withId)) return null;
    this._sent.set(id, { purpose, frame: withId });
    if (this._sent.size > 500) this._sent.delete(this._sent.keys().next().value);
    return id;
  }

  _setNotice(kind, text) {
    this.notice = text ? { kind, text } : null;
    this._emit();
  }

  /** A server instant as our clock's milliseconds. */
  _local(iso) {
    const t = Date.parse(iso || '');
    return Number.isNaN(t) ? null : t - this.skewMs;
  }
}

const VIDEO_CONSTRAINTS = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } };

function endOf(frame) {
  const end = { reason: frame.reason || 'hung_up', by: frame.by || null };
  if (typeof frame.duration_seconds === 'number') end.duration = frame.duration_seconds;
  return end;
}

function stopAll(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

function stripId(frame) {
  const { id, type, call_id: callId, ...payload } = frame;
  return payload;
}
