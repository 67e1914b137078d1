// The query API's error catalogue: every error a client can see has a stable
// code, an HTTP status and a message naming the parameter at fault. Nothing
// from a request's credentials, and no stack, ever reaches a response body.

export const CATALOGUE = {
  BAD_PARAMETER: { status: 400, retriable: false },
  BAD_CURSOR: { status: 400, retriable: false },
  BAD_QUERY: { status: 400, retriable: false },
  UNAUTHORIZED: { status: 401, retriable: false },
  FORBIDDEN: { status: 403, retriable: false },
  APP_NOT_FOUND: { status: 404, retriable: false },
  EXECUTOR_NOT_FOUND: { status: 404, retriable: false },
  ROUTE_NOT_FOUND: { status: 404, retriable: false },
  TOO_MANY_STREAMS: { status: 429, retriable: true },
  STORE_UNAVAILABLE: { status: 503, retriable: true },
  INTERNAL: { status: 500, retriable: true },
} as const;

export type ErrorCode = keyof typeof CATALOGUE;

export class ApiError extends Error {
  readonly statusCode: number;
  readonly retriable: boolean;
  readonly param: string | undefined;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { param?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ApiError';
    this.statusCode = CATALOGUE[code].status;
    this.retriable = CATALOGUE[code].retriable;
    this.param = options.param;
  }

  body() {
    return { error: { code: this.code, message: this.message, ...(this.param ? { param: this.param } : {}), retriable: this.retriable } };
  }
}

export const badParameter = (param: string, message: string) => new ApiError('BAD_PARAMETER', `${param}: ${message}`, { param });
