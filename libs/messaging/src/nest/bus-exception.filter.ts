import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { type Observable, throwError } from 'rxjs';

/**
 * Hands every error of a bus handler to `BusServer` unchanged, so a retry's reason is the error's own message
 * (Nest's default RPC filter logs unknown errors and replaces them with "Internal server error").
 * Register with `app.useGlobalFilters(new BusExceptionFilter())` or `@UseFilters(BusExceptionFilter)`.
 */
@Catch()
export class BusExceptionFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
