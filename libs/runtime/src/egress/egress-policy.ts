import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { EGRESS_CATEGORIES, parseEgressRule, type EgressCategory, type EgressRule } from '@drover/contracts';

type Family = 'ipv4' | 'ipv6';

/**
 * The ranges of each address class an agent may not reach by default, checked in this order
 * (so the metadata addresses are named as such before the wider classes that hold them).
 * `net.BlockList` also matches the IPv4-mapped IPv6 form (`::ffff:127.0.0.1`) of an IPv4 range.
 */
const CATEGORY_RANGES: Record<EgressCategory, readonly (readonly [string, number, Family])[]> = {
  metadata: [
    ['169.254.169.254', 32, 'ipv4'],
    ['fd00:ec2::254', 128, 'ipv6'],
  ],
  loopback: [
    ['127.0.0.0', 8, 'ipv4'],
    ['::1', 128, 'ipv6'],
  ],
  private: [
    ['10.0.0.0', 8, 'ipv4'],
    ['172.16.0.0', 12, 'ipv4'],
    ['192.168.0.0', 16, 'ipv4'],
    // Carrier-grade NAT space: a provider's internal network.
    ['100.64.0.0', 10, 'ipv4'],
    ['fc00::', 7, 'ipv6'],
  ],
  'link-local': [
    ['169.254.0.0', 16, 'ipv4'],
    ['fe80::', 10, 'ipv6'],
  ],
  unspecified: [
    ['0.0.0.0', 8, 'ipv4'],
    ['::', 128, 'ipv6'],
  ],
  multicast: [
    ['224.0.0.0', 4, 'ipv4'],
    ['ff00::', 8, 'ipv6'],
  ],
  broadcast: [['255.255.255.255', 32, 'ipv4']],
  reserved: [['240.0.0.0', 4, 'ipv4']],
};

const CATEGORY_LISTS = new Map<EgressCategory, BlockList>(
  EGRESS_CATEGORIES.map((category) => {
    const list = new BlockList();
    for (const [address, prefix, family] of CATEGORY_RANGES[category]) list.addSubnet(address, prefix, family);
    return [category, list];
  }),
);

