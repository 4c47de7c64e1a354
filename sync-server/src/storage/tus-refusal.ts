/**
 * An error a tus hook or store throws to refuse a request. @tus/server answers with `status_code` and `body`, and
 * the body is our usual `{error_code, message}` (plus `statusCode`/`error`, the fields Supabase Storage's errors
 * carry), so tus-js-client's error message quotes both.
 */
import type { HttpError } from '../http/http-error.ts';

export class TusRefusal extends Error {
  readonly body: string;

  constructor(
    readonly status_code: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.body = JSON.stringify(storageErrorBody(status_code, errorCode, message));
  }

  static from(error: HttpError): TusRefusal {
    return new TusRefusal(error.statusCode, error.errorCode, error.message);
  }
}

export function storageErrorBody(status: number, errorCode: string, message: string) {
  return { error_code: errorCode, message, statusCode: String(status), error: errorCode };
}
