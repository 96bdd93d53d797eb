// The agent's REST session: tokens in sessionStorage (gone with the tab), and calls that
// renew an expired access token once through /api/v1/auth/refresh before giving up.

import { ApiError, requestJson } from '/static/lib/rest.js';

const STORAGE_KEY = 'kefu:console:session';

export class AgentSession {
  constructor(onSignedOut) {
    this.onSignedOut = onSignedOut;
    this.data = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null');
    this._refreshing = null;
  }

  get signedIn() {
    return Boolean(this.data && this.data.access_token);
  }

  get agent() {
    return this.data && this.data.agent;
  }

  get accessToken() {
    return this.data && this.data.access_token;
  }

  async login(email, password) {
    this._store(await requestJson('/api/v1/auth/login', { method: 'POST', body: { email, password } }));
  }

  /** Renew the access token; false (and signed out) when the refresh token is no good. */
  refresh() {
    if (!this._refreshing) {
      this._refreshing = (async () => {
        try {
          const body = { refresh_token: this.data.refresh_token };
          this._store(await requestJson('/api/v1/auth/refresh', { method: 'POST', body }));
          return true;
        } catch (exc) {
          if (exc.status === 401) this.signOut('Your session has ended; please sign in again.');
          return false;
        } finally {
          this._refreshing = null;
        }
      })();
    }
    return this._refreshing;
  }

  async call(path, { method = 'GET', body } = {}) {
    if (!this.signedIn) throw new ApiError(401, 'unauthorized', 'Not signed in.');
    try {
      return await requestJson(path, { method, body, token: this.accessToken });
    } catch (exc) {
      if (exc.status !== 401) throw exc;
      if (exc.code === 'token_expired') {
        if (await this.refresh()) return requestJson(path, { method, body, token: this.accessToken });
      } else if (this.signedIn) {
        this.signOut('Your session has ended; please sign in again.');
      }
      throw exc;
    }
  }

  setAgent(agent) {
    this._store({ ...this.data, agent });
  }

  signOut(reason) {
    this.data = null;
    sessionStorage.removeItem(STORAGE_KEY);
    this.onSignedOut(reason);
  }

  _store(data) {
    this.data = data;
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(data));
  }
}
