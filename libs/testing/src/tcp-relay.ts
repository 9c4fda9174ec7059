import { createServer, connect, type Socket } from 'node:net';

/** A TCP relay a test can cut, to partition one process from a server (a broker, say). */
export interface TcpRelay {
  /** The local port to connect to instead of the target's. */
  port: number;
  /** Destroys every relayed connection and refuses new ones until `restore`. */
  cut(): void;
  restore(): void;
  /** Whether the relay is cut. */
  readonly isCut: boolean;
  close(): Promise<void>;
}

/**
 * Relays connections on a free loopback port to `targetHost:targetPort`. A cut behaves like a
 * network partition the peers notice at once (their sockets close, reconnects are refused), so a
 * test measures what the partitioned process does, not how long TCP takes to notice.
 */
export async function tcpRelay(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  let cut = false;
  const server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    const pair = [client, upstream];
    for (const socket of pair) sockets.add(socket);
    const end = () => {
      for (const socket of pair) {
        socket.destroy();
        sockets.delete(socket);
      }
    };
    for (const socket of pair) {
      socket.on('error', end);
      socket.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('relay has no TCP address');
  return {
    port: address.port,
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    restore() {
      cut = false;
    },
    get isCut() {
      return cut;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
