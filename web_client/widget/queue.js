// Waiting for an agent: the widget's line for `queue.status` frames, and the shopper's
// time zone for the widget session (routing says when to expect a reply in that zone).
// See docs/protocol.md, "Routing and the queue".

/** The browser's IANA time zone ("Europe/Berlin"), or undefined when it cannot tell. */
export function browserTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
  } catch {
    return undefined;
  }
}

/** What a `queue.status` frame means for the shopper, times in their own zone. */
export function queueText(frame) {
  const place = frame.position === 1
    ? 'You are next in line.'
    : `You are number ${frame.position} in line.`;
  if (frame.available_now) return `${place} An agent will be with you shortly.`;
  if (!frame.eta) return `${place} We will reply as soon as we can.`;
  const eta = new Date(frame.eta);
  const days = (eta.getTime() - Date.now()) / 86400000;
  const when = new Intl.DateTimeFormat('en-GB', {
    weekday: 'long',
    ...(days > 6 ? { day: 'numeric', month: 'short' } : {}),
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(eta);
  return `${place} Our team is back ${when} your time.`;
}

/** The status line under the thread: shown while queued, hidden once an agent joins. */
export class QueueLine {
  constructor(element, conversationId) {
    this.element = element;
    this.conversationId = conversationId;
  }

  update(frame) {
    if (!this.element || frame.conversation_id !== this.conversationId()) return;
    if (frame.type === 'queue.status') {
      this.element.textContent = queueText(frame);
      this.element.hidden = false;
    } else if (frame.assignee_id || frame.change === 'closed') {
      this.element.hidden = true;
    }
  }
}
