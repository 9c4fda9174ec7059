/**
 * The per-agent proxy endpoint without the browser host: `@drover/browser/proxy` loads no
 * puppeteer, for behaviours that send plain HTTP through an agent's proxy (`http-monitor`).
 */
export {
  LocalProxy,
  pinnedLookup,
  validateProxyUrl,
  type EgressRefusal,
  type LocalProxyOptions,
  type ProxyFailure,
} from './local-proxy';
export { redactProxyUrl } from '@drover/contracts';
