/*
 * Kefu web SDK: the one script a storefront adds (<script src="https://KEFU/sdk.js">).
 *
 * It puts a launcher button and a sandboxed iframe (the chat, served by the Kefu server)
 * on the host page, and exposes window.Kefu: init, open, close, toggle, identify,
 * setContext, on, off. Messages to the iframe always name its exact origin; messages from
 * it are accepted only from that origin and that window. It never touches the host
 * page's history and never observes its DOM. Works as a classic script or a module.
 * Where the browser blocks the iframe's own storage (third-party), the chat asks us to
 * keep the shopper's visitor token in this page's localStorage, under kefu:<key>:….
 */
(function () {
  'use strict';
  if (window.Kefu && window.Kefu.version) return; // loaded twice: keep the first

  var Z_INDEX = '2147483000';
  var EVENTS = ['ready', 'open', 'close', 'message', 'unread'];

  function scriptOrigin() {
    var script = document.currentScript;
    if (!script) {
      // A module (or async-injected script) has no currentScript: find our tag.
      var tags = document.querySelectorAll('script[src]');
      for (var i = tags.length - 1; i >= 0; i--) {
        if (/\/sdk\.js(\?|#|$)/.test(tags[i].src)) { script = tags[i]; break; }
      }
    }
    return script && script.src ? new URL(script.src, window.location.href).origin : null;
  }

  var defaultServer = scriptOrigin();
  var state = {
    server: null, widgetKey: null, frame: null, launcher: null, badge: null, panel: null,
    loaded: false, isOpen: false, identity: null, context: null, handlers: {},
  };

  function css(node, text) {
    node.style.cssText = 'all: initial; box-sizing: border-box; ' + text;
  }

  function tokenKey() {
    return 'kefu:' + state.widgetKey + ':visitor_token';
  }

  function storedToken() {
    try { return window.localStorage.getItem(tokenKey()); } catch (exc) { return null; }
  }

  function storeToken(token) {
    try { window.localStorage.setItem(tokenKey(), String(token)); } catch (exc) { /* private mode */ }
  }

  function emit(type, data) {
    var handlers = (state.handlers[type] || []).slice();
    for (var i = 0; i < handlers.length; i++) {
      try { handlers[i](data); } catch (exc) { console.error('Kefu: a "' + type + '" handler failed', exc); }
    }
  }

  function post(type, payload) {
    if (!state.frame || !state.loaded) return;
    var message = { kefu: 1, type: type };
    for (var key in payload) message[key] = payload[key];
    state.frame.contentWindow.postMessage(message, state.server);
  }

  var CHAT_ICON = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z' +
    'm3 6a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z' +
    'm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z';
  var CLOSE_ICON = 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z';

  function icon(d) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '26');
    svg.setAttribute('height', '26');
    svg.setAttribute('aria-hidden', 'true');
    svg.style.cssText = 'display: block; fill: currentColor;';
    var path = document.createElementNS(ns, 'path');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('d', d);
    svg.appendChild(path);
    return svg;
  }

  function build() {
    var launcher = document.createElement('button');
    launcher.type = 'button';
    launcher.setAttribute('aria-label', 'Open chat');
    launcher.setAttribute('aria-expanded', 'false');
    css(launcher, 'position: fixed; right: 20px; bottom: 20px; z-index: ' + Z_INDEX + ';' +
      'width: 56px; height: 56px; border-radius: 50%; background: #2f5bea; color: #fff;' +
      'display: flex; align-items: center; justify-content: center; cursor: pointer;' +
      'box-shadow: 0 6px 20px rgba(20, 30, 60, .28);');
    state.icons = [icon(CHAT_ICON), icon(CLOSE_ICON)];
    launcher.appendChild(state.icons[0]);
    launcher.appendChild(state.icons[1]);
    var badge = document.createElement('span');
    badge.setAttribute('aria-hidden', 'true');
    css(badge, 'position: absolute; top: -2px; right: -2px; min-width: 20px; height: 20px;' +
      'padding: 0 5px; border-radius: 10px; background: #e5484d; color: #fff;' +
      'font: 600 12px/20px system-ui, sans-serif; text-align: center; display: none;');
    launcher.appendChild(badge);
    launcher.addEventListener('click', function () { toggle(); });

    var panel = document.createElement('div');
    css(panel, 'position: fixed; right: 20px; bottom: 88px; z-index: ' + Z_INDEX + ';' +
      'width: 370px; max-width: calc(100vw - 24px); height: 580px; max-height: calc(100vh - 108px);' +
      'border-radius: 14px; overflow: hidden; background: #fff; display: none;' +
      'box-shadow: 0 12px 40px rgba(20, 30, 60, .25);');
    var frame = document.createElement('iframe');
    frame.title = 'Kefu chat';
    frame.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms allow-popups');
    frame.setAttribute('allow', 'camera; microphone; display-capture');
    css(frame, 'display: block; width: 100%; height: 100%; border: 0;');
    frame.addEventListener('load', function () {
      // (Re)loaded: the chat waits for this init, and learns our origin from it.
      state.loaded = true;
      post('init', {
        widgetKey: state.widgetKey, identity: state.identity, context: state.context,
        open: state.isOpen, visitorToken: storedToken(),
      });
    });
    frame.src = state.server + '/widget/frame?key=' + encodeURIComponent(state.widgetKey);
    panel.appendChild(frame);

    document.body.appendChild(panel);
    document.body.appendChild(launcher);
    state.launcher = launcher;
    state.badge = badge;
    state.panel = panel;
    state.frame = frame;
    if (state.isOpen) panel.style.display = 'block';
    updateLabel(0);
  }

  function onFrameMessage(event) {
    if (!state.frame || event.origin !== state.server || event.source !== state.frame.contentWindow) return;
    var data = event.data;
    if (!data || data.kefu !== 1) return;
    if (data.type === 'ready') emit('ready', { visitorId: data.visitorId });
    else if (data.type === 'close') close();
    else if (data.type === 'message') emit('message', { author: data.author, text: data.text, createdAt: data.createdAt });
    else if (data.type === 'unread') setUnread(data.count);
    else if (data.type === 'store' && typeof data.visitorToken === 'string') storeToken(data.visitorToken);
  }

  function setUnread(count) {
    count = Math.max(0, Number(count) || 0);
    state.badge.textContent = count > 99 ? '99+' : String(count);
    state.badge.style.display = count > 0 && !state.isOpen ? 'block' : 'none';
    updateLabel(count);
    emit('unread', { count: count });
  }

  function updateLabel(unread) {
    var label = state.isOpen ? 'Close chat' : 'Open chat';
    if (!state.isOpen && unread > 0) label += ', ' + unread + ' unread';
    state.launcher.setAttribute('aria-label', label);
    state.launcher.setAttribute('aria-expanded', String(state.isOpen));
    state.icons[0].style.display = state.isOpen ? 'none' : 'block';
    state.icons[1].style.display = state.isOpen ? 'block' : 'none';
  }

  function init(options) {
    options = options || {};
    if (state.widgetKey) { console.warn('Kefu.init was already called'); return; }
    if (!options.widgetKey) throw new Error('Kefu.init needs {widgetKey}');
    var server = options.server || defaultServer;
    if (!server) throw new Error('Kefu.init could not tell the Kefu server; pass {server}');
    state.server = new URL(server, window.location.href).origin;
    state.widgetKey = String(options.widgetKey);
    window.addEventListener('message', onFrameMessage);
    if (document.body) build();
    else document.addEventListener('DOMContentLoaded', build, { once: true });
  }

  function open() {
    if (state.isOpen) return;
    state.isOpen = true;
    if (!state.panel) return; // before the page's body exists; build() shows it
    state.panel.style.display = 'block';
    state.badge.style.display = 'none';
    updateLabel(0);
    post('open', {});
    emit('open', {});
  }

  function close() {
    if (!state.isOpen) return;
    state.isOpen = false;
    if (!state.panel) return;
    state.panel.style.display = 'none';
    updateLabel(0);
    post('close', {});
    state.launcher.focus();
    emit('close', {});
  }

  function toggle() {
    if (state.isOpen) close(); else open();
  }

  /** Sign the shopper in as the store's customer: {externalId, identityHash, name, email}. */
  function identify(identity) {
    identity = identity || {};
    state.identity = {
      externalId: identity.externalId ? String(identity.externalId) : null,
      identityHash: identity.identityHash ? String(identity.identityHash) : null,
      name: identity.name ? String(identity.name) : null,
      email: identity.email ? String(identity.email) : null,
    };
    post('identify', { identity: state.identity });
  }

  /** Plain data about the page (cart, order, product) for the agent; replaces the last one. */
  function setContext(context) {
    state.context = context == null ? null : JSON.parse(JSON.stringify(context));
    post('context', { context: state.context });
  }

  function on(type, fn) {
    if (EVENTS.indexOf(type) < 0) throw new Error('Kefu.on: unknown event ' + type);
    (state.handlers[type] = state.handlers[type] || []).push(fn);
    return function () { off(type, fn); };
  }

  function off(type, fn) {
    var list = state.handlers[type] || [];
    var at = list.indexOf(fn);
    if (at >= 0) list.splice(at, 1);
  }

  window.Kefu = Object.freeze({
    version: '1',
    init: init, open: open, close: close, toggle: toggle,
    identify: identify, setContext: setContext, on: on, off: off,
  });
})();
