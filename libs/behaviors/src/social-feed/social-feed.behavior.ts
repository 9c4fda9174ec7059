import type { Page } from 'puppeteer';
import { redactCredentials } from '@drover/contracts';
import { AbortedError, untilAborted, withTimeout } from '@drover/runtime';
import type { Behavior, BehaviorContext } from '../behavior.port';
import { MemoryAgentStorage, type AgentStorage } from '../storage.port';
import { SocialFeedConfig, type SocialFeedSelectors } from './social-feed.schema';
import { BEHAVIOR_CATALOG } from '../behavior-schemas';

const NAVIGATION_TIMEOUT_MS = 20_000;
const VERIFY_POLL_MS = 100;
/** Bound on one DOM read, so a page stuck mid-navigation cannot hang the run. */
const READ_TIMEOUT_MS = 5_000;

/** Per-day counters, kept in agent storage under `social-feed:day:<YYYY-MM-DD>` (UTC). */
export interface SocialFeedDayCounts {
  likes: number;
  comments: number;
}
export const socialFeedDayKey = (now: Date = new Date()): string => `social-feed:day:${now.toISOString().slice(0, 10)}`;

/** How one run over the feed ended: `stop` ends the behaviour (block, challenge, abort). */
type RunOutcome = 'continue' | 'stop';

/** Tuning that is not part of the operator's config (tests shorten it). */
export interface SocialFeedOptions {
  /** How long a like or comment may take to show on the page before it counts as failed. */
  verifyTimeoutMs?: number;
}

/**
 * `social-feed`: logs in to a feed site (or reuses the session cookies), then likes and comments
 * posts within per-run and per-day caps, with random pauses between actions, checking on the page
 * that each action took effect. Stops on the site's block or challenge page.
 */
export function createSocialFeed(options: SocialFeedOptions = {}): Behavior<SocialFeedConfig> {
  const tuning: Tuning = { verifyTimeoutMs: options.verifyTimeoutMs ?? 8_000 };
  return {
    name: 'social-feed',
    description: BEHAVIOR_CATALOG['social-feed']!.description,
    configSchema: SocialFeedConfig,
    requires: BEHAVIOR_CATALOG['social-feed']!.requires,
    async run(context) {
      if (!context.capabilities.browser) throw new Error('social-feed needs a browser (capabilities.browser)');
      // Without persistent storage the caps still hold for the life of this run.
      const storage = context.capabilities.storage ?? new MemoryAgentStorage();
      while (!context.signal.aborted) {
        const outcome = await runOnce({ ...context, storage, tuning });
        if (outcome === 'stop') return;
        if (!(await context.sleep(context.config.runEveryMs))) return;
      }
    },
  };
}

export const socialFeed: Behavior<SocialFeedConfig> = createSocialFeed();

interface Tuning {
  verifyTimeoutMs: number;
}
/** The behaviour context plus what the run resolved for itself. */
type RunContext = BehaviorContext<SocialFeedConfig> & { storage: AgentStorage; tuning: Tuning };

/** A check of the page cut short by the stop (awaited work is raced with `untilAborted` instead). */
const ABORTED = Symbol('aborted');
type Aborted = typeof ABORTED;

async function runOnce(context: RunContext): Promise<RunOutcome> {
  const { config, signal } = context;
  const secret = config.password;
  try {
    return await walkFeed(context);
  } catch (error) {
    if (signal.aborted || error instanceof AbortedError) return 'stop';
    if (error instanceof LoginRejected) throw error;
    // The message may quote page input, so the password goes (and any credentials in URLs).
    const message = redactCredentials(error instanceof Error ? error.message : String(error), [secret]);
    context.logger.warn({ agentId: context.agentId, err: message }, 'social-feed run failed');
    await context.report({ kind: 'feed.error', ok: false, message: message.slice(0, 2_000) });
    return 'continue';
  }
}

class LoginRejected extends Error {}

