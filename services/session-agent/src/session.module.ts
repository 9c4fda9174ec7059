import { Module, type DynamicModule } from '@nestjs/common';
import { SESSION_HOST, SessionController } from './session.controller';
import type { SessionHost } from './session-host';

@Module({})
export class SessionModule {
  static forRoot(host: SessionHost): DynamicModule {
    return {
      module: SessionModule,
      controllers: [SessionController],
      providers: [{ provide: SESSION_HOST, useValue: host }],
    };
  }
}
