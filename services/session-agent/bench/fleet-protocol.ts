import type { CookieData } from 'puppeteer';

/**
 * What `npm run bench:sessions` (the parent) and its fleet process (`fleet.ts`, the measured
 * session agent) say to each other over the IPC channel of `child_process.fork`.
 */

/** How the fleet hosts its agents. */
export type FleetMode =
  /** Drover's model: one session agent, one Chromium, a context per agent. */
  | 'contexts'
  /** The baseline: a session agent, and so a Chromium, per agent. */
  | 'browser-per-agent';

export interface FleetAgent {
  agentId: string;
  /** The agent's account on the fixture site. */
  username: string;
  password: string;
  /** Its upstream proxy, with credentials of its own. */
  proxy: string;
  /** Its saved cookies (a logged-in session of the site), restored when its context opens. */
  cookies: CookieData[];
}

export interface FleetSpec {
  mode: FleetMode;
  /** The social-feed fixture site. */
  baseUrl: string;
  agents: FleetAgent[];
  /** social-feed `runEveryMs`. */
  runEveryMs: number;
  /** How long one agent may take from its dispatch to its first page of the feed. */
  startTimeoutMs: number;
  /** `BROWSER_MAX_RSS_MB` of the session agent(s). */
  browserMaxRssMb: number;
  /** Warnings of the session agent(s) on stderr. */
  log: boolean;
}

/** Activity kinds reported so far (`feed.run`, `feed.like`...), a failed one as `<kind>!`; session reports by type. */
export type Counts = Record<string, number>;

export type FleetMessage =
  /** Contexts mode: the session agent and its browser are up, no agent yet. */
  | { type: 'ready' }
  /**
   * One agent reached its first page of the feed `ms` after its dispatch (baseline: from the
   * creation of its session agent); its `session.started` (context open, cookies restored,
   * proxy endpoint up) came `sessionStartedMs` after the same point.
   */
  | { type: 'started'; agentId: string; ms: number; sessionStartedMs?: number; reusedCookies: boolean }
  | { type: 'start-failed'; agentId: string; error: string }
  /** Every start was tried. */
  | { type: 'running'; running: number }
  | { type: 'status'; running: number; counts: Counts }
  /** The fleet cannot go on; it shuts down and exits. */
  | { type: 'failed'; error: string };

export type ParentMessage = { type: 'status' } | { type: 'stop' };
