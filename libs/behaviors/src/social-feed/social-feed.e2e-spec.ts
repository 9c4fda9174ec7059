import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import type { Activity } from '@drover/contracts';
import { silentLogger } from '@drover/runtime';
import { LOOPBACK_ALLOWED } from '../testing/behavior-context';
import { abortableSleep } from '../abortable-sleep';
import { MemoryAgentStorage, type AgentStorage } from '../storage.port';
import { describeWithChromium, TestChromium, type TestAgentBrowser } from '../testing/test-browser';
import { createSocialFeed, socialFeed, socialFeedDayKey, type SocialFeedDayCounts } from './social-feed.behavior';
import { SocialFeedConfig, type SocialFeedConfigInput } from './social-feed.schema';
import { DEFAULT_FEED_USERS, startFeedSite, type FeedSite, type FeedSiteOptions } from './testing/feed-site';

const USER = 'alice';
const PASSWORD = DEFAULT_FEED_USERS[USER] ?? '';
const WRONG_PASSWORD = 'not-the-right-pass-42';
const TEMPLATE = 'Great read, thanks! [{postId}]';
/** Upper bound on one behaviour run in these tests. */
const RUN_TIMEOUT_MS = 60_000;

describeWithChromium('social-feed in Chromium', (executablePath) => {
  let chromium: TestChromium;
  const sites: FeedSite[] = [];
  const agents: TestAgentBrowser[] = [];
  /** Every activity of every run, checked for the password at the end. */
  const everything: Activity[] = [];

  beforeAll(async () => {
    chromium = await TestChromium.launch(executablePath);
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close().catch(() => undefined)));
    await Promise.all(sites.splice(0).map((site) => site.close()));
  });
  afterAll(async () => {
    await chromium?.close();
  });

  async function site(options?: FeedSiteOptions): Promise<FeedSite> {
    const started = await startFeedSite(options);
    sites.push(started);
    return started;
  }
  async function agent(cookies?: Parameters<TestChromium['agentBrowser']>[0]): Promise<TestAgentBrowser> {
    const created = await chromium.agentBrowser(cookies);
    agents.push(created);
    return created;
  }

  interface RunOptions {
    browser: TestAgentBrowser;
    storage?: AgentStorage;
    config: Omit<SocialFeedConfigInput, 'username' | 'password'> & { username?: string; password?: string };
    /** Aborts the run once this returns true for a reported activity (default: the `feed.run` summary). */
    stopWhen?: (activity: Activity) => boolean;
    /** Aborts the run once the behaviour has started a sleep of `ms` for which this returns true. */
    stopDuringSleep?: (ms: number) => boolean;
    behavior?: typeof socialFeed;
  }
  interface RunResult {
    activities: Activity[];
    /** True when the behaviour returned on its own (no abort). */
    returnedByItself: boolean;
    /** ms between the abort and the return, when aborted. */
    abortToReturnMs?: number;
    /** Every sleep the behaviour asked for, in ms, in order. */
    sleeps: number[];
  }

  /** Runs the behaviour once over the feed: the `feed.run` summary (or stopWhen) aborts it. */
  async function run(options: RunOptions): Promise<RunResult> {
    const controller = new AbortController();
    const activities: Activity[] = [];
    const stopWhen = options.stopWhen ?? ((a: Activity) => a.kind === 'feed.run');
    const sleeps: number[] = [];
    let abortedAt: number | undefined;
    const abort = () => {
      abortedAt ??= performance.now();
      controller.abort();
    };
    const guard = setTimeout(abort, RUN_TIMEOUT_MS);
    try {
      await (options.behavior ?? socialFeed).run({
        agentId: 'agent-1',
        config: SocialFeedConfig.parse({
          username: USER,
          password: PASSWORD,
          commentTemplate: TEMPLATE,
          delayMs: { min: 10, max: 30 },
          ...options.config,
        }),
        egress: LOOPBACK_ALLOWED,
        signal: controller.signal,
        logger: silentLogger(),
        sleep: (ms) => {
          sleeps.push(ms);
          const slept = abortableSleep(ms, controller.signal);
          if (options.stopDuringSleep?.(ms)) abort();
          return slept;
        },
        capabilities: { browser: options.browser, storage: options.storage ?? new MemoryAgentStorage() },
        report: async (activity) => {
          activities.push(activity);
          everything.push(activity);
          if (stopWhen(activity)) abort();
        },
      });
    } finally {
      clearTimeout(guard);
    }
    const returned = performance.now();
    return {
      activities,
      sleeps,
      returnedByItself: abortedAt === undefined,
      ...(abortedAt === undefined ? {} : { abortToReturnMs: returned - abortedAt }),
    };
  }

  const kinds = (activities: Activity[]) => activities.map((a) => a.kind);
  const ofKind = (activities: Activity[], kind: string) => activities.filter((a) => a.kind === kind);

  it('logs in, likes up to likesPerRun, comments with the template, and the site records it', async () => {
    const feed = await site({ posts: 6 });
    const browser = await agent();
    const { activities } = await run({
      browser,
      config: { baseUrl: feed.url, likesPerRun: 3, commentsPerRun: 2 },
    });

    const session = ofKind(activities, 'feed.session');
    expect(session).toEqual([{ kind: 'feed.session', ok: true, details: { reused: false } }]);
    expect(feed.state.logins).toBe(1);
    assert.equal(browser.savedCookies.length, 1, 'cookies saved once after the login');
    expect(browser.savedCookies[0]?.some((c) => c.name === 'feed_session')).toBeTruthy();

    const likes = ofKind(activities, 'feed.like');
    expect(likes.length).toBe(3);
    expect(likes.every((a) => a.ok)).toBeTruthy();
    expect(likes.map((a) => a.details?.postId)).toEqual(['p1', 'p2', 'p3']);
    expect(feed.state.likedBy(USER)).toEqual(['p1', 'p2', 'p3']);

    const comments = ofKind(activities, 'feed.comment');
    expect(comments.length).toBe(2);
    expect(comments.every((a) => a.ok)).toBeTruthy();
    expect(feed.state.commentsBy(USER)).toEqual([
      { postId: 'p1', text: 'Great read, thanks! [p1]' },
      { postId: 'p2', text: 'Great read, thanks! [p2]' },
    ]);

    const [summary] = ofKind(activities, 'feed.run');
    expect(summary?.ok).toBe(true);
    expect(summary?.details?.likes).toBe(3);
    expect(summary?.details?.comments).toBe(2);
    expect(summary?.details?.posts).toBe(6);
    expect(kinds(activities).at(-1)).toBe('feed.run');
  });

  it('skips posts already liked or commented, and the page is the source of truth', async () => {
    const feed = await site({ posts: 4 });
    const browser = await agent();
    await run({ browser, config: { baseUrl: feed.url, likesPerRun: 2, commentsPerRun: 1 } });
    // A fresh storage (no day counts): only the page tells what was already done.
    const { activities } = await run({ browser, config: { baseUrl: feed.url, likesPerRun: 5, commentsPerRun: 1 } });
    expect(ofKind(activities, 'feed.like').map((a) => a.details?.postId)).toEqual(['p3', 'p4']);
    expect(ofKind(activities, 'feed.comment').map((a) => a.details?.postId)).toEqual(['p2']);
    expect(feed.state.likedBy(USER)).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect(feed.state.commentsBy(USER).length).toBe(2);
  });

  it('respects the per-day caps across runs sharing the agent storage', async () => {
    const feed = await site({ posts: 10 });
    const storage = new MemoryAgentStorage();
    const config = { baseUrl: feed.url, likesPerRun: 3, likesPerDay: 4, commentsPerRun: 1, commentsPerDay: 1 };

    const first = await run({ browser: await agent(), storage, config });
    expect(ofKind(first.activities, 'feed.like').length).toBe(3);
    expect(ofKind(first.activities, 'feed.comment').length).toBe(1);
    expect(await storage.get<SocialFeedDayCounts>(socialFeedDayKey())).toEqual({ likes: 3, comments: 1 });

    // A restart: a new browser, the same storage.
    const second = await run({ browser: await agent(), storage, config });
    assert.equal(ofKind(second.activities, 'feed.like').length, 1, 'only one like left for today');
    assert.equal(ofKind(second.activities, 'feed.comment').length, 0, 'no comment left for today');
    const summary = ofKind(second.activities, 'feed.run')[0];
    expect(summary?.details?.likeCapReached).toBe(true);
    expect(summary?.details?.commentCapReached).toBe(true);

    const third = await run({ browser: await agent(), storage, config });
    expect(ofKind(third.activities, 'feed.like').length).toBe(0);
    expect(ofKind(third.activities, 'feed.comment').length).toBe(0);

    expect(feed.state.likedBy(USER).length).toBe(4);
    expect(feed.state.commentsBy(USER).length).toBe(1);
    expect(await storage.get<SocialFeedDayCounts>(socialFeedDayKey())).toEqual({ likes: 4, comments: 1 });
  });

  it('reuses the saved session cookies instead of logging in again', async () => {
    const feed = await site();
    const first = await agent();
    await run({ browser: first, config: { baseUrl: feed.url, likesPerRun: 1, commentsPerRun: 0 } });
    expect(feed.state.logins).toBe(1);
    const cookies = first.savedCookies.at(-1) ?? [];
    expect(cookies.length > 0).toBeTruthy();

    const second = await agent(cookies);
    const { activities } = await run({
      browser: second,
      config: { baseUrl: feed.url, likesPerRun: 1, commentsPerRun: 0 },
    });
    expect(ofKind(activities, 'feed.session')).toEqual([{ kind: 'feed.session', ok: true, details: { reused: true } }]);
    assert.equal(feed.state.logins, 1, 'no second login');
    expect(second.savedCookies.length).toBe(0);
    expect(ofKind(activities, 'feed.like').map((a) => [a.details?.postId, a.ok])).toEqual([['p2', true]]);
    expect(feed.state.likedBy(USER)).toEqual(['p1', 'p2']);
  });

  it('stops cleanly on the block page: feed.blocked, no action, and the run returns', async () => {
    const feed = await site();
    feed.block(true);
    // Logged out, the site first asks for the login; the block page comes after it.
    const { activities, returnedByItself } = await run({ browser: await agent(), config: { baseUrl: feed.url } });
    assert.equal(returnedByItself, true, 'the behaviour returned without being aborted');
    expect(kinds(activities)).toEqual(['feed.session', 'feed.blocked']);
    expect(activities[1]?.ok).toBe(false);
    expect(feed.state.actionRequests).toBe(0);
  });

  it('stops cleanly on a challenge: feed.challenge, no action, and the run returns', async () => {
    const feed = await site();
    const browser = await agent();
    await run({ browser, config: { baseUrl: feed.url, likesPerRun: 1, commentsPerRun: 0 } });
    const before = feed.state.actionRequests;
    feed.challenge(true);
    const { activities, returnedByItself } = await run({ browser, config: { baseUrl: feed.url } });
    expect(returnedByItself).toBe(true);
    // The saved session reaches the feed URL, which shows the challenge straight away.
    expect(kinds(activities)).toEqual(['feed.challenge']);
    expect(activities[0]?.ok).toBe(false);
    expect(feed.state.actionRequests).toBe(before);
  });

  it('returns when aborted during the delay between actions, with no further action', async () => {
    const feed = await site();
    const { activities, abortToReturnMs, sleeps } = await run({
      browser: await agent(),
      config: { baseUrl: feed.url, likesPerRun: 5, delayMs: { min: 20_000, max: 20_000 } },
      stopWhen: () => false,
      stopDuringSleep: (ms) => ms === 20_000,
    });
    console.info(`social-feed: returned ${abortToReturnMs?.toFixed(1)} ms after the abort in the delay`);
    expect(abortToReturnMs).toBeDefined();
    // The first action needs no pause; the pause before the second one was cut short.
    expect(kinds(activities)).toEqual(['feed.session', 'feed.like']);
    expect(sleeps.filter((ms) => ms === 20_000)).toEqual([20_000]);
    expect(feed.state.actionRequests).toBe(1);
    expect(feed.state.likedBy(USER).length).toBe(1);
  });

  it('reports an action that does not take effect as not ok', async () => {
    const feed = await site({ ignoreActions: true });
    const { activities } = await run({
      browser: await agent(),
      behavior: createSocialFeed({ verifyTimeoutMs: 1_000 }),
      config: { baseUrl: feed.url, likesPerRun: 1, commentsPerRun: 1 },
    });
    const [like] = ofKind(activities, 'feed.like');
    const [comment] = ofKind(activities, 'feed.comment');
    expect(like?.ok).toBe(false);
    expect(like?.details?.postId).toBe('p1');
    expect(comment?.ok).toBe(false);
    const [summary] = ofKind(activities, 'feed.run');
    expect(summary?.ok).toBe(false);
    expect(summary?.details?.failedLikes).toBe(1);
    expect(summary?.details?.failedComments).toBe(1);
  });

  it('fails the session on rejected credentials, without quoting the password', async () => {
    const feed = await site();
    const activities: Activity[] = [];
    const controller = new AbortController();
    const error = await socialFeed
      .run({
        agentId: 'agent-1',
        config: SocialFeedConfig.parse({ baseUrl: feed.url, username: USER, password: WRONG_PASSWORD }),
        egress: LOOPBACK_ALLOWED,
        signal: controller.signal,
        logger: silentLogger(),
        sleep: (ms) => abortableSleep(ms, controller.signal),
        capabilities: { browser: await agent() },
        report: async (activity) => {
          activities.push(activity);
          everything.push(activity);
        },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof Error, 'the run rejects');
    expect(error.message).toMatch(/login rejected/);
    expect(!error.message.includes(WRONG_PASSWORD)).toBeTruthy();
    expect(kinds(activities)).toEqual(['feed.session']);
    expect(activities[0]?.ok).toBe(false);
    expect(feed.state.failedLogins).toBe(1);
  });

  it('never reports the password', () => {
    assert.ok(everything.length > 20, `activities were collected (${everything.length})`);
    const all = JSON.stringify(everything);
    assert.ok(!all.includes(PASSWORD), 'the password appears in an activity');
    assert.ok(!all.includes(WRONG_PASSWORD), 'the wrong password appears in an activity');
  });
});
