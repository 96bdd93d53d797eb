// The call's face in the widget and the console: the voice and video buttons, the
// ringing banner (accept, decline), the stage (remote video or shared screen, the remote
// camera as a thumbnail while a screen is shown, our own camera as a mirror), the controls
// (mute, camera, share screen, hang up), a status line with the call timer, and notices
// (permission denied, no device) that never stop the chat. It draws a CallController
// (lib/call.js) and holds no call state of its own. Also: the text of the call history
// events (`call.started`, `call.ended`) in a conversation's thread.

import { el } from './dom.js';
import { Phase, formatDuration } from './call.js';

const SVG = 'http://www.w3.org/2000/svg';
const ICONS = {
  phone: 'M20 15.5c-1.25 0-2.45-.2-3.57-.57a1 1 0 0 0-1.02.24l-2.2 2.2a15.05 15.05 0 0 1-6.59-6.59l2.2-2.21a.96.96 0 0 0 .25-1A11.36 11.36 0 0 1 8.5 4a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1 17 17 0 0 0 17 17 1 1 0 0 0 1-1v-3.5a1 1 0 0 0-1-1z',
  video: 'M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11l-4 4z',
  videoOff: 'M21 6.5l-4 4V7a1 1 0 0 0-1-1H9.82L21 17.18V6.5zM3.27 2 2 3.27 4.73 6H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12c.21 0 .39-.08.54-.18L19.73 21 21 19.73 3.27 2z',
  mic: 'M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5.3-3c0 3-2.54 5.1-5.3 5.1S6.7 14 6.7 11H5c0 3.41 2.72 6.23 6 6.72V21h2v-3.28c3.28-.49 6-3.31 6-6.72h-1.7z',
  micOff: 'M19 11h-1.7c0 .74-.16 1.43-.43 2.05l1.23 1.23c.56-.98.9-2.09.9-3.28zm-4.02.17V5a3 3 0 0 0-6 0v.18l5.98 5.99zM4.27 3 3 4.27l6.01 6.01V11a3 3 0 0 0 3.64 2.92l1.66 1.66c-.71.33-1.5.52-2.31.52-2.76 0-5.3-2.1-5.3-5.1H5c0 3.41 2.72 6.23 6 6.72V21h2v-3.28c.91-.13 1.77-.45 2.54-.9L19.73 21 21 19.73 4.27 3z',
  screen: 'M20 18a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2H4a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2H0v2h24v-2h-4zm-7-3.53v-2.19c-2.78 0-4.61.85-6 2.72.56-2.67 2.11-5.33 6-5.87V7l4 3.73-4 3.74z',
  hangup: 'M12 9c-1.6 0-3.15.25-4.6.72v3.1c0 .39-.23.74-.56.9-.98.49-1.87 1.12-2.66 1.85a.99.99 0 0 1-1.41-.01L.29 13.08a1 1 0 0 1 0-1.41C3.34 8.78 7.46 7 12 7s8.66 1.78 11.71 4.67a1 1 0 0 1 0 1.41l-2.48 2.48a1 1 0 0 1-1.41.01 11.3 11.3 0 0 0-2.67-1.85 1 1 0 0 1-.56-.9v-3.1A15 15 0 0 0 12 9z',
  close: 'M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z',
};

