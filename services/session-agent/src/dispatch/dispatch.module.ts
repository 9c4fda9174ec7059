import { Module, type DynamicModule } from '@nestjs/common';
import { LOGGER, type Logger } from '@drover/runtime';
import { DispatchConsumer } from './dispatch.consumer';
import { SESSION_WORK, type SessionWork } from './session-work.port';

/** The session agent's bus input; Nest builds the consumer around the work it serves. */
@Module({})
export class DispatchModule {
  static forRoot(deps: { work: SessionWork; logger: Logger }): DynamicModule {
    return {
      module: DispatchModule,
      controllers: [DispatchConsumer],
      providers: [
        { provide: SESSION_WORK, useValue: deps.work },
        { provide: LOGGER, useValue: deps.logger },
      ],
    };
  }
}
