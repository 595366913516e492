import { describe, expect, it } from "vitest";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { JobSchema, LogChunkSchema, SimulationService } from "../gen/simlab/v1/simulation_pb";
import { shareInterceptor } from "./client";

function transportSeeing(headers: (string | null)[], token: () => string | undefined) {
  return createRouterTransport(
    ({ service }) => {
      service(SimulationService, {
        getJob: (req, ctx) => {
          headers.push(ctx.requestHeader.get("Authorization"));
          return create(JobSchema, { jobId: req.jobId });
        },
        async *tailLogs(_req, ctx) {
          headers.push(ctx.requestHeader.get("Authorization"));
          yield create(LogChunkSchema, { shard: 0, data: new Uint8Array([104, 105]) });
        },
      });
    },
    { transport: { interceptors: [shareInterceptor(token)] } },
  );
}

describe("shareInterceptor", () => {
  it("sends the share token as the bearer of unary and streaming calls", async () => {
    const seen: (string | null)[] = [];
    const client = createClient(SimulationService, transportSeeing(seen, () => "simlab_share_abc"));
    await client.getJob({ jobId: "j" });
    for await (const c of client.tailLogs({ jobId: "j", follow: true })) expect(c.data.length).toBe(2);
    expect(seen).toEqual(["Bearer simlab_share_abc", "Bearer simlab_share_abc"]);
  });

  it("sends nothing outside a shared view", async () => {
    const seen: (string | null)[] = [];
    const client = createClient(SimulationService, transportSeeing(seen, () => undefined));
    await client.getJob({ jobId: "j" });
    expect(seen).toEqual([null]);
  });
});