export function icon(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

const KIND = { audio: 'voice call', video: 'video call' };

function mediaWord(media, capital = false) {
  const word = KIND[media] || 'call';
  return capital ? word[0].toUpperCase() + word.slice(1) : word;
}

/** What an ended call was, from one side: "Video call ended · 2:05", "Missed voice call"... */
export function endText(end, media, { answered = true } = {}) {
  const kind = mediaWord(media, true);
  const duration = answered && end.duration > 0 ? ` · ${formatDuration(end.duration)}` : '';
  switch (end.reason) {
    case 'declined':
      return `${kind} declined`;
    case 'cancelled':
      return `${kind} cancelled`;
    case 'missed':
      return `Missed ${mediaWord(media)}`;
    case 'busy':
      return `${kind} not connected: busy on another call`;
    case 'dropped':
      return `${kind} ended: the connection was lost${duration}`;
    case 'failed':
      return `${kind} failed${duration}`;
    default:
      return `${kind} ended${duration}`;
  }
}

/**
 * The thread line of a call history event, or null for another event.
 * @param {object} frame a `call.started` or `call.ended` event (with a seq)
 * @param {'visitor'|'agent'} viewer who reads the thread
 */
export function describeCall(frame, viewer) {
  if (frame.type === 'call.started') {
    const by = frame.by || {};
    const who = by.type === viewer && viewer === 'visitor'
      ? 'You'
      : by.name || (by.type === 'visitor' ? 'The visitor' : 'Support');
    return `${who} started a ${mediaWord(frame.media)}`;
  }
  if (frame.type === 'call.ended') {
    return endText(
      { reason: frame.reason, duration: frame.duration_seconds },
      frame.media,
      { answered: Boolean(frame.answered_at) || frame.duration_seconds > 0 },
    );
  }
  return null;
}

/**
 * Keeps who is assigned to each conversation, from `welcome` and `conversation.updated`
 * (the widget offers calls only once an agent has joined; the server says `no_agent`).
 */
export class Assignees {
  constructor(onChange) {
    this.onChange = onChange;
    this.byConversation = new Map(); // id -> {id, name} or null
    this._off = [];
  }

  attach(client) {
    for (const off of this._off) off();
    this._off = [
      client.on('welcome', (frame) => {
        for (const c of frame.conversations || []) {
          const known = this.byConversation.get(c.id);
          this._set(c.id, c.assignee_id
            ? { id: c.assignee_id, name: known?.id === c.assignee_id ? known.name : c.assignee_name || '' }
            : null);
        }
        this.onChange();
      }),
      client.on('conversation.updated', (frame) => {
        if (!('assignee_id' in frame)) return;
        const known = this.byConversation.get(frame.conversation_id);
        this._set(frame.conversation_id, frame.assignee_id
          ? { id: frame.assignee_id,
              name: frame.assignee_name || (known?.id === frame.assignee_id ? known.name : '') }
          : null);
        this.onChange();
      }),
    ];
  }

  get(conversationId) {
    return this.byConversation.get(conversationId) || null;
  }

  _set(id, assignee) {
    this.byConversation.set(id, assignee);
  }
}

export class CallUI {
  /**
   * @param {import('./call.js').CallController} controller
   * @param {object} options
   * @param {'widget'|'console'} options.variant
   * @param {HTMLElement} options.buttonsHost where the voice/video buttons go
   * @param {Node} [options.buttonsBefore] ...before this child of buttonsHost
   * @param {HTMLElement} options.panelHost where the call panel goes
   * @param {Node} [options.panelBefore] ...before this child of panelHost
   * @param {() => {conversationId: string|null, allowed: boolean, why?: string}} options.canCall
   * @param {(call) => string} options.peerName the other side's name for a call
   * @param {(call) => void} [options.onAccept] after this side accepted a call
   */
  constructor(controller, options) {
    this.c = controller;
    this.options = options;
    const { variant } = options;
    this.voice = el('button', { type: 'button', class: 'call-start', 'aria-label': 'Start voice call',
      onclick: () => this._start('audio') }, icon('phone'));
    this.video = el('button', { type: 'button', class: 'call-start', 'aria-label': 'Start video call',
      onclick: () => this._start('video') }, icon('video'));
    this.buttons = el('div', { class: `call-buttons call-buttons--${variant}`, role: 'group',
      'aria-label': 'Call' }, this.voice, this.video);
    options.buttonsHost.insertBefore(this.buttons, options.buttonsBefore || null);

    const control = (label, name, onclick, extra = '') => el('button', {
      type: 'button', class: `call__control ${extra}`.trim(), 'aria-label': label, title: label, onclick,
    }, icon(name));

    this.ui = {};
    const ui = this.ui;
    ui.ringTitle = el('p', { class: 'call__ring-title' });
    ui.ringWho = el('p', { class: 'call__ring-who' });
    ui.accept = el('button', { type: 'button', class: 'call__accept', 'aria-label': 'Accept call',
      onclick: () => this._accept() }, icon('phone'), el('span', { text: 'Accept' }));
    ui.decline = el('button', { type: 'button', class: 'call__decline', 'aria-label': 'Decline call',
      onclick: () => this.c.decline() }, icon('hangup'), el('span', { text: 'Decline' }));
    ui.ring = el('div', { class: 'call__ring', role: 'alertdialog', 'aria-label': 'Incoming call' },
      el('div', { class: 'call__ring-text' }, ui.ringTitle, ui.ringWho),
      el('div', { class: 'call__ring-actions' }, ui.decline, ui.accept));

    const video = (cls, label) => el('video', { class: cls, autoplay: true, playsinline: true,
      muted: true, 'aria-label': label });
    ui.remote = video('call__remote', 'Remote video');
    ui.remote.muted = true; // sound plays through ui.audio
    ui.remoteThumb = video('call__remote-thumb', 'Remote camera');
    ui.remoteThumb.muted = true;
    ui.local = video('call__local', 'Your camera');
    ui.local.muted = true;
    ui.avatar = el('div', { class: 'call__avatar', 'aria-hidden': 'true' });
    ui.stageLabel = el('p', { class: 'call__stage-label' });
    ui.stage = el('div', { class: 'call__stage' },
      ui.avatar, ui.remote, ui.remoteThumb, ui.local, ui.stageLabel);
    ui.audio = el('audio', { autoplay: true, class: 'call__audio' });

    ui.status = el('span', { class: 'call__status', role: 'status', 'aria-live': 'polite' });
    ui.timer = el('span', { class: 'call__timer', 'aria-label': 'Call duration' });
    ui.mute = control('Mute microphone', 'mic', () => this.c.toggleMute());
    ui.camera = control('Turn off camera', 'video', () => this.c.toggleCamera());
    ui.share = control('Share screen', 'screen', () => this.c.toggleScreen());
    ui.hangup = control('Hang up', 'hangup', () => this.c.hangup(), 'call__control--hangup');
    ui.dismiss = control('Close call summary', 'close', () => this.c.dismiss(), 'call__control--dismiss');
    ui.controls = el('div', { class: 'call__controls' }, ui.mute, ui.camera, ui.share, ui.hangup, ui.dismiss);
    ui.bar = el('div', { class: 'call__bar' },
      el('div', { class: 'call__info' }, ui.status, ui.timer), ui.controls);
    ui.noticeText = el('span');
    ui.noticeClose = el('button', { type: 'button', class: 'call__notice-close',
      'aria-label': 'Dismiss notice', onclick: () => this._dismissNotice() }, icon('close'));
    ui.notice = el('p', { class: 'call__notice', role: 'alert' }, ui.noticeText, ui.noticeClose);

    this.panel = el('section', { class: `call call--${variant}`, 'aria-label': 'Call', hidden: true },
      ui.ring, ui.stage, ui.bar, ui.notice, ui.audio);
    options.panelHost.insertBefore(this.panel, options.panelBefore || null);

    this._off = [controller.on('change', () => this.render()), controller.on('tick', () => this._renderTimer())];
    this.render();
  }

  destroy() {
    for (const off of this._off) off();
    this.buttons.remove();
    this.panel.remove();
  }

  /** Redraw the buttons after something outside the call changed (conversation, assignee). */
  refresh() {
    this._renderButtons();
  }

  _start(media) {
    const { conversationId, allowed } = this.options.canCall();
    if (!allowed || !conversationId) return;
    this.c.start(conversationId, media);
  }

  async _accept() {
    const call = this.c.call;
    await this.c.accept();
    if (call && this.c.call === call && this.options.onAccept) this.options.onAccept(call);
  }

  _dismissNotice() {
    this.c.clearNotice();
  }

  _renderButtons() {
    const { allowed, why } = this.options.canCall();
    const busy = this.c.isLive || Boolean(this.c.elsewhere);
    const online = Boolean(this.c.client && this.c.client.state === 'open');
    const enabled = allowed && !busy && online;
    let reason = why || '';
    if (busy) reason = this.c.elsewhere && !this.c.isLive ? 'You are in a call in another tab' : 'You are in a call';
    else if (!online) reason = 'Calls need a connection';
    for (const [button, label] of [[this.voice, 'Start voice call'], [this.video, 'Start video call']]) {
      button.disabled = !enabled;
      button.title = enabled ? label : reason || label;
    }
  }

  render() {
    this._renderButtons();
    const c = this.c;
    const call = c.call;
    const phase = c.phase;
    const ui = this.ui;
    const live = c.isLive;
    this.panel.hidden = phase === Phase.IDLE && !c.notice;
    this.panel.dataset.phase = phase;
    this.panel.dataset.media = call ? call.media || '' : '';
    const peer = call ? this.options.peerName(call) : '';

    // Ringing
    ui.ring.hidden = phase !== Phase.INCOMING;
    if (phase === Phase.INCOMING) {
      ui.ringTitle.textContent = `Incoming ${mediaWord(call.media)}`;
      ui.ringWho.textContent = peer;
      ui.accept.setAttribute('aria-label', call.media === 'video' ? 'Accept video call' : 'Accept voice call');
    }

    // Stage: remote screen or camera, remote camera thumbnail, our camera
    const { camera, screen } = c.remoteMedia();
    const hasVideo = (stream) => Boolean(stream && stream.getVideoTracks().some((t) => t.readyState === 'live'));
    const remoteCamera = hasVideo(camera) ? camera : null;
    const main = screen || remoteCamera;
    const thumb = screen && remoteCamera ? remoteCamera : null;
    const local = c.hasLocalVideo && !c.cameraOff ? c.localStream : null;
    const mediaPhase = live && phase !== Phase.INCOMING;
    const wantStage = mediaPhase && (call.media === 'video' || Boolean(main) || Boolean(local) || c.sharingScreen);
    ui.stage.hidden = !wantStage;
    this.panel.classList.toggle('call--stage', wantStage);
    attach(ui.remote, wantStage ? main : null);
    attach(ui.remoteThumb, wantStage ? thumb : null);
    attach(ui.local, wantStage ? local : null);
    ui.remote.classList.toggle('call__remote--screen', Boolean(screen));
    ui.avatar.hidden = Boolean(main);
    ui.avatar.textContent = (peer || '?').trim().charAt(0).toUpperCase();
    const labels = [];
    if (screen) labels.push(`${peer} is sharing their screen`);
    if (c.sharingScreen) labels.push('You are sharing your screen');
    ui.stageLabel.textContent = labels.join(' · ');
    ui.stageLabel.hidden = labels.length === 0;
    attachAudio(ui.audio, mediaPhase ? camera : null);

    // Bar: status, timer, controls
    ui.bar.hidden = phase === Phase.IDLE || phase === Phase.INCOMING;
    ui.status.textContent = this._statusText(call, phase, peer);
    const inCall = phase === Phase.CONNECTING || phase === Phase.ACTIVE;
    ui.timer.hidden = !inCall;
    this._renderTimer();
    const hasMedia = Boolean(c.localStream) && live;
    ui.mute.hidden = !hasMedia;
    setToggle(ui.mute, c.muted, c.muted ? 'micOff' : 'mic');
    ui.camera.hidden = !hasMedia || !inCall && !c.hasLocalVideo;
    if (c.hasLocalVideo) {
      ui.camera.setAttribute('aria-label', 'Turn off camera');
      ui.camera.title = c.cameraOff ? 'Turn on camera' : 'Turn off camera';
      setToggle(ui.camera, c.cameraOff, c.cameraOff ? 'videoOff' : 'video');
    } else {
      ui.camera.setAttribute('aria-label', 'Turn on camera');
      ui.camera.title = 'Turn on camera';
      ui.camera.removeAttribute('aria-pressed');
      setIcon(ui.camera, 'videoOff');
    }
    ui.share.hidden = !(inCall && c.pc && navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    setToggle(ui.share, c.sharingScreen, 'screen');
    ui.share.title = c.sharingScreen ? 'Stop sharing your screen' : 'Share screen';
    ui.hangup.hidden = !live || phase === Phase.INCOMING;
    const cancels = phase === Phase.STARTING || phase === Phase.OUTGOING;
    ui.hangup.setAttribute('aria-label', cancels ? 'Cancel call' : 'Hang up');
    ui.hangup.title = cancels ? 'Cancel call' : 'Hang up';
    ui.dismiss.hidden = phase !== Phase.ENDED;

    // Notice
    ui.notice.hidden = !c.notice;
    ui.notice.dataset.kind = c.notice ? c.notice.kind : '';
    ui.noticeText.textContent = c.notice ? c.notice.text : '';
  }

  _statusText(call, phase, peer) {
    const c = this.c;
    switch (phase) {
      case Phase.STARTING:
        return call.media === 'video' ? 'Starting your camera…' : 'Starting your microphone…';
      case Phase.OUTGOING:
        return `Calling ${peer}…`;
      case Phase.ACCEPTING:
        return 'Connecting…';
      case Phase.CONNECTING:
        return `Connecting to ${peer}…`;
      case Phase.ACTIVE:
        if (call.peerInterrupted) return `${peer} lost the connection. Waiting…`;
        if (c.pc && c.pc.connectionState === 'disconnected') return 'Reconnecting…';
        return `${mediaWord(call.media, true)} with ${peer}`;
      case Phase.ENDED:
        return endText(call.end || {}, call.media, { answered: Boolean(call.answeredAt) });
      default:
        return '';
    }
  }

  _renderTimer() {
    if (this.ui.timer.hidden) return;
    this.ui.timer.textContent = formatDuration(this.c.elapsedSeconds);
  }
}

function attach(video, stream) {
  if (video.srcObject !== stream) video.srcObject = stream;
  video.hidden = !stream;
  if (stream && video.paused) video.play().catch(() => {});
}

function attachAudio(audio, stream) {
  if (audio.srcObject !== stream) audio.srcObject = stream;
  if (stream && audio.paused) audio.play().catch(() => {}); // autoplay may wait for a click
}

function setIcon(button, name) {
  if (button.dataset.icon === name) return;
  button.dataset.icon = name;
  button.replaceChildren(icon(name));
}

function setToggle(button, pressed, iconName) {
  button.setAttribute('aria-pressed', pressed ? 'true' : 'false');
  setIcon(button, iconName);
}
