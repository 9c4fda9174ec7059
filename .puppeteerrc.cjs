/**
 * Puppeteer never downloads a browser, at install or at run time: Drover drives the system
 * Chromium (Debian's chromium-headless-shell, or CHROME_PATH), see libs/browser/src/chromium.ts.
 * @type {import('puppeteer').Configuration}
 */
module.exports = {
  skipDownload: true,
  chrome: { skipDownload: true },
  'chrome-headless-shell': { skipDownload: true },
  firefox: { skipDownload: true },
};
