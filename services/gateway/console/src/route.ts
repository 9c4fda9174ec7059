import { useEffect, useState } from 'preact/hooks';

export type Page = 'agents' | 'start' | 'load' | 'dead-letters';
const PAGES: readonly string[] = ['agents', 'start', 'load', 'dead-letters'];

/**
 * The page and the id the fragment names (`#/agents/a-1` is `['agents', 'a-1']`). Pages live in
 * the fragment so the gateway serves one HTML file, and a reload or a shared link keeps the page.
 */
export function parseRoute(hash: string): [Page, string | undefined] {
  const [page, ...rest] = hash.replace(/^#\/?/, '').split('/');
  const id = rest.length ? decodeURIComponent(rest.join('/')) : undefined;
  return PAGES.includes(page ?? '') ? [page as Page, id || undefined] : ['agents', undefined];
}

export function useRoute(): [Page, string | undefined] {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

export const agentHref = (agentId: string): string => `#/agents/${encodeURIComponent(agentId)}`;
