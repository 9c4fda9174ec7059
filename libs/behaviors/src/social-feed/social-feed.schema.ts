import { z } from 'zod';
import { secret } from '../secret-fields';

/** CSS selectors the behaviour looks for; each can be overridden for a differently built site. */
export const SocialFeedSelectors = z
  .object({
    /** One post; its `data-id` (or `id`) names the post in activities. */
    post: z.string().min(1).max(200).default('article.post'),
    /** The like button inside a post. */
    like: z.string().min(1).max(200).default('button.like'),
    /** Marker of a liked post: the like button matches it, or an element inside the post does. */
    liked: z.string().min(1).max(200).default('.liked'),
    commentBox: z.string().min(1).max(200).default('textarea.comment'),
    commentSubmit: z.string().min(1).max(200).default('button.comment-submit'),
    /** One comment inside a post. */
    comments: z.string().min(1).max(200).default('.comments li'),
    loginUser: z.string().min(1).max(200).default('#username'),
    loginPassword: z.string().min(1).max(200).default('#password'),
    loginSubmit: z.string().min(1).max(200).default('button#login'),
    /** Present on the site's block page: the run stops. */
    blocked: z.string().min(1).max(200).default('#blocked'),
    /** Present on a challenge (captcha...) page: the run stops. */
    challenge: z.string().min(1).max(200).default('#challenge'),
  })
  .strict();
export type SocialFeedSelectors = z.infer<typeof SocialFeedSelectors>;

const path = (fallback: string) =>
  z.string().max(500).regex(/^\//, 'must be a path starting with "/"').default(fallback);

const count = (max: number, fallback: number) => z.number().int().min(0).max(max).default(fallback);

export const SocialFeedConfig = z
  .object({
    baseUrl: z
      .string()
      .url()
      .refine((url) => /^https?:\/\//i.test(url), 'only http and https sites are supported'),
    username: z.string().min(1).max(200),
    /** Secret: sealed where the command enters Drover; only the session agent running it opens it. */
    password: secret(z.string().min(1).max(500)),
    feedPath: path('/feed'),
    loginPath: path('/login'),
    selectors: SocialFeedSelectors.default({}),
    /** Text of each comment; `{postId}` is replaced by the post's id. */
    commentTemplate: z.string().min(1).max(500).default('Nice post ({postId})'),
    likesPerRun: count(1_000, 5),
    commentsPerRun: count(1_000, 1),
    likesPerDay: count(100_000, 50),
    commentsPerDay: count(100_000, 10),
    /** Random pause between two actions, uniformly drawn in [min, max]. */
    delayMs: z
      .object({
        min: z.number().int().min(0).max(3_600_000),
        max: z.number().int().min(0).max(3_600_000),
      })
      .strict()
      .refine((delay) => delay.min <= delay.max, 'min must not exceed max')
      .default({ min: 500, max: 1_500 }),
    /** Pause between two runs over the feed. */
    runEveryMs: z.number().int().min(1_000).max(86_400_000).default(300_000),
  })
  .strict();
export type SocialFeedConfig = z.infer<typeof SocialFeedConfig>;
/** The config as an operator writes it (defaults not yet applied). */
export type SocialFeedConfigInput = z.input<typeof SocialFeedConfig>;
