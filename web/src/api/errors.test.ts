import { describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorFromJson } from "@connectrpc/connect/protocol-connect";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb";
import { invalidArgument } from "../test/errors";
import { toApiError } from "./errors";

describe("toApiError", () => {
  it("takes the field from the BadRequest detail of INVALID_ARGUMENT", () => {
    const e = toApiError(invalidArgument("parameters.volatility", "must be > 0 (got -1)"));
    expect(e).toEqual({
      code: Code.InvalidArgument,
      message: "parameters.volatility: must be > 0 (got -1)",
      field: "parameters.volatility",
      detail: "must be > 0 (got -1)",
    });
    expect(toApiError(invalidArgument("shards", "must be <= 3 (got 9)")).field).toBe("shards");
  });
  it("reads the detail as a Connect error body carries it", () => {
    const detail = create(BadRequestSchema, { fieldViolations: [{ field: "model", description: "unknown model 'x'" }] });
    const body = {
      code: "invalid_argument",
      message: "model: unknown model 'x'",
      details: [{ type: "google.rpc.BadRequest", value: base64Encode(toBinary(BadRequestSchema, detail), "std_raw") }],
    };
    const e = toApiError(errorFromJson(body, undefined, new ConnectError("unparsable")));
    expect(e).toMatchObject({ code: Code.InvalidArgument, field: "model", detail: "unknown model 'x'" });
  });
  it("does not guess a field from the message text", () => {
    const e = toApiError(new ConnectError("parameters.volatility: must be > 0 (got -1)", Code.InvalidArgument));
    expect(e.field).toBeUndefined();
    expect(e.detail).toBe("parameters.volatility: must be > 0 (got -1)");
  });
  it("keeps other errors whole", () => {
    const e = toApiError(new ConnectError("job x not found", Code.NotFound));
    expect(e.field).toBeUndefined();
    expect(e.message).toBe("job x not found");
    expect(toApiError(new ConnectError("", Code.Unavailable)).message).toMatch(/unreachable/);
    expect(toApiError(new Error("boom")).message).toBe("boom");
  });
});
