import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fixture social site for the `social-feed` behaviour: plain HTML forms, no JavaScript. */
export interface FeedSiteOptions {
  /** Accounts by user name → password. Default: `{ alice: 'correct horse battery staple' }`. */
  users?: Record<string, string>;
  /** Number of posts on the feed (ids p1..pN). Default 8. */
  posts?: number;
  /** When true, like and comment submissions are accepted but not recorded (actions do not take effect). */
  ignoreActions?: boolean;
}

export interface FeedPost {
  id: string;
  text: string;
  /** User names that liked the post. */
  likes: Set<string>;
  comments: { user: string; text: string }[];
}

export interface FeedSiteState {
  posts: FeedPost[];
  /** Successful logins (each hands out a new session cookie). */
  logins: number;
  failedLogins: number;
  /** GET /feed requests, whatever the answer. */
  feedViews: number;
  /** Like and comment submissions received (recorded or not). */
  actionRequests: number;
  /** Post ids liked by `user`. */
  likedBy(user: string): string[];
  /** Comments written by `user`, with their post id. */
  commentsBy(user: string): { postId: string; text: string }[];
}

export interface FeedSite {
  url: string;
  state: FeedSiteState;
  /** While on, /feed answers 403 with `<h1 id="blocked">`. */
  block(on: boolean): void;
  /** While on, /feed shows a challenge form `<form id="challenge">` instead of the posts. */
  challenge(on: boolean): void;
  close(): Promise<void>;
}

export const DEFAULT_FEED_USERS: Readonly<Record<string, string>> = { alice: 'correct horse battery staple' };
const SESSION_COOKIE = 'feed_session';

export async function startFeedSite(options: FeedSiteOptions = {}): Promise<FeedSite> {
  const users = options.users ?? DEFAULT_FEED_USERS;
  const sessions = new Map<string, string>();
  let blocked = false;
  let challenged = false;
  const posts: FeedPost[] = Array.from({ length: options.posts ?? 8 }, (_, i) => ({
    id: `p${i + 1}`,
    text: `Post number ${i + 1} from the fixture feed.`,
    likes: new Set<string>(),
    comments: [],
  }));
  const state: FeedSiteState = {
    posts,
    logins: 0,
    failedLogins: 0,
    feedViews: 0,
    actionRequests: 0,
    likedBy: (user) => posts.filter((p) => p.likes.has(user)).map((p) => p.id),
    commentsBy: (user) =>
      posts.flatMap((p) => p.comments.filter((c) => c.user === user).map((c) => ({ postId: p.id, text: c.text }))),
  };

  const userOf = (req: IncomingMessage): string | undefined => {
    const token = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    return token === undefined ? undefined : sessions.get(token);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fixture.invalid');
    const method = req.method ?? 'GET';
    if (method === 'GET' && url.pathname === '/login') return html(res, 200, loginPage());
    if (method === 'POST' && url.pathname === '/login') {
      const form = new URLSearchParams(await readBody(req));
      const username = form.get('username') ?? '';
      const password = form.get('password') ?? '';
      if (Object.prototype.hasOwnProperty.call(users, username) && users[username] === password) {
        const token = randomBytes(16).toString('hex');
        sessions.set(token, username);
        state.logins += 1;
        res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${token}; HttpOnly; Path=/`);
        return redirect(res, '/feed');
      }
      state.failedLogins += 1;
      return html(res, 401, loginPage('Wrong user name or password.'));
    }
    if (method === 'GET' && (url.pathname === '/' || url.pathname === '/feed')) {
      state.feedViews += 1;
      const user = userOf(req);
      if (!user) return redirect(res, '/login');
      if (blocked) return html(res, 403, page('Blocked', '<h1 id="blocked">Your account is temporarily blocked</h1>'));
      if (challenged) return html(res, 200, challengePage());
      return html(res, 200, feedPage(posts, user));
    }
    const action = /^\/posts\/([^/]+)\/(like|comments)$/.exec(url.pathname);
    if (method === 'POST' && action) {
      const user = userOf(req);
      if (!user) return redirect(res, '/login');
      const post = posts.find((p) => p.id === decodeURIComponent(action[1] ?? ''));
      if (!post) return html(res, 404, page('Not found', '<h1>No such post</h1>'));
      const form = new URLSearchParams(await readBody(req));
      state.actionRequests += 1;
      if (!options.ignoreActions && !blocked && !challenged) {
        if (action[2] === 'like') post.likes.add(user);
        else {
          const text = (form.get('text') ?? '').trim();
          if (text) post.comments.push({ user, text });
        }
      }
      return redirect(res, `/feed#${post.id}`);
    }
    return html(res, 404, page('Not found', '<h1>Not found</h1>'));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) html(res, 500, page('Error', `<pre>${escapeHtml(String(error))}</pre>`));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    block: (on) => void (blocked = on),
    challenge: (on) => void (challenged = on),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function loginPage(error?: string): string {
  return page(
    'Log in',
    `<h1>Log in</h1>
${error ? `<p class="login-error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/login">
  <label>User <input id="username" name="username" autocomplete="username"></label>
  <label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
  <button id="login" type="submit">Log in</button>
</form>`,
  );
}

function challengePage(): string {
  return page(
    'Check',
    `<h1>Are you a human?</h1>
<form id="challenge" method="post" action="/challenge"><input name="answer"><button type="submit">Send</button></form>`,
  );
}

function feedPage(posts: FeedPost[], user: string): string {
  const articles = posts.map((post) => {
    const liked = post.likes.has(user);
    const comments = post.comments.map((c) => `<li>${escapeHtml(c.text)}</li>`).join('');
    const id = escapeHtml(post.id);
    return `<article class="post" id="${id}" data-id="${id}">
  <p class="text">${escapeHtml(post.text)}</p>
  <form method="post" action="/posts/${id}/like">
    <button class="${liked ? 'like liked' : 'like'}" type="submit">${liked ? 'Liked' : 'Like'} (${post.likes.size})</button>
  </form>
  <ul class="comments">${comments}</ul>
  <form method="post" action="/posts/${id}/comments">
    <textarea class="comment" name="text"></textarea>
    <button class="comment-submit" type="submit">Comment</button>
  </form>
</article>`;
  });
  return page('Feed', `<h1>Feed of ${escapeHtml(user)}</h1>\n${articles.join('\n')}`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>${body}</body></html>`;
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { Location: location, 'Cache-Control': 'no-store' });
  res.end();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0) cookies[part.slice(0, index).trim()] = part.slice(index + 1).trim();
  }
  return cookies;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}