async function walkFeed(context: RunContext): Promise<RunOutcome> {
  const { config, signal, storage } = context;
  const s = config.selectors;
  const browser = context.capabilities.browser;
  if (!browser) throw new Error('social-feed needs a browser (capabilities.browser)');
  const feedUrl = new URL(config.feedPath, config.baseUrl).toString();
  const loginUrl = new URL(config.loginPath, config.baseUrl);

  let page = await browser.page();
  await untilAborted(page.goto(feedUrl, navigation), signal);
  if (await stoppedBySite(context, page)) return 'stop';

  const onLogin = new URL(page.url()).pathname === loginUrl.pathname || (await page.$(s.loginPassword)) !== null;
  if (onLogin) {
    await untilAborted(logIn(page, config.username, config.password, s), signal);
    if ((await page.$(s.loginPassword)) !== null) {
      if (await stoppedBySite(context, page)) return 'stop';
      await context.report({
        kind: 'feed.session',
        ok: false,
        message: 'login rejected: the site still shows the login form',
        details: { reused: false },
      });
      throw new LoginRejected(`social-feed: login rejected for user "${config.username}"`);
    }
    await browser.saveCookies();
    await context.report({ kind: 'feed.session', ok: true, details: { reused: false } });
    page = await browser.page();
    if (new URL(page.url()).pathname !== new URL(feedUrl).pathname) {
      await untilAborted(page.goto(feedUrl, navigation), signal);
    }
    if (await stoppedBySite(context, page)) return 'stop';
  } else {
    await context.report({ kind: 'feed.session', ok: true, details: { reused: true } });
  }

  const dayKey = socialFeedDayKey();
  const today = normalise(await storage.get<SocialFeedDayCounts>(dayKey));
  const run = { likes: 0, comments: 0, failedLikes: 0, failedComments: 0 };
  const likesLeft = () => Math.min(config.likesPerRun - run.likes, config.likesPerDay - today.likes);
  const commentsLeft = () => Math.min(config.commentsPerRun - run.comments, config.commentsPerDay - today.comments);

  const posts = await readPosts(page, s);
  let actions = 0;
  /** Random pause before every action but the first; false when aborted. */
  const pause = async (): Promise<boolean> => {
    if (actions++ === 0) return !signal.aborted;
    const { min, max } = config.delayMs;
    return context.sleep(min + Math.floor(Math.random() * (max - min + 1)));
  };

  for (const post of posts) {
    if (likesLeft() <= 0 && commentsLeft() <= 0) break;
    if (likesLeft() > 0 && post.canLike && !post.liked) {
      if (!(await pause())) return 'stop';
      page = await browser.page();
      run.likes += 1;
      today.likes += 1;
      await storage.set(dayKey, today);
      const result = await likePost(context, page, post.id);
      if (result === ABORTED) return 'stop';
      if (!result.ok) run.failedLikes += 1;
      await context.report({
        kind: 'feed.like',
        ok: result.ok,
        ...(result.ok ? {} : { message: result.reason }),
        details: { postId: post.id },
      });
      if (await stoppedBySite(context, page)) return 'stop';
    }
    const text = commentText(config.commentTemplate, post.id);
    if (commentsLeft() > 0 && post.canComment && !post.comments.includes(normaliseText(text))) {
      if (!(await pause())) return 'stop';
      page = await browser.page();
      run.comments += 1;
      today.comments += 1;
      await storage.set(dayKey, today);
      const result = await commentPost(context, page, post.id, text);
      if (result === ABORTED) return 'stop';
      if (!result.ok) run.failedComments += 1;
      await context.report({
        kind: 'feed.comment',
        ok: result.ok,
        ...(result.ok ? {} : { message: result.reason }),
        details: { postId: post.id, text },
      });
      if (await stoppedBySite(context, page)) return 'stop';
    }
  }

  const failures = run.failedLikes + run.failedComments;
  await context.report({
    kind: 'feed.run',
    ok: failures === 0,
    message: `liked ${run.likes - run.failedLikes}/${run.likes}, commented ${run.comments - run.failedComments}/${run.comments} of ${posts.length} posts`,
    details: {
      posts: posts.length,
      likes: run.likes,
      comments: run.comments,
      failedLikes: run.failedLikes,
      failedComments: run.failedComments,
      day: dayKey.slice('social-feed:day:'.length),
      likesToday: today.likes,
      commentsToday: today.comments,
      likeCapReached: today.likes >= config.likesPerDay,
      commentCapReached: today.comments >= config.commentsPerDay,
    },
  });
  return 'continue';
}

const navigation = { waitUntil: 'domcontentloaded', timeout: NAVIGATION_TIMEOUT_MS } as const;

/** Reports and returns true when the page is the site's block or challenge page. */
async function stoppedBySite(context: BehaviorContext<SocialFeedConfig>, page: Page): Promise<boolean> {
  const s = context.config.selectors;
  const url = safePath(page.url());
  if ((await page.$(s.blocked)) !== null) {
    await context.report({
      kind: 'feed.blocked',
      ok: false,
      message: 'the site shows its block page',
      details: { url },
    });
    return true;
  }
  if ((await page.$(s.challenge)) !== null) {
    await context.report({
      kind: 'feed.challenge',
      ok: false,
      message: 'the site asks for a challenge',
      details: { url },
    });
    return true;
  }
  return false;
}

async function logIn(page: Page, username: string, password: string, s: SocialFeedSelectors): Promise<void> {
  await page.waitForSelector(s.loginUser, { timeout: NAVIGATION_TIMEOUT_MS });
  await fill(page, s.loginUser, username);
  await fill(page, s.loginPassword, password);
  const navigated = page.waitForNavigation(navigation).catch(() => null);
  await page.click(s.loginSubmit);
  await navigated;
}

