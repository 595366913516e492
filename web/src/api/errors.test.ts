import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { toApiError } from "./errors";

describe("toApiError", () => {
  it("splits the field path off INVALID_ARGUMENT", () => {
    const e = toApiError(new ConnectError("parameters.volatility: must be > 0 (got -1)", Code.InvalidArgument));
    expect(e).toMatchObject({ field: "parameters.volatility", detail: "must be > 0 (got -1)", code: Code.InvalidArgument });
    expect(toApiError(new ConnectError("shards: must be <= 3 (got 9)", Code.InvalidArgument)).field).toBe("shards");
    expect(toApiError(new ConnectError("model: unknown model 'x' (known: pi)", Code.InvalidArgument)).field).toBe("model");
  });
  it("keeps other errors whole", () => {
    const e = toApiError(new ConnectError("job x not found", Code.NotFound));
    expect(e.field).toBeUndefined();
    expect(e.message).toBe("job x not found");
    expect(toApiError(new ConnectError("", Code.Unavailable)).message).toMatch(/unreachable/);
    expect(toApiError(new Error("boom")).message).toBe("boom");
  });
});
