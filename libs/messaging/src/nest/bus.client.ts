import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import type { Bus } from '../bus.port';

/** Where a `BusClientProxy` message goes: the Nest pattern of `send` and `emit`. */
export interface BusRoute {
  exchange: string;
  routingKey: string;
  /** `send` only: how long to wait for the reply (the client's default when absent). */
  timeoutMs?: number;
}

export interface BusClientOptions {
  /** Reply timeout of `send` when the route sets none. Default 5000. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;

/**
 * Nest `ClientProxy` over the `Bus` port: `send(route, data)` is `bus.request` (emits the reply, then completes),
 * `emit(route, data)` is `bus.publish`. The bus belongs to the caller: `close()` leaves it open.
 */
export class BusClientProxy extends ClientProxy {
  private readonly timeoutMs: number;

  constructor(
    private readonly bus: Bus,
    options: BusClientOptions = {},
  ) {
    super();
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The bus itself, for code that needs more than Nest's client API. */
  unwrap<T>(): T {
    return this.bus as T;
  }

  /** `bus.request`: emits the reply and completes; errors with the request's error (e.g. `RequestTimeoutError`). */
  override send<TResult = unknown, TInput = unknown>(route: BusRoute, data: TInput): Observable<TResult> {
    return super.send<TResult, TInput>(route, data);
  }

  /** `bus.publish`, started at once (hot); completes when the broker confirmed the message. */
  override emit<TResult = undefined, TInput = unknown>(route: BusRoute, data: TInput): Observable<TResult> {
    return super.emit<TResult, TInput>(route, data);
  }

  async connect(): Promise<void> {}

  async close(): Promise<void> {}

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    let live = true;
    const settle = (result: WritePacket): void => {
      if (live) callback(result);
    };
    const data: unknown = packet.data;
    Promise.resolve()
      .then(() => {
        const route = toRoute(packet.pattern);
        return this.bus.request(route.exchange, route.routingKey, data, {
          timeoutMs: route.timeoutMs ?? this.timeoutMs,
        });
      })
      .then(
        (response: unknown) => settle({ response, isDisposed: true }),
        (err: unknown) => settle({ err }),
      );
    return () => {
      live = false;
    };
  }

  protected async dispatchEvent<T = undefined>(packet: ReadPacket): Promise<T> {
    const route = toRoute(packet.pattern);
    const data: unknown = packet.data;
    await this.bus.publish(route.exchange, route.routingKey, data);
    return undefined as T;
  }
}

function toRoute(pattern: unknown): BusRoute {
  if (
    typeof pattern === 'object' &&
    pattern !== null &&
    'exchange' in pattern &&
    typeof pattern.exchange === 'string' &&
    'routingKey' in pattern &&
    typeof pattern.routingKey === 'string'
  ) {
    const timeoutMs = 'timeoutMs' in pattern && typeof pattern.timeoutMs === 'number' ? pattern.timeoutMs : undefined;
    return { exchange: pattern.exchange, routingKey: pattern.routingKey, timeoutMs };
  }
  throw new TypeError('a bus pattern is { exchange: string; routingKey: string; timeoutMs?: number }');
}