async function fill(page: Page, selector: string, value: string): Promise<void> {
  await page.$eval(selector, (input: DomInput) => {
    input.value = '';
  });
  await page.type(selector, value);
}

type ActionResult = { ok: true } | { ok: false; reason: string };

async function likePost(context: RunContext, page: Page, postId: string): Promise<ActionResult | Aborted> {
  const s = context.config.selectors;
  const post = await findPost(page, s, postId);
  const button = await post?.$(s.like);
  if (!button) return { ok: false, reason: `post ${postId} or its like button is gone` };
  await button.click();
  const verified = await pollPost(context, page, postId, (state) => state.liked);
  if (verified === ABORTED) return ABORTED;
  return verified ? { ok: true } : { ok: false, reason: `post ${postId} does not show as liked` };
}

async function commentPost(
  context: RunContext,
  page: Page,
  postId: string,
  text: string,
): Promise<ActionResult | Aborted> {
  const s = context.config.selectors;
  const post = await findPost(page, s, postId);
  const box = await post?.$(s.commentBox);
  const submit = await post?.$(s.commentSubmit);
  if (!box || !submit) return { ok: false, reason: `post ${postId} or its comment form is gone` };
  await box.evaluate((input: DomInput) => {
    input.value = '';
  });
  await box.type(text);
  await submit.click();
  const expected = normaliseText(text);
  const verified = await pollPost(context, page, postId, (state) => state.comments.includes(expected));
  if (verified === ABORTED) return ABORTED;
  return verified ? { ok: true } : { ok: false, reason: `the comment does not show under post ${postId}` };
}

/** Re-reads the post until `done` holds (the page may be navigating meanwhile). */
async function pollPost(
  context: RunContext,
  page: Page,
  postId: string,
  done: (state: PostState) => boolean,
): Promise<boolean | Aborted> {
  const deadline = Date.now() + context.tuning.verifyTimeoutMs;
  for (;;) {
    const state = await readPosts(page, context.config.selectors).then(
      (posts) => posts.find((p) => p.id === postId),
      () => undefined,
    );
    if (state && done(state)) return true;
    if (Date.now() >= deadline) return false;
    if (!(await context.sleep(VERIFY_POLL_MS))) return ABORTED;
  }
}

/** What the behaviour reads of one post. */
interface PostState {
  id: string;
  canLike: boolean;
  liked: boolean;
  canComment: boolean;
  /** Texts of the post's comments, whitespace-normalised. */
  comments: string[];
}

/**
 * Minimal DOM shapes for code that runs in the page (the project compiles without the DOM lib).
 */
interface DomElement {
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  matches(selector: string): boolean;
  textContent: string | null;
}
interface DomInput {
  value: string;
}

async function readPosts(page: Page, s: SocialFeedSelectors): Promise<PostState[]> {
  const read = page.$$eval(
    s.post,
    (
      nodes: DomElement[],
      sel: Pick<SocialFeedSelectors, 'like' | 'liked' | 'commentBox' | 'commentSubmit' | 'comments'>,
    ) =>
      nodes.map((node, index) => {
        const like = node.querySelector(sel.like);
        const comments = Array.from(node.querySelectorAll(sel.comments), (c) =>
          (c.textContent ?? '').replace(/\s+/g, ' ').trim(),
        );
        return {
          id: node.getAttribute('data-id') ?? node.getAttribute('id') ?? `#${index + 1}`,
          canLike: like !== null,
          liked: like !== null && (like.matches(sel.liked) || node.querySelector(sel.liked) !== null),
          canComment: node.querySelector(sel.commentBox) !== null && node.querySelector(sel.commentSubmit) !== null,
          comments,
        };
      }),
    { like: s.like, liked: s.liked, commentBox: s.commentBox, commentSubmit: s.commentSubmit, comments: s.comments },
  );
  return withTimeout(read, READ_TIMEOUT_MS, 'reading the posts');
}

async function findPost(page: Page, s: SocialFeedSelectors, postId: string) {
  await page.waitForFunction('document.readyState !== "loading"', { timeout: READ_TIMEOUT_MS });
  const posts = await readPosts(page, s);
  const index = posts.findIndex((p) => p.id === postId);
  if (index < 0) return undefined;
  const handles = await page.$$(s.post);
  return handles[index];
}

function commentText(template: string, postId: string): string {
  return template.replaceAll('{postId}', postId);
}

function normaliseText(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function normalise(stored: Partial<SocialFeedDayCounts> | undefined): SocialFeedDayCounts {
  const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0);
  return { likes: count(stored?.likes), comments: count(stored?.comments) };
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}
