import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import type { Logger } from '@drover/runtime';
import { ApiError } from './api-error';

/** Every failure leaves the gateway in the one error format. */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const error = toApiError(exception);
    if (error.status >= 500) {
      // The client gets a generic reason; the cause (hosts, URLs, driver messages) stays here.
      this.logger.error({ err: (exception as Error)?.message, cause: causeOf(exception) }, 'request failed');
    }
    const body = { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
    response.status(error.status).json({ error: body });
  }
}

function causeOf(exception: unknown): string | undefined {
  const cause = (exception as Error)?.cause;
  if (cause === undefined) return undefined;
  return cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : JSON.stringify(cause);
}

export function toApiError(exception: unknown): ApiError {
  if (exception instanceof ApiError) return exception;
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const code = status === 404 ? 'not_found' : status === 400 ? 'invalid_request' : 'http_error';
    return new ApiError(status, code, exception.message);
  }
  return new ApiError(500, 'internal', 'internal error');
}
