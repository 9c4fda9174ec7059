import { createServer } from 'node:net';

/**
 * A port nothing listens on (taken from the system, then released). Not a fixed low port:
 * fetch refuses "bad ports" such as 1 or 9 before connecting, which is not what an unreachable
 * gateway looks like.
 */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}
