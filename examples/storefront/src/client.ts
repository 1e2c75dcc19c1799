import { Client, fetchExchange } from "@urql/core";

/** Where a token lives between requests: memory here, localStorage or secure storage in an app. */
export interface TokenStore {
  get(): string | null;
  set(token: string | null): void;
}

export function memoryStore(): TokenStore {
  let token: string | null = null;
  return { get: () => token, set: (value) => void (token = value) };
}

export function localStorageStore(key: string): TokenStore {
  return {
    get: () => localStorage.getItem(key),
    set: (token) => {
      if (token === null) localStorage.removeItem(key);
      else localStorage.setItem(key, token);
    },
  };
}

/** Guests, mobile apps and other origins: no cookies, no CSRF; a bearer token once signed in. */
export function bearerClient(url: string, auth: TokenStore): Client {
  return new Client({
    url,
    exchanges: [fetchExchange],
    fetchOptions: () => {
      const token = auth.get();
      return token ? { headers: { Authorization: `Bearer ${token}` } } : {};
    },
  });
}

/** A web storefront served from the API's origin: the session cookie, and its CSRF token. */
export function sessionClient(url: string): Client {
  return new Client({
    url,
    exchanges: [fetchExchange],
    fetchOptions: () => {
      // Read on every request: Django issues a new token at login.
      const csrfToken = readCookie("csrftoken");
      return {
        credentials: "include",
        headers: csrfToken ? { "X-CSRFToken": csrfToken } : {},
      };
    },
  });
}

function readCookie(name: string): string | null {
  for (const pair of document.cookie.split("; ")) {
    const [key, value] = pair.split("=");
    if (key === name && value !== undefined) return decodeURIComponent(value);
  }
  return null;
}
