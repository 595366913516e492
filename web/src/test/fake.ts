// A fake SimulationClient for unit tests: unary methods are vi.fn()s, WatchJob streams are
// controllable queues.
import { vi } from "vitest";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import {
  EventKind,
  JobEventSchema,
  JobSchema,
  JobState,
  LogChunkSchema,
  ModelKind,
  ModelSchema,
  ParameterType,
  StudyCountsSchema,
  StudyEventSchema,
  StudyPointSchema,
  StudySchema,
  StudySpecSchema,
  StudyState,
  type Job,
  type JobEvent,
  type LogChunk,
  type Model,
  type Study,
  type StudyEvent,
  type StudyPoint,
} from "../gen/simlab/v1/simulation_pb";
import type { SimulationClient } from "../api/client";

export class Stream<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiters: ((r: IteratorResult<T>) => void)[] = [];
  private failWith: unknown = null;
  private closed = false;
  private failers: ((e: unknown) => void)[] = [];

  push(item: T) {
    const w = this.waiters.shift();
    this.failers.shift();
    if (w) w({ value: item, done: false });
    else this.items.push(item);
  }
  end() {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
    this.failers.splice(0);
  }
  fail(err: unknown) {
    this.failWith = err;
    this.waiters.splice(0);
    for (const f of this.failers.splice(0)) f(err);
  }
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length) return Promise.resolve({ value: this.items.shift()!, done: false });
        if (this.failWith) return Promise.reject(this.failWith);
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((res, rej) => {
          this.waiters.push(res);
          this.failers.push(rej);
        });
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

export interface FakeClient {
  client: SimulationClient;
  streams: Stream<JobEvent>[];
  watchCalls: { jobId: string; afterSeq: bigint }[];
  /** TailLogs streams, in the order they were opened. */
  logStreams: Stream<LogChunk>[];
  /** WatchStudy streams, in the order they were opened. */
  studyStreams: Stream<StudyEvent>[];
  fns: Record<string, ReturnType<typeof vi.fn>>;
}

export function fakeClient(over: Partial<Record<keyof SimulationClient, (...a: never[]) => unknown>> = {}): FakeClient {
  const streams: Stream<JobEvent>[] = [];
  const watchCalls: { jobId: string; afterSeq: bigint }[] = [];
  const logStreams: Stream<LogChunk>[] = [];
  const studyStreams: Stream<StudyEvent>[] = [];
  const fns: Record<string, ReturnType<typeof vi.fn>> = {
    listModels: vi.fn(async () => ({ models: [optionModel()] })),
    getModel: vi.fn(async ({ model }: { model: string }) => {
      const [name, version] = model.split("@v");
      return create(ModelSchema, { ...optionModel(), name: name!, version: Number(version ?? 1) });
    }),
    listModelVersions: vi.fn(async () => ({ versions: [optionModel()] })),
    pushModel: vi.fn(async ({ name }: { name: string }) => ({ model: create(ModelSchema, { ...optionModel(), name, version: 1 }), created: true })),
    submitJob: vi.fn(async () => ({ job: job({ jobId: "job-new" }), created: true })),
    getJob: vi.fn(async ({ jobId }: { jobId: string }) => job({ jobId })),
    extendJob: vi.fn(async ({ jobId }: { jobId: string }) => ({ job: job({ jobId: "job-ext", extends: jobId }), created: true })),
    listJobs: vi.fn(async () => ({ jobs: [], nextPageToken: "" })),
    cancelJob: vi.fn(async ({ jobId }: { jobId: string }) => job({ jobId, state: JobState.CANCELLING })),
    listArtifacts: vi.fn(async () => ({ artifacts: [] })),
    getArtifact: vi.fn(() => {
      const s = new Stream<unknown>();
      s.end();
      return s;
    }),
    getProgressHistory: vi.fn(async () => ({ points: [] })),
    listPresets: vi.fn(async () => ({ presets: [] })),
    savePreset: vi.fn(async () => ({})),
    deletePreset: vi.fn(async () => ({})),
    tailLogs: vi.fn((_req: { jobId: string }, opts?: { signal?: AbortSignal }) => {
      const s = new Stream<LogChunk>();
      logStreams.push(s);
      opts?.signal?.addEventListener("abort", () => s.fail(new DOMException("aborted", "AbortError")));
      return s;
    }),
    listShareLinks: vi.fn(async () => ({ links: [] })),
    createShareLink: vi.fn(async ({ jobId }: { jobId: string }) => ({
      link: { linkId: "link-new", jobId, createdAt: timestampFromMs(Date.now()) },
      token: "simlab_share_new",
    })),
    revokeShareLink: vi.fn(async ({ linkId }: { linkId: string }) => ({ linkId, revokedAt: timestampFromMs(Date.now()) })),
    submitStudy: vi.fn(async () => ({ study: study({ studyId: "study-new" }), created: true })),
    getStudy: vi.fn(async ({ studyId }: { studyId: string }) => study({ studyId })),
    listStudies: vi.fn(async () => ({ studies: [], nextPageToken: "" })),
    listStudyPoints: vi.fn(async () => ({ points: [], nextPageToken: "" })),
    cancelStudy: vi.fn(async ({ studyId }: { studyId: string }) => study({ studyId, state: StudyState.CANCELLED })),
    comparePoints: vi.fn(async () => ({})),
    watchStudy: vi.fn((_req: { studyId: string }, opts?: { signal?: AbortSignal }) => {
      const s = new Stream<StudyEvent>();
      studyStreams.push(s);
      opts?.signal?.addEventListener("abort", () => s.fail(new DOMException("aborted", "AbortError")));
      return s;
    }),
    watchJob: vi.fn((req: { jobId: string; afterSeq?: bigint }, opts?: { signal?: AbortSignal }) => {
      const s = new Stream<JobEvent>();
      streams.push(s);
      watchCalls.push({ jobId: req.jobId, afterSeq: req.afterSeq ?? 0n });
      opts?.signal?.addEventListener("abort", () => s.fail(new DOMException("aborted", "AbortError")));
      return s;
    }),
  };
  for (const [k, f] of Object.entries(over)) fns[k] = vi.fn(f as (...a: unknown[]) => unknown);
  return { client: fns as unknown as SimulationClient, streams, watchCalls, logStreams, studyStreams, fns };
}

