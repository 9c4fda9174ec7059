import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { EgressPolicy, silentLogger } from '@drover/runtime';
import { SocialFeedConfig } from './social-feed.schema';
import { socialFeed } from './social-feed.behavior';

const minimal = { baseUrl: 'https://feed.example.test', username: 'alice', password: 'hunter2!' };

/** Field paths as the engine names them (`config.<path>`). */
function fields(input: unknown): string[] {
  const parsed = SocialFeedConfig.safeParse(input);
  assert.equal(parsed.success, false, 'expected the config to be rejected');
  return parsed.success ? [] : parsed.error.issues.map((issue) => ['config', ...issue.path].join('.')).sort();
}

describe('social-feed config', () => {
  it('applies the defaults to a minimal config', () => {
    const config = SocialFeedConfig.parse(minimal);
    expect(config.feedPath).toBe('/feed');
    expect(config.loginPath).toBe('/login');
    expect(config.likesPerRun).toBe(5);
    expect(config.commentsPerRun).toBe(1);
    expect(config.likesPerDay).toBe(50);
    expect(config.commentsPerDay).toBe(10);
    expect(config.delayMs).toEqual({ min: 500, max: 1_500 });
    expect(config.runEveryMs).toBe(300_000);
    expect(config.commentTemplate).toMatch(/\{postId\}/);
    expect(config.selectors).toEqual({
      post: 'article.post',
      like: 'button.like',
      liked: '.liked',
      commentBox: 'textarea.comment',
      commentSubmit: 'button.comment-submit',
      comments: '.comments li',
      loginUser: '#username',
      loginPassword: '#password',
      loginSubmit: 'button#login',
      blocked: '#blocked',
      challenge: '#challenge',
    });
  });

  it('keeps the other default selectors when some are overridden', () => {
    const config = SocialFeedConfig.parse({
      ...minimal,
      selectors: { post: 'div.card', liked: '[aria-pressed=true]' },
    });
    expect(config.selectors.post).toBe('div.card');
    expect(config.selectors.liked).toBe('[aria-pressed=true]');
    expect(config.selectors.like).toBe('button.like');
    expect(config.selectors.blocked).toBe('#blocked');
  });

  it('requires the password (and the user name and base URL)', () => {
    const { password: _password, ...withoutPassword } = minimal;
    expect(fields(withoutPassword)).toEqual(['config.password']);
    expect(fields({ ...minimal, password: '' })).toEqual(['config.password']);
    expect(fields({ password: 'x' })).toEqual(['config.baseUrl', 'config.username']);
  });

  it('names config.delayMs when min exceeds max, and accepts min == max', () => {
    expect(fields({ ...minimal, delayMs: { min: 2_000, max: 1_000 } })).toEqual(['config.delayMs']);
    expect(SocialFeedConfig.parse({ ...minimal, delayMs: { min: 10, max: 10 } }).delayMs).toEqual({
      min: 10,
      max: 10,
    });
  });

  it('rejects non-http URLs, relative paths, unknown keys, a too long template and a too short interval', () => {
    expect(fields({ ...minimal, baseUrl: 'ftp://feed.example.test' })).toEqual(['config.baseUrl']);
    expect(fields({ ...minimal, feedPath: 'feed' })).toEqual(['config.feedPath']);
    expect(fields({ ...minimal, colour: 'red' })).toEqual(['config']);
    expect(fields({ ...minimal, selectors: { button: 'x' } })).toEqual(['config.selectors']);
    expect(fields({ ...minimal, commentTemplate: 'x'.repeat(501) })).toEqual(['config.commentTemplate']);
    expect(fields({ ...minimal, runEveryMs: 999 })).toEqual(['config.runEveryMs']);
    expect(fields({ ...minimal, likesPerRun: -1, delayMs: { min: 1 } })).toEqual([
      'config.delayMs.max',
      'config.likesPerRun',
    ]);
  });

  it('is a browser behaviour named social-feed', () => {
    expect(socialFeed.name).toBe('social-feed');
    expect(socialFeed.requires).toEqual(['browser']);
    expect(socialFeed.configSchema).toBe(SocialFeedConfig);
  });

  it('fails at once without a browser', async () => {
    const controller = new AbortController();
    await assert.rejects(
      socialFeed.run({
        agentId: 'a-1',
        config: SocialFeedConfig.parse(minimal),
        egress: EgressPolicy.fromRules([]),
        signal: controller.signal,
        report: async () => undefined,
        sleep: async () => true,
        logger: silentLogger(),
        capabilities: {},
      }),
      /needs a browser/,
    );
  });
});
