import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { tcpRelay, type TcpRelay } from './tcp-relay';

/** Sends `text` through the relay and resolves with the echo, or with the error that closed the socket. */
async function roundTrip(port: number, text: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received === text) {
        socket.end();
        resolve(received);
      }
    });
    socket.on('error', (error) => resolve(`error: ${error.message}`));
    socket.on('close', () => resolve(received === text ? received : 'closed'));
    socket.write(text);
  });
}

describe('tcpRelay', () => {
  let echo: Server;
  let relay: TcpRelay;
  beforeAll(async () => {
    echo = createServer((socket) => socket.pipe(socket));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    relay = await tcpRelay((echo.address() as { port: number }).port);
  });
  afterAll(async () => {
    await relay.close();
    echo.close();
  });

  it('relays, closes open connections and refuses new ones while cut, then relays again', async () => {
    expect(await roundTrip(relay.port, 'hello')).toBe('hello');
    const open = connect(relay.port, '127.0.0.1');
    await once(open, 'connect');
    await new Promise((resolve) => setTimeout(resolve, 20)); // the relay has paired it upstream
    const closed = once(open, 'close');
    relay.cut();
    expect(relay.isCut).toBe(true);
    await closed;
    expect(await roundTrip(relay.port, 'nobody')).not.toBe('nobody');
    relay.restore();
    expect(await roundTrip(relay.port, 'again')).toBe('again');
  });
});
