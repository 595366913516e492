// The one place that knows how the browser reaches the gateway: gRPC-Web on the same origin.
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { SimulationService } from "../gen/simlab/v1/simulation_pb";
import { currentShareToken, withShare } from "../lib/share";

export type SimulationClient = Client<typeof SimulationService>;

/** Sends the share link's token (if the page is a shared view) as the bearer of each call,
 * read at call time so the client can be created once. */
export function shareInterceptor(token: () => string | undefined): Interceptor {
  return (next) => async (req) => {
    const t = token();
    if (t) req.header.set("Authorization", `Bearer ${t}`);
    return next(req);
  };
}

export function createSimulationClient(baseUrl: string = defaultBaseUrl(), shareToken: () => string | undefined = currentShareToken): SimulationClient {
  const transport = createGrpcWebTransport({ baseUrl, useBinaryFormat: true, interceptors: [shareInterceptor(shareToken)] });
  return createClient(SimulationService, transport);
}

function defaultBaseUrl(): string {
  return typeof window === "undefined" ? "http://127.0.0.1:8080" : window.location.origin;
}

/** Download/view URL of an artifact, served by the gateway over plain HTTP. A link cannot
 * send headers, so a shared view passes its token as ?share=. */
export function fileUrl(jobId: string, name: string, inline = false, shareToken?: string): string {
  const path = `/files/${encodeURIComponent(jobId)}/${name.split("/").map(encodeURIComponent).join("/")}`;
  return withShare(inline ? `${path}?inline=1` : path, shareToken);
}

/** A study's results, one row per point, as CSV (a shared view passes its token as for files). */
export function studyCsvUrl(studyId: string, shareToken?: string): string {
  return withShare(`/studies/${encodeURIComponent(studyId)}/study.csv`, shareToken);
}

/** The code a run ran, as the bundle's tar (a shared view passes its token as for files). */
export function jobCodeUrl(jobId: string, shareToken?: string): string {
  return withShare(`/code/jobs/${encodeURIComponent(jobId)}`, shareToken);
}

/** The code of one model version, as the bundle's tar. */
export function modelCodeUrl(name: string, version: number): string {
  return `/code/models/${encodeURIComponent(name)}@v${version}`;
}
