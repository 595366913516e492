import { Code } from "@connectrpc/connect";
import type { ApiError } from "../../api/errors";

/** A share link that stopped working (revoked or expired), or one for another run. */
export function isLinkError(error: ApiError | undefined): error is ApiError {
  return error?.code === Code.Unauthenticated || error?.code === Code.PermissionDenied;
}
