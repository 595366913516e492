// The one place that knows how the browser reaches the gateway: gRPC-Web on the same origin.
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { SimulationService } from "../gen/simlab/v1/simulation_pb";

export type SimulationClient = Client<typeof SimulationService>;

export function createSimulationClient(baseUrl: string = defaultBaseUrl()): SimulationClient {
  const transport = createGrpcWebTransport({ baseUrl, useBinaryFormat: true });
  return createClient(SimulationService, transport);
}

function defaultBaseUrl(): string {
  return typeof window === "undefined" ? "http://127.0.0.1:8080" : window.location.origin;
}

/** Download/view URL of an artifact, served by the gateway over plain HTTP. */
export function fileUrl(jobId: string, name: string, inline = false): string {
  const path = `/files/${encodeURIComponent(jobId)}/${name.split("/").map(encodeURIComponent).join("/")}`;
  return inline ? `${path}?inline=1` : path;
}
