// Shifts & queue: who is on shift now, the queue oldest first, and a market's week of
// coverage in half hours with its gaps. A drawer of the console (console.js makes it) that
// reads GET /api/v1/queue, /api/v1/markets and /api/v1/coverage through the console's
// session, every 15 s while open. Every name shown is set as text, never parsed as HTML.

import { el } from '/static/lib/dom.js';

const REFRESH_MS = 15000;
const DAY_MS = 86400000;

function minutes(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

function localTime(iso, timeZone) {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(new Date(iso));
}

/** The Monday of this week as YYYY-MM-DD (in the browser's zone). */
function thisMonday() {
  const today = new Date();
  const monday = new Date(today.getTime() - ((today.getDay() + 6) % 7) * DAY_MS);
  return monday.toISOString().slice(0, 10);
}

export class CoveragePanel {
  /**
   * @param {HTMLElement} root the drawer
   * @param {HTMLElement} opener the button that opens and closes it
   * @param {(path: string) => Promise<any>} call GET through the console's session
   *   (which renews an expired access token)
   */
  constructor(root, opener, call) {
    this.root = root;
    this.opener = opener;
    this.call = call;
    this.timer = null;
    this.market = null;
    this.week = thisMonday();
    this.build();
    this.toggle = () => (this.root.hidden ? this.open() : this.close());
    opener.addEventListener('click', this.toggle);
  }

  build() {
    this.marketSelect = el('select', { 'aria-label': 'Market' });
    this.weekInput = el('input', { type: 'date', 'aria-label': 'Week starting', value: this.week });
    const close = el('button', { type: 'button', class: 'ghost', text: 'Close' });
    close.addEventListener('click', () => this.close());
    this.marketSelect.addEventListener('change', () => this.loadCoverage());
    this.weekInput.addEventListener('change', () => {
      this.week = this.weekInput.value || thisMonday();
      this.loadCoverage();
    });
    this.status = el('p', { class: 'coverage__status', role: 'status' });
    this.agents = el('ul', { class: 'coverage__agents', 'aria-label': 'Agents' });
    this.queue = el('ol', { class: 'coverage__queue', 'aria-label': 'Queue' });
    this.table = el('div', { class: 'coverage__week' });
    this.gaps = el('ul', { class: 'coverage__gaps', 'aria-label': 'Gaps in cover' });
    this.root.replaceChildren(
      el('header', { class: 'coverage__header' }, el('h2', { text: 'Shifts & queue' }), close),
      this.status,
      el('h3', { text: 'Agents now' }),
      this.agents,
      el('h3', { text: 'Queue' }),
      this.queue,
      el('h3', { text: 'Coverage' }),
      el('div', { class: 'coverage__controls' }, this.marketSelect, this.weekInput),
      this.table,
      this.gaps,
    );
  }

  async open() {
    this.root.hidden = false;
    this.opener.setAttribute('aria-expanded', 'true');
    await this.refresh(true);
    clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(false), REFRESH_MS);
  }

  /** Signed out: closed, no timer, no listener left behind. */
  destroy() {
    this.close();
    this.opener.removeEventListener('click', this.toggle);
  }

  close() {
    this.root.hidden = true;
    this.opener.setAttribute('aria-expanded', 'false');
    clearInterval(this.timer);
    this.timer = null;
  }

  async refresh(withMarkets) {
    try {
      const view = await this.call('/api/v1/queue');
      this.showAgents(view);
      this.showQueue(view);
      const routing = view.routing.enabled ? 'Routing is on.' : 'Routing is off: assign by hand.';
      this.status.textContent = `${routing} Updated ${localTime(view.at)}.`;
      if (withMarkets) await this.loadMarkets();
    } catch (exc) {
      this.status.textContent = `Could not load (${exc.code || 'error'}).`;
    }
  }

  showAgents(view) {
    this.agents.replaceChildren(
      ...view.agents.map((agent) => {
        const state = agent.available ? 'available' : agent.on_shift ? 'on shift' : 'off shift';
        return el(
          'li',
          { class: `coverage__agent coverage__agent--${agent.on_shift ? 'on' : 'off'}` },
          el('span', { class: 'coverage__name', text: agent.name }),
          el('span', { class: 'tag', text: agent.online ? 'online' : agent.connected ? agent.status : 'offline' }),
          el('span', { class: 'tag', text: state }),
          el('span', { class: 'tag', text: `${agent.load}/${agent.max_chats}` }),
          el('span', { class: 'coverage__langs', text: [agent.languages.join(' '), agent.markets.join(' ')].filter(Boolean).join(' · ') }),
        );
      }),
    );
  }

  showQueue(view) {
    if (!view.queue.length) {
      this.queue.replaceChildren(el('li', { class: 'coverage__empty', text: 'Nobody is waiting.' }));
      return;
    }
    this.queue.replaceChildren(
      ...view.queue.map((item) => el(
        'li',
        {},
        el('span', { class: 'coverage__name', text: item.visitor.name || 'Visitor' }),
        el('span', { class: 'tag', text: [item.market, item.language].filter(Boolean).join(' / ') }),
        el('span', { text: ` waiting ${minutes(item.waiting_seconds)}` }),
        item.eta ? el('span', { class: 'coverage__eta', text: ` · next shift ${localTime(item.eta)}` }) : null,
        item.last_message_preview ? el('span', { class: 'coverage__preview', text: item.last_message_preview }) : null,
      )),
    );
  }

  async loadMarkets() {
    const { markets } = await this.call('/api/v1/markets');
    const current = this.marketSelect.value;
    this.marketSelect.replaceChildren(
      ...markets.map((m) => el('option', { value: m.code, text: `${m.code} (${m.tz})` })),
    );
    if (markets.some((m) => m.code === current)) this.marketSelect.value = current;
    if (!markets.length) {
      this.table.replaceChildren(el('p', { class: 'coverage__empty', text: 'No markets yet (POST /api/v1/markets).' }));
      this.gaps.replaceChildren();
      return;
    }
    await this.loadCoverage();
  }

  async loadCoverage() {
    const market = this.marketSelect.value;
    if (!market) return;
    try {
      const week = await this.call(`/api/v1/coverage?market=${encodeURIComponent(market)}&week=${this.week}`);
      this.showCoverage(week);
    } catch (exc) {
      this.table.replaceChildren(el('p', { text: `Could not load coverage (${exc.code || 'error'}).` }));
    }
  }

  showCoverage(week) {
    // One row per local day, one cell per slot; a slot's day and time are its local start.
    const rows = new Map();
    for (const slot of week.slots) {
      const day = slot.local_start.slice(0, 10);
      if (!rows.has(day)) rows.set(day, []);
      rows.get(day).push(slot);
    }
    const names = week.agents || {};
    const table = el('table', { class: 'coverage__table' });
    const head = el('tr', {}, el('th', { text: week.tz }));
    for (let hour = 0; hour < 24; hour += 1) {
      head.append(el('th', { colspan: '2', text: String(hour).padStart(2, '0') }));
    }
    table.append(el('thead', {}, head));
    const body = el('tbody');
    for (const [day, slots] of rows) {
      const label = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' })
        .format(new Date(`${day}T00:00:00Z`));
      const row = el('tr', {}, el('th', { scope: 'row', text: label }));
      for (const slot of slots) {
        const who = slot.agent_ids.map((id) => names[id] || id);
        const level = slot.count === 0 ? (slot.in_business_hours ? 'gap' : 'closed') : slot.count === 1 ? 'one' : 'many';
        row.append(el('td', {
          class: `coverage__slot coverage__slot--${level}`,
          title: `${slot.local_start.slice(11, 16)} ${who.length ? who.join(', ') : 'nobody'}`,
        }));
      }
      body.append(row);
    }
    table.append(body);
    this.table.replaceChildren(table);
    this.gaps.replaceChildren(
      ...week.gaps.slice(0, 20).map((gap) => el('li', {
        text: `Gap: ${gap.local_start.slice(0, 16).replace('T', ' ')} – ${gap.local_end.slice(0, 16).replace('T', ' ')} (${minutes(gap.minutes * 60)})`,
      })),
    );
  }
}
