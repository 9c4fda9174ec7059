import { randomUUID } from 'node:crypto';

const MANAGEMENT = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://127.0.0.1:15672';
const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

/** A throw-away RabbitMQ virtual host, so a test's exchanges and queues never meet another's. */
export interface TestVhost {
  name: string;
  url: string;
  delete(): Promise<void>;
}

async function management(method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(`${MANAGEMENT}/api${path}`, {
    method,
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok && response.status !== 404) {
    throw new Error(`RabbitMQ management ${method} ${path}: ${response.status} ${await response.text()}`);
  }
  return response;
}

/** Creates a vhost under `baseUrl`'s broker (needs the management plugin on 15672). */
export async function createTestVhost(baseUrl: string, prefix = 'drover-test'): Promise<TestVhost> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  await management('PUT', `/vhosts/${name}`);
  await management('PUT', `/permissions/${name}/guest`, { configure: '.*', write: '.*', read: '.*' });
  const url = `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(name)}`;
  return { name, url, delete: async () => void (await management('DELETE', `/vhosts/${name}`)) };
}

/** Queue depth and consumers as the management UI shows them. */
export async function managementQueue(vhost: string, queue: string): Promise<{ messages: number; consumers: number }> {
  const response = await management('GET', `/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`);
  if (response.status === 404) throw new Error(`queue ${queue} not found in ${vhost}`);
  return (await response.json()) as { messages: number; consumers: number };
}

/** Drops every client connection to the vhost, as a broker restart or a network cut would. */
export async function closeConnections(vhost: string): Promise<number> {
  const response = await management('GET', `/vhosts/${encodeURIComponent(vhost)}/connections`);
  const connections = (await response.json()) as { name: string }[];
  for (const connection of connections) {
    await management('DELETE', `/connections/${encodeURIComponent(connection.name)}`);
  }
  return connections.length;
}

/**
 * Every message of every queue of the vhost, as the management UI's "Get messages" shows them
 * (body and properties as text), taken with requeue so the queues are left as they were.
 */
export async function managementMessages(vhost: string): Promise<{ queue: string; text: string }[]> {
  const response = await management('GET', `/queues/${encodeURIComponent(vhost)}`);
  const queues = (await response.json()) as { name: string; messages?: number }[];
  const found: { queue: string; text: string }[] = [];
  for (const queue of queues) {
    if (!queue.messages) continue;
    const got = await management('POST', `/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue.name)}/get`, {
      count: queue.messages,
      ackmode: 'ack_requeue_true',
      encoding: 'auto',
      truncate: 1_000_000,
    });
    for (const message of (await got.json()) as unknown[])
      found.push({ queue: queue.name, text: JSON.stringify(message) });
  }
  return found;
}
