import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { launch, type Browser } from 'puppeteer';
import { Server as ProxyServer } from 'proxy-chain';
import { readFileSync } from 'node:fs';
import {
  BrowserHost,
  CHROMIUM_ARGS,
  headlessModeFor,
  processTree,
  resolveChromePath,
  type BrowserSession,
} from '@drover/browser';
import { silentLogger } from '@drover/runtime';

/**
 * `npm run bench:sessions`: how many page-monitor agents one session agent holds per GB of
 * resident memory (node and Chromium together, as proportional set size) and how fast a warm agent starts (context +
 * proxy endpoint + cookie restore + first page load, browser already up), against a baseline
 * measured in the same run: one browser per agent.
 */
const CHROME_PATH = resolveChromePath();
const AGENTS = Number(process.env.BENCH_AGENTS ?? 20);
const BASELINE_AGENTS = Number(process.env.BENCH_BASELINE_AGENTS ?? 5);

interface Figures {
  agentsPerGb: number;
  startsMs: number[];
}

async function main(): Promise<void> {
  const site = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<html><head><title>bench</title></head><body><p id="text">watched text</p></body></html>');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
  const upstream = new ProxyServer({ port: 0, host: '127.0.0.1', prepareRequestFunction: () => ({}) });
  await upstream.listen();
  const proxy = (i: number) => `http://agent-${i}:secret-${i}@127.0.0.1:${upstream.port}`;
  const cookies = [{ name: 'session', value: 'x'.repeat(64), domain: '127.0.0.1', path: '/' }];
  try {
    const contexts = await contextPerAgent(url, proxy, cookies);
    log(`contexts: ${contexts.agentsPerGb.toFixed(1)} agents/GB, warm start ${summary(contexts.startsMs)}`);
    const browsers = await browserPerAgent(url);
    log(`browser per agent: ${browsers.agentsPerGb.toFixed(1)} agents/GB, start ${summary(browsers.startsMs)}`);
    console.log(
      `bench:sessions: contexts ${contexts.agentsPerGb.toFixed(1)} agents/GB, warm start p50 ` +
        `${pct(contexts.startsMs, 50).toFixed(0)} ms p95 ${pct(contexts.startsMs, 95).toFixed(0)} ms; ` +
        `one browser per agent ${browsers.agentsPerGb.toFixed(1)} agents/GB, start p50 ` +
        `${pct(browsers.startsMs, 50).toFixed(0)} ms p95 ${pct(browsers.startsMs, 95).toFixed(0)} ms`,
    );
  } finally {
    await upstream.close(true);
    site.close();
  }
}

/** Drover's model: one browser, one context per agent, each behind its own proxy endpoint. */
async function contextPerAgent(
  url: string,
  proxy: (i: number) => string,
  cookies: { name: string; value: string; domain: string; path: string }[],
): Promise<Figures> {
  const host = new BrowserHost({ chromePath: CHROME_PATH, logger: silentLogger(), proxyBypassList: ['<-loopback>'] });
  await host.start();
  const sessions: BrowserSession[] = [];
  const startsMs: number[] = [];
  const baseline = residentMb(host.stats().browserPid);
  try {
    for (let i = 0; i < AGENTS; i += 1) {
      const started = performance.now();
      const session = await host.openSession({ agentId: `bench-${i}`, proxy: proxy(i), cookies });
      await (await session.page()).goto(url, { waitUntil: 'domcontentloaded' });
      startsMs.push(performance.now() - started);
      sessions.push(session);
    }
    const used = residentMb(host.stats().browserPid);
    log(`contexts: ${AGENTS} agents in ${used.toFixed(0)} MB (browser and node; ${baseline.toFixed(0)} MB idle)`);
    return { agentsPerGb: (AGENTS * 1024) / used, startsMs };
  } finally {
    for (const session of sessions) await session.close().catch(() => undefined);
    await host.shutdown();
  }
}

/** Baseline: a browser process per agent (what a naive fleet does). */
async function browserPerAgent(url: string): Promise<Figures> {
  const browsers: Browser[] = [];
  const startsMs: number[] = [];
  try {
    for (let i = 0; i < BASELINE_AGENTS; i += 1) {
      const started = performance.now();
      const browser = await launch({
        executablePath: CHROME_PATH,
        headless: headlessModeFor(CHROME_PATH),
        pipe: true,
        args: [...CHROMIUM_ARGS],
      });
      browsers.push(browser);
      const page = await browser.newPage();
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      startsMs.push(performance.now() - started);
    }
    const pids = browsers.flatMap((b) => {
      const pid = b.process()?.pid;
      return pid ? processTree(pid) : [];
    });
    const used = pssMb(pids) + pssMb([process.pid]);
    log(`browser per agent: ${BASELINE_AGENTS} agents in ${used.toFixed(0)} MB`);
    return { agentsPerGb: (BASELINE_AGENTS * 1024) / used, startsMs };
  } finally {
    for (const browser of browsers) await browser.close().catch(() => undefined);
  }
}

/** Memory of node and the browser tree. Proportional set size, so pages Chromium's processes share count once. */
function residentMb(browserPid: number | undefined): number {
  return pssMb([process.pid, ...(browserPid ? processTree(browserPid) : [])]);
}

function pssMb(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      kb += Number(match?.[1] ?? 0);
    } catch {
      // the process exited meanwhile
    }
  }
  return kb / 1024;
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function summary(values: number[]): string {
  return `p50 ${pct(values, 50).toFixed(0)} ms, p95 ${pct(values, 95).toFixed(0)} ms over ${values.length}`;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`bench:sessions failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
