import { Controller, Get } from '@nestjs/common';

/**
 * The one probe on the public API port: `200` while the process answers. It touches nothing
 * (no bus, no store), so any number of calls cost nothing else; load balancers and the README's
 * examples (an http-monitor agent watching Drover itself) use it. `/ready` and `/metrics` are on
 * the ops port only (`gatewayReadiness`, `OPS_PORT`).
 */
@Controller()
export class HealthController {
  @Get('live')
  live() {
    return { status: 'ok' };
  }
}
