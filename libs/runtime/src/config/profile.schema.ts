import { z } from 'zod';
import { StartAgentPayload, AgentId, EgressRuleText } from '@drover/contracts';

const SEVEN_DAYS_MS = 7 * 24 * 60 * 60 * 1_000;

/** How long one log of the read side keeps an entry, and how many it keeps per agent. */
const logRetention = z
  .object({
    maxAgeMs: z.number().int().min(1_000).nullable().default(SEVEN_DAYS_MS),
    maxPerAgent: z.number().int().min(1).nullable().default(10_000),
  })
  .strict()
  .default({});

/**
 * A run-profile: the settings of one way of running Drover (`run-profiles/<name>/profile.json`).
 * Environment variables override the matching profile values (see `env.schema.ts`).
 */
export const ProfileSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    sessionAgent: z
      .object({
        maxConcurrentAgents: z.number().int().min(1).max(1000).default(10),
        heartbeatMs: z.number().int().min(100).default(2_000),
        leaseMs: z.number().int().min(500).default(10_000),
      })
      .strict()
      .default({}),
    /**
     * The engine's per-agent lease: held while one message of the agent is processed, renewed
     * every third of it meanwhile. An engine that stalls longer loses the agent to another.
     */
    engine: z
      .object({
        leaseMs: z.number().int().min(100).default(10_000),
      })
      .strict()
      .default({}),
    recovery: z
      .object({
        onInterrupt: z.enum(['restart', 'stop']).default('restart'),
        maxAttempts: z.number().int().min(1).max(100).default(3),
        backoffInitialMs: z.number().int().min(0).default(1_000),
        backoffMaxMs: z.number().int().min(0).default(30_000),
      })
      .strict()
      .default({}),
    gateway: z
      .object({
        commandTimeoutMs: z.number().int().min(10).default(2_000),
        queryTimeoutMs: z.number().int().min(10).default(2_000),
      })
      .strict()
      .default({}),
    scheduler: z
      .object({
        tickMs: z.number().int().min(50).default(1_000),
        startTimeoutMs: z.number().int().min(1_000).default(60_000),
        /** With rotation on, an agent that ran `sliceMs` while others wait for a slot yields it. */
        rotation: z
          .object({
            enabled: z.boolean().default(false),
            sliceMs: z.number().int().min(1_000).default(600_000),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
    /**
     * How much history the read side and the broker keep (docs/operations.md, "Retention"). The persistence
     * agent prunes activities and the command log by age and by count per agent; bootstrap bounds
     * the broker's dead-letter queues with a policy (the standalone's in-memory bus, itself).
     * `null` turns a limit off.
     */
    retention: z
      .object({
        activities: logRetention,
        commands: logRetention,
        /** The live feed (`GET /api/events`): how far back a client can resume with `Last-Event-ID`. */
        feed: logRetention,
        deadLetters: z
          .object({
            maxAgeMs: z.number().int().min(1_000).nullable().default(SEVEN_DAYS_MS),
            maxLength: z.number().int().min(1).nullable().default(10_000),
          })
          .strict()
          .default({}),
        /** The pause between the end of one sweep and the start of the next. */
        sweepIntervalMs: z.number().int().min(1_000).default(60_000),
        /** Most documents one delete removes (and one read returns). */
        batchSize: z.number().int().min(1).max(5_000).default(200),
        /** Most batches (a bounded read, and a delete when it found something) one sweep runs. */
        batchesPerSweep: z.number().int().min(1).default(500),
      })
      .strict()
      .default({}),
    /**
     * Where agents may connect (docs/security.md, "Egress policy"). Loopback, private, link-local,
     * metadata, unspecified, multicast, broadcast and reserved addresses are refused unless
     * `allow` lifts them for every agent; `agentsMayAllow` bounds what an agent's own
     * `egress.allow` (in its `agent.start`) may add.
     */
    egress: z
      .object({
        allow: z.array(EgressRuleText).max(500).default([]),
        agentsMayAllow: z.array(EgressRuleText).max(500).default([]),
      })
      .strict()
      .default({}),
    /** Agents the profile declares; bootstrap registers them as `agent.start` commands. */
    agents: z.array(z.object({ agentId: AgentId }).merge(StartAgentPayload).strict()).default([]),
  })
  .strict();
export type Profile = z.infer<typeof ProfileSchema>;
export type Retention = Profile['retention'];