export function optionModel(): Model {
  const v = (x: number | string) =>
    create(ValueSchema, typeof x === "number" ? { kind: { case: "numberValue", value: x } } : { kind: { case: "stringValue", value: x } });
  return create(ModelSchema, {
    name: "european_option",
    title: "European option",
    description: "Prices a European option.",
    primaryOutput: "price",
    outputs: [{ name: "price", label: "Option price", unit: "currency" }],
    parameters: [
      { name: "spot", label: "Spot price", type: ParameterType.FLOAT, minimum: 0, exclusiveMinimum: true, unit: "currency", help: "Price today." },
      { name: "volatility", label: "Volatility", type: ParameterType.FLOAT, default: v(0.2), minimum: 0, maximum: 5, exclusiveMinimum: true },
      { name: "option_type", label: "Option type", type: ParameterType.CHOICE, default: v("call"), choices: ["call", "put"] },
      { name: "paths", label: "Paths", type: ParameterType.INT, default: v(1000000), minimum: 1, maximum: 1e10, isSampleCount: true },
      { name: "antithetic", label: "Antithetic", type: ParameterType.BOOL },
    ],
  });
}

/** A pushed script model (no schema), version 2 of alice's. */
export function scriptModel(): Model {
  return create(ModelSchema, {
    name: "render",
    title: "Render frames",
    version: 2,
    owner: "alice",
    kind: ModelKind.SCRIPT,
    codeSha256: "ab".repeat(32),
    entry: "render.py",
    files: ["render.py"],
  });
}

export function job(init: MessageInitShape<typeof JobSchema> = {}): Job {
  return create(JobSchema, {
    jobId: "job-1",
    model: "european_option",
    state: JobState.QUEUED,
    seq: 1n,
    seed: 7n,
    shards: 1,
    primaryOutput: "price",
    createdAt: timestampFromMs(Date.now() - 5000),
    parameters: { spot: 100, volatility: 0.2, option_type: "call", paths: 1000000 },
    ...init,
  });
}

export function event(seq: bigint, kind: EventKind, j: Job): JobEvent {
  return create(JobEventSchema, { eventId: `e${seq}`, jobId: j.jobId, seq, kind, job: j });
}

export function running(seq: bigint, done: number, estimate: number, stderr: number): Job {
  return job({
    state: JobState.RUNNING,
    seq,
    progress: { samplesDone: BigInt(done), samplesTotal: 1000000n, blocksDone: BigInt(done / 100000), blocksTotal: 10n, estimate, stderr },
  });
}

export const flush = () => new Promise((r) => setTimeout(r, 0));

export function logChunk(shard: number, text: string | Uint8Array): LogChunk {
  return create(LogChunkSchema, { shard, data: typeof text === "string" ? new TextEncoder().encode(text) : text });
}

/** A grid study of the option model over volatility (0.1, 0.2, 0.3) x option_type (call, put). */
export function study(init: MessageInitShape<typeof StudySchema> = {}): Study {
  return create(StudySchema, {
    studyId: "study-1",
    owner: "alice",
    title: "Smile",
    spec: create(StudySpecSchema, {
      model: "european_option",
      parameters: { spot: 100 },
      axes: [
        { parameter: "volatility", kind: { case: "range", value: { start: 0.1, stop: 0.3, count: 3 } } },
        { parameter: "option_type", kind: { case: "values", value: { values: [{ kind: { case: "stringValue", value: "call" } }, { kind: { case: "stringValue", value: "put" } }] } } },
      ],
      seed: 42n,
      crn: true,
    }),
    modelVersion: 1,
    primaryOutput: "price",
    swept: ["volatility", "option_type"],
    points: 6,
    state: StudyState.RUNNING,
    counts: create(StudyCountsSchema, { queued: 6 }),
    createdAt: timestampFromMs(Date.now() - 5000),
    ...init,
  });
}

/** The point `index` of study() (volatility slowest), queued unless `init` says otherwise. */
export function studyPoint(index: number, init: MessageInitShape<typeof StudyPointSchema> = {}): StudyPoint {
  return create(StudyPointSchema, {
    index,
    jobId: `job-p${index}`,
    parameters: { spot: 100, volatility: [0.1, 0.2, 0.3][Math.floor(index / 2) % 3]!, option_type: index % 2 ? "put" : "call" },
    seed: 42n,
    state: JobState.QUEUED,
    seq: 1n,
    ...init,
  });
}

/** A finished point with its estimate and standard error. */
export function donePoint(index: number, estimate: number, stderr: number, seq = 5n): StudyPoint {
  return studyPoint(index, {
    state: JobState.SUCCEEDED,
    seq,
    progress: { samplesDone: 100000n, samplesTotal: 100000n, blocksDone: 10n, blocksTotal: 10n, estimate, stderr },
  });
}

export function studyEvent(s: Study, points: StudyPoint[], snapshot = false): StudyEvent {
  return create(StudyEventSchema, { study: s, points, snapshot });
}
