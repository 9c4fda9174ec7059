import type { Cookie, CookieData } from 'puppeteer';

/** A cookie as puppeteer reports it -> the minimal param form `setCookie` accepts (session cookies keep no expiry). */
export function toCookieData(cookie: Cookie | CookieData): CookieData {
  const out: CookieData = { name: cookie.name, value: cookie.value, domain: cookie.domain };
  if (cookie.path !== undefined) out.path = cookie.path;
  if (cookie.secure !== undefined) out.secure = cookie.secure;
  if (cookie.httpOnly !== undefined) out.httpOnly = cookie.httpOnly;
  if (cookie.sameSite !== undefined) out.sameSite = cookie.sameSite;
  if (typeof cookie.expires === 'number' && cookie.expires > 0) out.expires = cookie.expires;
  if (cookie.priority !== undefined) out.priority = cookie.priority;
  if (cookie.sourceScheme !== undefined) out.sourceScheme = cookie.sourceScheme;
  if (cookie.partitionKey !== undefined) out.partitionKey = cookie.partitionKey;
  return out;
}
