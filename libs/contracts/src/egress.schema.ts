import { z } from 'zod';

/**
 * The address classes the egress policy refuses by default (docs/security.md, "Egress policy"). Each is
 * also an allow rule: a refusal names the class, and that word in an allow list lifts it.
 * `metadata` (169.254.169.254, fd00:ec2::254) is only lifted by its own word or its exact
 * address, never by `link-local` or `private` or a wider range.
 */
export const EGRESS_CATEGORIES = [
  'metadata',
  'loopback',
  'private',
  'link-local',
  'unspecified',
  'multicast',
  'broadcast',
  'reserved',
] as const;
export type EgressCategory = (typeof EGRESS_CATEGORIES)[number];

/** One allow rule, parsed: an address class, an address or range, or a host name; each optionally with a port. */
export type EgressRule =
  | { kind: 'category'; category: EgressCategory; port?: number; text: string }
  | { kind: 'address'; address: string; prefix: number; family: 'ipv4' | 'ipv6'; port?: number; text: string }
  | { kind: 'host'; host: string; port?: number; text: string };

const ipv4 = z.string().ip({ version: 'v4' });
const ipv6 = z.string().ip({ version: 'v6' });
const HOST_NAME = /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Parses one allow rule, or says why it is not one. Accepted:
 * `loopback` (an address class), `10.0.0.0/8`, `127.0.0.1`, `::1`, `fd00::/8`, `api.internal`,
 * `*.corp.example` (its sub-domains), each optionally with `:port` (IPv6 in brackets:
 * `[::1]:8080`, `[fd00::/8]:443`; a range with a port: `10.0.0.0/8:443`).
 */
export function parseEgressRule(text: string): EgressRule | string {
  const trimmed = text.trim().toLowerCase();
  let body = trimmed;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracketed) {
    body = bracketed[1]!;
    portText = bracketed[2];
    if (!body.includes(':')) return `"${text}": only IPv6 addresses go in brackets`;
  } else if ((trimmed.match(/:/g) ?? []).length === 1) {
    const at = trimmed.lastIndexOf(':');
    body = trimmed.slice(0, at);
    portText = trimmed.slice(at + 1);
    if (!/^\d+$/.test(portText)) return `"${text}": the port after ":" must be a number`;
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) return `"${text}": the port must be 1-65535`;
  }
  const withPort = port === undefined ? {} : { port };

  if ((EGRESS_CATEGORIES as readonly string[]).includes(body)) {
    return { kind: 'category', category: body as EgressCategory, ...withPort, text };
  }
  const [address = '', prefixText, extra] = body.split('/');
  if (extra !== undefined) return `"${text}" is not an address, a range or a host name`;
  const family = ipv4.safeParse(address).success ? 'ipv4' : ipv6.safeParse(address).success ? 'ipv6' : undefined;
  if (family) {
    const bits = family === 'ipv4' ? 32 : 128;
    const prefix = prefixText === undefined ? bits : Number(prefixText);
    if (prefixText !== undefined && !/^\d+$/.test(prefixText)) return `"${text}": the prefix length must be a number`;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
      return `"${text}": the prefix length must be 0-${bits} for an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} range`;
    }
    return { kind: 'address', address, prefix, family, ...withPort, text };
  }
  if (prefixText === undefined && HOST_NAME.test(body.replace(/\.$/, '')) && body.length <= 253) {
    return { kind: 'host', host: body.replace(/\.$/, ''), ...withPort, text };
  }
  return `"${text}" is not an address class (${EGRESS_CATEGORIES.join(', ')}), an address, a range or a host name`;
}

/** One allow rule as written in a run-profile or an `agent.start` payload (see `parseEgressRule`). */
export const EgressRuleText = z
  .string()
  .min(1)
  .max(300)
  .superRefine((text, ctx) => {
    const rule = parseEgressRule(text);
    if (typeof rule === 'string') ctx.addIssue({ code: z.ZodIssueCode.custom, message: rule });
  });

/**
 * An agent's own egress settings (`agent.start` payload `egress`): allow rules it needs on top
 * of the run-profile's. Each must lie within the profile's `egress.agentsMayAllow`, or the
 * session fails naming it; an agent can never lift what the operator did not delegate.
 */
export const AgentEgress = z
  .object({
    allow: z.array(EgressRuleText).max(100),
  })
  .strict();
export type AgentEgress = z.infer<typeof AgentEgress>;
