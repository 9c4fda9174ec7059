import { afterAll, beforeAll, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createTestVhost,
  describeUnless,
  eventually,
  http,
  runOnce,
  skipUnlessCi,
  startService,
  writeRunProfile,
  tcpRelay,
  type RunProfileDir,
  type ServiceProcess,
  type TcpRelay,
  type TestVhost,
} from '@drover/testing';

const RABBITMQ_URL = process.env.RABBITMQ_URL;
const HEARTBEAT_MS = 500;
const LEASE_MS = 4_000;
/** The scheduler's margin for these settings: max(2 × 500 ms, 4 s / 4) = 1 s. */
const MARGIN_MS = 1_000;
const CHECK_EVERY_MS = 100;
/** How late a timer may fire on the loaded 2-core test machine (six services and the test). */
const TIMER_SLACK_MS = 250;

/**
 * The process that holds the client end of a loopback connection to `serverPort` from
 * `clientPort`, among `pids`: found through /proc (the socket's inode in /proc/net/tcp, then
 * the process whose file descriptors hold it). It tells the two session agents' requests apart
 * at the monitored server, a witness neither session agent controls.
 */
function ownerOf(clientPort: number, serverPort: number, pids: Map<number, string>): string {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  const line = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((row) => row.trim().split(/\s+/))
    .find((cols) => cols[1]?.endsWith(`:${hex(clientPort)}`) && cols[2]?.endsWith(`:${hex(serverPort)}`));
  const inode = line?.[9];
  if (!inode) return 'unknown';
  for (const [pid, name] of pids) {
    const fds = (() => {
      try {
        return readdirSync(`/proc/${pid}/fd`);
      } catch {
        return [];
      }
    })();
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return name;
      } catch {
        // the descriptor closed meanwhile
      }
    }
  }
  return 'unknown';
}

/** Each request the monitored server received: when, for which agent, from which session agent. */
interface Hit {
  at: number;
  agentId: string;
  from: string;
}

/** One pino line of a service's output. */
interface LogLine {
  time: number;
  msg: string;
  [field: string]: unknown;
}
const logLines = (service: ServiceProcess): LogLine[] =>
  service
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

const skip = skipUnlessCi(!RABBITMQ_URL && 'RABBITMQ_URL is not set');

