import { afterAll, beforeAll, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import fc from 'fast-check';
import {
  createTestVhost,
  describeUnless,
  eventually,
  http,
  runOnce,
  skipUnlessCi,
  startService,
  writeRunProfile,
  type RunProfileDir,
  type ServiceProcess,
  type TestVhost,
} from '@drover/testing';

const RABBITMQ_URL = process.env.RABBITMQ_URL;
const KEEPER = 'keeper';

/**
 * Raw AMQP messages no Drover publisher would send (not JSON, wrong types, megabytes, nested
 * thousands deep, prototype keys, no message id) reach the engine and the persistence agent as
 * separate processes: every one is dead-lettered with a reason, no process crashes, and the
 * agent they name (or another one) is unchanged.
 */
/** Printed, so a failing run can be repeated with FUZZ_SEED. */
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const skip = skipUnlessCi(!RABBITMQ_URL && 'RABBITMQ_URL is not set');

const text = (value: string) => Buffer.from(value);
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const deep = (open: string, close: string, depth: number) =>
  Buffer.from(`${open.repeat(depth)}{"field":"a","op":"eq","value":1}${close.repeat(depth)}`);

const hostileContent = fc.oneof(
  fc.constantFrom(
    text('not json'),
    text(''),
    text('{"a":'),
    text('null'),
    text('[]'),
    text('"\\ud800"'),
    Buffer.from([0xff, 0xfe, 0x00, 0x01]),
    json({ messageId: 1, type: 'agent.start', agentId: KEEPER, payload: 'x' }),
    json({ messageId: 'h-1', type: 'agent.start', agentId: KEEPER, payload: { behavior: 7 } }),
    json({ messageId: 'h-2', type: 'agent.stop', agentId: KEEPER, payload: { reason: 'r'.repeat(100_000) } }),
    text(
      `{"messageId":"h-3","type":"agent.start","agentId":"${KEEPER}","payload":{"__proto__":{"x":1},"behavior":"http-monitor"}}`,
    ),
    json({
      messageId: 'h-4',
      type: 'agent.start',
      agentId: KEEPER,
      payload: { behavior: 'http-monitor', config: { pad: 'x'.repeat(1_500_000) } },
    }),
    json({ op: 'find', collection: 'notes', filter: { field: 'constructor.prototype', op: 'eq', value: 1 } }),
    json({
      op: 'update',
      collection: 'agents',
      filter: { field: '_id', op: 'eq', value: KEEPER },
      update: { set: { status: 'running' } },
    }),
    json({ op: 'insert', collection: 'notes', document: { pad: 'x'.repeat(1_500_000) } }),
    deep('{"not":', '}', 100_000),
    deep('[', ']', 100_000),
  ),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.jsonValue({ maxDepth: 4 }).map((value) => json(value)),
);

const hostileMessage = fc.record({
  /** `<exchange> <routing key>` */
  target: fc.constantFrom(
    'drover.commands agent.start',
    'drover.commands agent.stop',
    'drover.commands agent.interrupt',
    'drover.persistence task',
  ),
  content: hostileContent,
  messageId: fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
  contentType: fc.option(fc.constantFrom('application/json', 'text/plain', 'application/octet-stream'), {
    nil: undefined,
  }),
});

describeUnless(skip, 'production mode: hostile messages on RabbitMQ', () => {
  let vhost: TestVhost;
  let env: Record<string, string>;
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-hostile-'));
  let profileDir: RunProfileDir | undefined;
  const running: ServiceProcess[] = [];
  let api: string;
  const view = async () => (await http(`${api}/agents/${KEEPER}`)).body;

  beforeAll(async () => {
    vhost = await createTestVhost(RABBITMQ_URL!, 'drover-hostile');
    profileDir = writeRunProfile({ name: 'hostile', gateway: { commandTimeoutMs: 3_000, queryTimeoutMs: 3_000 } });
    // Dead letters stay in their queues, where this test reads them (no dead-letter keeper).
    env = { RABBITMQ_URL: vhost.url, DROVER_DATA_DIR: dataDir, DROVER_DEAD_LETTER_KEEPER: 'false', ...profileDir.env };
    const bootstrap = await runOnce('bootstrap', env);
    assert.equal(bootstrap.code, 0, bootstrap.output);
    for (const name of ['persistence-agent', 'engine', 'gateway']) running.push(await startService(name, env));
    api = `${running.at(-1)!.url}/api`;
  });

  afterAll(async () => {
    for (const service of running) await service.stop('SIGKILL');
    await vhost?.delete();
    rmSync(dataDir, { recursive: true, force: true });
    profileDir?.remove();
  });

  it('dead-letters every one with a reason, keeps every process up and the agent unchanged', async () => {
    // No session agent and no scheduler run: the keeper, stopped while it waited for a session, stays
    // `stopping` (nobody confirms or times it out), so only a hostile message could move it.
    const started = await http(`${api}/agents`, {
      method: 'POST',
      body: { agentId: KEEPER, behavior: 'http-monitor', config: { url: 'http://127.0.0.1:9/', intervalMs: 1000 } },
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    await http(`${api}/agents/${KEEPER}`, { method: 'DELETE' });
    const before = await eventually('the keeper stopping', async () => {
      const current = await view();
      return current.status === 'stopping' ? current : undefined;
    });

    const connection = await amqp.connect(vhost.url);
    /** Messages published per queue that must dead-letter each of them. */
    const expected = new Map([
      ['engine.commands.dead', 0],
      ['persistence.tasks.dead', 0],
    ]);
    try {
      const channel = await connection.createConfirmChannel();
      await fc.assert(
        fc.asyncProperty(hostileMessage, async ({ target, content, messageId, contentType }) => {
          const [exchange, routingKey] = target.split(' ') as [string, string];
          channel.publish(exchange, routingKey, content, {
            persistent: true,
            ...(messageId !== undefined ? { messageId: messageId || randomUUID() } : {}),
            ...(contentType ? { contentType } : {}),
          });
          await channel.waitForConfirms();
          // A well-formed task on Drover's own collections is refused with a `forbidden` reply, not dead-lettered.
          const ownCollection = content.toString().startsWith('{"op":"update","collection":"agents"');
          if (exchange === 'drover.persistence' && ownCollection) return;
          const queue = exchange === 'drover.commands' ? 'engine.commands.dead' : 'persistence.tasks.dead';
          expected.set(queue, expected.get(queue)! + 1);
        }),
        { numRuns: Number(process.env.FUZZ_RUNS ?? 150), seed: SEED },
      );
    } finally {
      await connection.close();
    }

    // Every one comes out dead-lettered, each with the reason it was refused.
    const check = await amqp.connect(vhost.url);
    try {
      const channel = await check.createChannel();
      const dead = new Map<string, number>();
      await eventually(
        'every hostile message dead-lettered',
        async () => {
          for (const queue of expected.keys()) {
            for (let m = await channel.get(queue, { noAck: true }); m; m = await channel.get(queue, { noAck: true })) {
              dead.set(queue, (dead.get(queue) ?? 0) + 1);
              const reason = m.properties.headers?.['x-drover-death-reason'] as unknown;
              assert.ok(typeof reason === 'string' && reason.length > 0, `a dead letter in ${queue} without a reason`);
            }
          }
          if ([...expected].every(([queue, count]) => (dead.get(queue) ?? 0) >= count)) return true;
          throw new Error(
            `dead-lettered ${JSON.stringify([...dead])} of ${JSON.stringify([...expected])} (seed ${SEED})`,
          );
        },
        120_000,
      );
      expect(Object.fromEntries(dead)).toEqual(Object.fromEntries(expected));
    } finally {
      await check.close();
    }
    for (const service of running) {
      assert.equal(service.child.exitCode, null, `${service.name} exited:\n${service.output().slice(-3000)}`);
      expect(`${service.name} ${(await http(`${service.opsUrl}/ready`)).status}`).toBe(`${service.name} 200`);
    }

    expect(await view()).toEqual(before);
    const activities = (await http(`${api}/agents/${KEEPER}/activities?limit=1000`)).body.items as { kind: string }[];
    expect(activities.map((a) => a.kind)).not.toContain('agent.started');
  });
});
