import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '@drover/runtime';
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
    assert.equal(config.feedPath, '/feed');
    assert.equal(config.loginPath, '/login');
    assert.equal(config.likesPerRun, 5);
    assert.equal(config.commentsPerRun, 1);
    assert.equal(config.likesPerDay, 50);
    assert.equal(config.commentsPerDay, 10);
    assert.deepEqual(config.delayMs, { min: 500, max: 1_500 });
    assert.equal(config.runEveryMs, 300_000);
    assert.match(config.commentTemplate, /\{postId\}/);
    assert.deepEqual(config.selectors, {
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
    assert.equal(config.selectors.post, 'div.card');
    assert.equal(config.selectors.liked, '[aria-pressed=true]');
    assert.equal(config.selectors.like, 'button.like');
    assert.equal(config.selectors.blocked, '#blocked');
  });

  it('requires the password (and the user name and base URL)', () => {
    const { password: _password, ...withoutPassword } = minimal;
    assert.deepEqual(fields(withoutPassword), ['config.password']);
    assert.deepEqual(fields({ ...minimal, password: '' }), ['config.password']);
    assert.deepEqual(fields({ password: 'x' }), ['config.baseUrl', 'config.username']);
  });

  it('names config.delayMs when min exceeds max, and accepts min == max', () => {
    assert.deepEqual(fields({ ...minimal, delayMs: { min: 2_000, max: 1_000 } }), ['config.delayMs']);
    assert.deepEqual(SocialFeedConfig.parse({ ...minimal, delayMs: { min: 10, max: 10 } }).delayMs, {
      min: 10,
      max: 10,
    });
  });

  it('rejects non-http URLs, relative paths, unknown keys, a too long template and a too short interval', () => {
    assert.deepEqual(fields({ ...minimal, baseUrl: 'ftp://feed.example.test' }), ['config.baseUrl']);
    assert.deepEqual(fields({ ...minimal, feedPath: 'feed' }), ['config.feedPath']);
    assert.deepEqual(fields({ ...minimal, colour: 'red' }), ['config']);
    assert.deepEqual(fields({ ...minimal, selectors: { button: 'x' } }), ['config.selectors']);
    assert.deepEqual(fields({ ...minimal, commentTemplate: 'x'.repeat(501) }), ['config.commentTemplate']);
    assert.deepEqual(fields({ ...minimal, runEveryMs: 999 }), ['config.runEveryMs']);
    assert.deepEqual(fields({ ...minimal, likesPerRun: -1, delayMs: { min: 1 } }), [
      'config.delayMs.max',
      'config.likesPerRun',
    ]);
  });

  it('is a browser behaviour named social-feed', () => {
    assert.equal(socialFeed.name, 'social-feed');
    assert.deepEqual(socialFeed.requires, ['browser']);
    assert.equal(socialFeed.configSchema, SocialFeedConfig);
  });

  it('fails at once without a browser', async () => {
    const controller = new AbortController();
    await assert.rejects(
      socialFeed.run({
        agentId: 'a-1',
        config: SocialFeedConfig.parse(minimal),
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
