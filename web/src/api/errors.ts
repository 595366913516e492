import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb";

/** An error as the UI shows it: one line, and the request field it is about (if any). */
export interface ApiError {
  code: Code | undefined;
  message: string;
  /** e.g. "parameters.volatility", "shards", "model". */
  field?: string;
  /** The message without the field prefix, to show next to the field. */
  detail: string;
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ConnectError) {
    const raw = err.rawMessage || err.message;
    // The gateway names the offending field in a google.rpc.BadRequest detail.
    const violation = err.findDetails(BadRequestSchema)[0]?.fieldViolations[0];
    if (violation?.field) {
      return { code: err.code, message: raw, field: violation.field, detail: violation.description };
    }
    return { code: err.code, message: describe(err.code, raw), detail: raw };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: undefined, message, detail: message };
}

function describe(code: Code, raw: string): string {
  switch (code) {
    case Code.Unavailable:
      return `The Simlab gateway is unreachable (${raw || "unavailable"}).`;
    case Code.NotFound:
      return raw || "Not found.";
    case Code.PermissionDenied:
      return raw || "You are not allowed to see this.";
    case Code.Unauthenticated:
      return raw || "Please sign in again.";
    default:
      return raw || Code[code];
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.NotFound;
}