function familyOf(address: string): Family {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

/** The class an address is refused as by default, or undefined for a public address. */
export function classifyAddress(address: string): EgressCategory | undefined {
  const family = familyOf(address);
  return EGRESS_CATEGORIES.find((category) => CATEGORY_LISTS.get(category)!.check(address, family));
}

/** How a refusal describes the class: the metadata addresses also say which wider class holds them. */
function describeCategory(address: string, category: EgressCategory): string {
  if (category !== 'metadata') return category;
  const family = familyOf(address);
  const wider = EGRESS_CATEGORIES.find(
    (other) => other !== 'metadata' && CATEGORY_LISTS.get(other)!.check(address, family),
  );
  return `${wider ?? 'internal'} (metadata)`;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:7f00:1` or `::ffff:127.0.0.1`), for messages. */
function mappedIpv4(address: string): string | undefined {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** The target of a request that the policy refused; `message` is `egress refused: <reason>`. */
export class EgressRefusedError extends Error {
  override readonly name = 'EgressRefusedError';
  constructor(readonly reason: string) {
    super(`egress refused: ${reason}`);
  }
}

export type EgressDecision = { allowed: true; addresses: LookupAddress[] } | { allowed: false; reason: string };

export type ResolveHost = (host: string) => Promise<LookupAddress[]>;

const systemResolve: ResolveHost = (host) =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))),
  );

/** URL schemes an agent may load: everything else (`file:`, `chrome:`, `data:`, ...) is refused. */
const NETWORK_SCHEMES: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 };

interface AddressRule {
  list: BlockList;
  /** A rule for one address (/32, /128): the only address rule that can lift a metadata address. */
  exact: boolean;
  port?: number;
}

/**
 * Where an agent may connect, decided after the host name is resolved: every address a name
 * resolves to must be allowed (a name that resolves to a loopback address is loopback). By
 * default loopback, private, link-local, metadata, unspecified, multicast, broadcast and
 * reserved addresses are refused, IPv4-mapped IPv6 forms included; the allow rules lift
 * classes, ranges or host names (optionally for one port only).
 */
export class EgressPolicy {
  private readonly categories: { category: EgressCategory; port?: number }[] = [];
  private readonly addresses: AddressRule[] = [];
  private readonly hosts: { host: string; port?: number }[] = [];

  private constructor(
    readonly rules: readonly EgressRule[],
    private readonly resolveHost: ResolveHost,
  ) {
    for (const rule of rules) {
      const port = rule.port === undefined ? {} : { port: rule.port };
      if (rule.kind === 'category') this.categories.push({ category: rule.category, ...port });
      else if (rule.kind === 'host') this.hosts.push({ host: rule.host, ...port });
      else {
        const list = new BlockList();
        list.addSubnet(rule.address, rule.prefix, rule.family);
        this.addresses.push({ list, exact: rule.prefix === (rule.family === 'ipv4' ? 32 : 128), ...port });
      }
    }
  }

  /** A policy allowing these rules on top of the defaults; throws naming a rule that does not parse. */
  static fromRules(allow: readonly string[], options: { resolve?: ResolveHost } = {}): EgressPolicy {
    return new EgressPolicy(allow.map(parseRule), options.resolve ?? systemResolve);
  }

  /** This policy with more allow rules (an agent's own, already checked against the profile). */
  extend(allow: readonly string[]): EgressPolicy {
    return new EgressPolicy([...this.rules, ...allow.map(parseRule)], this.resolveHost);
  }

  /** Whether the rules lift this address class (for any port): for start-up logs. */
  allowsCategory(category: EgressCategory): boolean {
    return this.categories.some((rule) => rule.category === category && rule.port === undefined);
  }

  /** Why this address may not be reached on this port, or undefined when it may. */
  refusalOf(address: string, port: number): string | undefined {
    const category = classifyAddress(address);
    if (!category) return undefined;
    const portMatches = (rule: { port?: number }) => rule.port === undefined || rule.port === port;
    if (this.categories.some((rule) => rule.category === category && portMatches(rule))) return undefined;
    const family = familyOf(address);
    const byAddress = this.addresses.some(
      (rule) => (rule.exact || category !== 'metadata') && portMatches(rule) && rule.list.check(address, family),
    );
    if (byAddress) return undefined;
    const mapped = family === 'ipv6' ? mappedIpv4(address) : undefined;
    return `${address}${mapped ? ` (IPv4-mapped ${mapped})` : ''} is ${describeCategory(address, category)}`;
  }

  /** As `refusalOf`, phrased for an address a host name resolved to. */
  private refusalOfResolved(name: string, address: string, port: number): string | undefined {
    const reason = this.refusalOf(address, port);
    return reason && `${name} resolves to ${reason.replace(/ is /, ', which is ')}`;
  }

  /**
   * Decides a connection to `host:port`, resolving a name first. An allowed decision carries
   * the addresses that were checked: connect to those, never resolve again (a second answer
   * could differ).
   */
  async check(host: string, port: number): Promise<EgressDecision> {
    const name = host
      .replace(/^\[(.*)\]$/, '$1')
      .replace(/\.$/, '')
      .toLowerCase();
    const family = isIP(name);
    if (family !== 0) {
      const reason = this.refusalOf(name, port);
      return reason ? { allowed: false, reason } : { allowed: true, addresses: [{ address: name, family }] };
    }
    const addresses = await this.resolveHost(name);
    if (this.hostAllowed(name, port)) return { allowed: true, addresses };
    for (const { address } of addresses) {
      const reason = this.refusalOfResolved(name, address, port);
      if (reason) return { allowed: false, reason };
    }
    return { allowed: true, addresses };
  }

  /** Decides a URL: its scheme (only http, https, ws and wss go anywhere), then its host and port. */
  async checkUrl(url: string): Promise<EgressDecision> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { allowed: false, reason: `${JSON.stringify(url)} is not a URL` };
    }
    const defaultPort = NETWORK_SCHEMES[parsed.protocol];
    if (defaultPort === undefined) return { allowed: false, reason: `${parsed.protocol} URLs are not allowed` };
    return this.check(parsed.hostname, parsed.port ? Number(parsed.port) : defaultPort);
  }

  /** A host rule names the host (`*.x` its sub-domains) and its port, if it has one. */
  private hostAllowed(name: string, port: number): boolean {
    return this.hosts.some(
      (rule) =>
        (rule.port === undefined || rule.port === port) &&
        (rule.host.startsWith('*.') ? name.endsWith(rule.host.slice(1)) : name === rule.host),
    );
  }
}

function parseRule(text: string): EgressRule {
  const rule = parseEgressRule(text);
  if (typeof rule === 'string') throw new Error(`egress rule ${rule}`);
  return rule;
}

/**
 * Whether an agent's own allow rule lies within the rules the profile lets agents use
 * (`egress.agentsMayAllow`): the same class, a range inside an allowed range or class (CIDR
 * blocks nest or are disjoint, so a block lies inside another when its prefix is no shorter and
 * its address is inside), the same host or a sub-domain of a `*.` rule; and a port only where the
 * ceiling has no port or the same one.
 */
export function withinCeiling(rule: EgressRule, ceiling: readonly EgressRule[]): boolean {
  return ceiling.some((limit) => {
    if (limit.port !== undefined && limit.port !== rule.port) return false;
    if (rule.kind === 'category') return limit.kind === 'category' && limit.category === rule.category;
    if (rule.kind === 'host') {
      if (limit.kind !== 'host') return false;
      if (limit.host === rule.host) return true;
      return limit.host.startsWith('*.') && rule.host.endsWith(limit.host.slice(1));
    }
    if (limit.kind === 'address') {
      if (limit.family !== rule.family || limit.prefix > rule.prefix) return false;
      // A metadata address is lifted only by a rule for exactly it, so only such a rule delegates it.
      const bits = rule.family === 'ipv4' ? 32 : 128;
      if (classifyAddress(rule.address) === 'metadata' && rule.prefix === bits && limit.prefix !== bits) return false;
      const list = new BlockList();
      list.addSubnet(limit.address, limit.prefix, limit.family);
      return list.check(rule.address, rule.family);
    }
    if (limit.kind === 'category') {
      const bits = rule.family === 'ipv4' ? 32 : 128;
      // Metadata addresses only by their own class; a range inside a class lies within one of its ranges.
      if (limit.category !== 'metadata' && classifyAddress(rule.address) === 'metadata' && rule.prefix === bits) {
        return false;
      }
      return CATEGORY_RANGES[limit.category].some(
        ([address, prefix, family]) =>
          family === rule.family &&
          prefix <= rule.prefix &&
          withinCeiling({ ...rule, port: undefined }, [{ kind: 'address', address, prefix, family, text: address }]),
      );
    }
    return false;
  });
}

/** The address classes a policy lifts for every port, for the start-up log. */
export function liftedCategories(policy: EgressPolicy): EgressCategory[] {
  return EGRESS_CATEGORIES.filter((category) => policy.allowsCategory(category));
}