describeUnless(skip, 'a partitioned session agent fences itself before its agents run elsewhere', () => {
  let vhost: TestVhost;
  let env: Record<string, string>;
  let relay: TcpRelay;
  let target: Server;
  let targetPort: number;
  let api: string;
  const hits: Hit[] = [];
  const sessionAgents = new Map<number, string>();
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-fence-'));
  let profileDir: RunProfileDir | undefined;
  const running = new Set<ServiceProcess>();
  let a: ServiceProcess;
  let b: ServiceProcess;

  const start = async (name: string, extra: Record<string, string> = {}) => {
    const service = await startService(name, { ...env, ...extra });
    running.add(service);
    return service;
  };
  const view = async (agentId: string) => (await http(`${api}/agents/${agentId}`)).body;
  const startAgent = async (agentId: string) => {
    const response = await http(`${api}/agents`, {
      method: 'POST',
      body: {
        agentId,
        behavior: 'http-monitor',
        config: { url: `http://127.0.0.1:${targetPort}/${agentId}`, intervalMs: CHECK_EVERY_MS },
      },
    });
    assert.equal(response.status, 202, JSON.stringify(response.body));
  };
  const runningOn = (agentId: string, instanceId: string, timeoutMs = 30_000) =>
    eventually(
      `${agentId} running on ${instanceId}`,
      async () => {
        const v = await view(agentId);
        return v.status === 'running' && v.instanceId === instanceId ? v : undefined;
      },
      timeoutMs,
    );

  beforeAll(async () => {
    vhost = await createTestVhost(RABBITMQ_URL!);
    const broker = new URL(vhost.url);
    relay = await tcpRelay(Number(broker.port || 5672), broker.hostname);
    const relayed = new URL(vhost.url);
    relayed.port = String(relay.port);

    // The monitored server: records who asks for which agent, on the test's own clock.
    const owners = new WeakMap<Socket, string>();
    target = createServer((request, response) => {
      const socket = request.socket;
      let from = owners.get(socket);
      if (!from) {
        from = ownerOf(socket.remotePort!, targetPort, sessionAgents);
        owners.set(socket, from);
      }
      hits.push({ at: Date.now(), agentId: (request.url ?? '/').slice(1), from });
      response.end('ok');
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetPort = (target.address() as { port: number }).port;
    const profile = {
      name: 'fence',
      // Its agents aim at servers on 127.0.0.1 (docs/security.md, "Egress policy").
      egress: { allow: ['loopback'] },
      sessionAgent: { maxConcurrentAgents: 8, heartbeatMs: HEARTBEAT_MS, leaseMs: LEASE_MS },
      recovery: { onInterrupt: 'restart', maxAttempts: 5, backoffInitialMs: 200, backoffMaxMs: 1_000 },
      gateway: { commandTimeoutMs: 3_000, queryTimeoutMs: 3_000 },
      scheduler: { tickMs: 200, startTimeoutMs: 20_000 },
      agents: [],
    };
    profileDir = writeRunProfile(profile);
    env = {
      RABBITMQ_URL: vhost.url,
      DROVER_DATA_DIR: dataDir,
      ...profileDir.env,
    };
    const bootstrap = await runOnce('bootstrap', env);
    assert.equal(bootstrap.code, 0, bootstrap.output);
    await start('persistence-agent');
    await start('engine');
    await start('scheduler');
    api = `${(await start('gateway')).url}/api`;
    a = await start('session-agent', { SESSION_AGENT_ID: 'sa-a', RABBITMQ_URL: relayed.toString() });
    sessionAgents.set(a.child.pid!, 'sa-a');
  });

  afterAll(async () => {
    for (const service of running) await service.stop('SIGKILL');
    await relay?.close();
    target?.close();
    await vhost?.delete();
    rmSync(dataDir, { recursive: true, force: true });
    profileDir?.remove();
  });

  const FIRST = ['p-1', 'p-2', 'p-3', 'p-4'];
  const LATER = ['q-1', 'q-2', 'q-3', 'q-4'];

  it('cut off, A aborts its sessions within the lease; only then do they run on B; restored, A rejoins empty and takes new work', async () => {
    // Four agents on A (the only session agent yet), each checking the target every 100 ms.
    for (const agentId of FIRST) await startAgent(agentId);
    for (const agentId of FIRST) await runningOn(agentId, 'sa-a');
    // B has room for exactly these four, so later work can only land on A.
    b = await start('session-agent', { SESSION_AGENT_ID: 'sa-b', MAX_CONCURRENT_AGENTS: String(FIRST.length) });
    sessionAgents.set(b.child.pid!, 'sa-b');
    await eventually('A reaching the target for every agent', async () =>
      FIRST.every((id) => hits.some((h) => h.agentId === id && h.from === 'sa-a')) ? true : undefined,
    );

    const cutAt = Date.now();
    relay.cut();

    // A notices within the lease, on its own, with no broker to tell it.
    const fence = await eventually(
      'A to fence itself',
      async () => logLines(a).find((l) => l.msg.includes('self-fenced')),
      LEASE_MS + 3_000,
    );
    const fencedAfterMs = fence.time - cutAt;
    // Its deadline is at most a lease after the cut; a loaded machine may run the timer late.
    expect(fencedAfterMs).toBeLessThanOrEqual(LEASE_MS + TIMER_SLACK_MS);
    expect([...(fence.aborted as string[])].sort()).toEqual(FIRST.map((id) => `${id}#1`));

    // The agents are restarted on B, as the next attempt.
    for (const agentId of FIRST) {
      const moved = await runningOn(agentId, 'sa-b', 30_000);
      expect(moved.attempts).toBe(2);
    }
    const startedOnB = logLines(b).filter((l) => l.msg === 'session started' && FIRST.includes(l.agentId as string));
    const firstOnB = Math.min(...startedOnB.map((l) => l.time));
    expect(firstOnB).toBeGreaterThan(fence.time);

    // The witness: for each agent, A's last request precedes B's first.
    for (const agentId of FIRST) {
      const fromA = hits.filter((h) => h.agentId === agentId && h.from === 'sa-a').map((h) => h.at);
      const fromB = hits.filter((h) => h.agentId === agentId && h.from === 'sa-b').map((h) => h.at);
      expect(fromB.length).toBeGreaterThan(0);
      expect(Math.max(...fromA)).toBeLessThan(Math.min(...fromB));
      expect(Math.max(...fromA)).toBeLessThanOrEqual(fence.time + 50);
    }

    // The broker is reachable again: A rejoins with no session and takes new work.
    const restoredAt = Date.now();
    relay.restore();
    await eventually(
      'A to rejoin',
      async () => logLines(a).find((l) => l.msg === 'session agent rejoined' && l.time >= restoredAt),
      20_000,
    );
    for (const agentId of LATER) await startAgent(agentId);
    for (const agentId of LATER) await runningOn(agentId, 'sa-a', 40_000);
    await sleep(1_000);

    // A never acted for the first agents again; no agent was ever served by both at once.
    for (const agentId of FIRST) {
      expect(hits.filter((h) => h.agentId === agentId && h.from === 'sa-a' && h.at > fence.time + 50)).toEqual([]);
    }
    for (const agentId of [...FIRST, ...LATER]) {
      const froms = hits.filter((h) => h.agentId === agentId).map((h) => h.from);
      expect(froms).not.toContain('unknown');
      // One switch at most, from A to B: never back and forth.
      const switches = froms.filter((from, i) => i > 0 && from !== froms[i - 1]).length;
      expect(switches).toBeLessThanOrEqual(1);
    }
    const aborted = logLines(a).filter((l) => l.msg.includes('self-fenced'));
    expect(aborted).toHaveLength(1);
    // Figures for the docs.
    const rejoined = logLines(a).find((l) => l.msg === 'session agent rejoined' && l.time >= restoredAt)!;
    console.log(
      `self-fence: fenced ${fencedAfterMs} ms after the cut (lease ${LEASE_MS} ms, margin ${MARGIN_MS} ms); ` +
        `first session on B ${firstOnB - fence.time} ms after the fence; rejoined ${rejoined.time - restoredAt} ms after the restore`,
    );
  });
});
