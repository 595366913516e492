import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb";

/** INVALID_ARGUMENT as the gateway sends it: `field: description`, with a google.rpc.BadRequest
 * detail naming the field. */
export function invalidArgument(field: string, description: string): ConnectError {
  const detail = create(BadRequestSchema, { fieldViolations: [{ field, description }] });
  return new ConnectError(`${field}: ${description}`, Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: detail },
  ]);
}
