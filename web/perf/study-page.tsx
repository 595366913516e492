// The Study page of the real app, fed by a synthetic study instead of a gateway, for
// study-page.mjs to measure: ?points=N (a grid of spot x volatility) arrive as the gateway
// sends them (snapshot pages of 1,000, half of them finished), then every second `perSecond`
// more finish until all have, and the study ends.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createStore, Provider } from "jotai";
import { create } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import {
  JobState,
  ModelSchema,
  ParameterType,
  StudyEventSchema,
  StudyPointSchema,
  StudySchema,
  StudyState,
  type StudyEvent,
  type StudyPoint,
} from "../src/gen/simlab/v1/simulation_pb";
import type { SimulationClient } from "../src/api/client";
import { clientAtom } from "../src/state/client";
import { App } from "../src/App";
import "../src/styles.css";

const q = new URLSearchParams(window.location.search);
const N = Number(q.get("points") ?? 10_000);
const PER_SECOND = Number(q.get("perSecond") ?? 250);
const side = Math.ceil(Math.sqrt(N));
const spots = Array.from({ length: side }, (_, i) => 50 + i);
const vols = Array.from({ length: side }, (_, j) => Number((0.05 + j * 0.005).toFixed(4)));

const num = (x: number) => create(ValueSchema, { kind: { case: "numberValue", value: x } });
const model = create(ModelSchema, {
  name: "european_option",
  title: "European option",
  version: 1,
  builtin: true,
  primaryOutput: "price",
  outputs: [{ name: "price", label: "Option price", unit: "$" }],
  parameters: [
    { name: "spot", label: "Spot", type: ParameterType.FLOAT, default: num(100), minimum: 0, exclusiveMinimum: true },
    { name: "volatility", label: "Volatility", type: ParameterType.FLOAT, default: num(0.2), minimum: 0, exclusiveMinimum: true },
  ],
});

function study(state: StudyState, finished: number) {
  return create(StudySchema, {
    studyId: "perf-study",
    owner: "perf",
    title: `Synthetic study of ${N.toLocaleString("en-US")} points`,
    spec: {
      model: "european_option",
      axes: [
        { parameter: "spot", kind: { case: "range", value: { start: spots[0]!, stop: spots[side - 1]!, count: side } } },
        { parameter: "volatility", kind: { case: "range", value: { start: vols[0]!, stop: vols[side - 1]!, count: side } } },
      ],
      seed: 42n,
      crn: true,
    },
    modelVersion: 1,
    primaryOutput: "price",
    swept: ["spot", "volatility"],
    points: N,
    state,
    counts: { succeeded: finished, running: Math.min(8, N - finished), queued: Math.max(0, N - finished - 8) },
    pointsPerSecond: PER_SECOND,
    etaSeconds: (N - finished) / PER_SECOND,
    queueAhead: 0n,
  });
}

const seqs = new Array<bigint>(N).fill(1n);
function point(i: number, done: boolean): StudyPoint {
  const spot = spots[Math.floor(i / side)]!;
  const vol = vols[i % side]!;
  seqs[i] = seqs[i]! + 1n;
  const price = Math.max(spot - 100, 0) + 40 * vol * Math.sqrt(spot / 100);
  return create(StudyPointSchema, {
    index: i,
    jobId: `job-${i}`,
    parameters: { spot, volatility: vol },
    seed: 42n,
    state: done ? JobState.SUCCEEDED : JobState.QUEUED,
    seq: seqs[i]!,
    ...(done ? { progress: { samplesDone: 100_000n, samplesTotal: 100_000n, blocksDone: 10n, blocksTotal: 10n, estimate: price + 0.01 * Math.sin(i), stderr: 0.01 } } : {}),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function* watchStudy(): AsyncGenerator<StudyEvent> {
  let finished = Math.floor(N / 2);
  for (let start = 0; start < N; start += 1000) {
    const points = [];
    for (let i = start; i < Math.min(N, start + 1000); i++) points.push(point(i, i < finished));
    yield create(StudyEventSchema, { study: study(StudyState.RUNNING, finished), points, snapshot: true });
    await sleep(5);
  }
  (window as unknown as { __snapshotSent: number }).__snapshotSent = performance.now();
  while (finished < N) {
    await sleep(1000);
    const next = Math.min(N, finished + PER_SECOND);
    const points = [];
    for (let i = finished; i < next; i++) points.push(point(i, true));
    finished = next;
    yield create(StudyEventSchema, { study: study(finished === N ? StudyState.SUCCEEDED : StudyState.RUNNING, finished), points });
  }
}

const client = {
  watchStudy,
  getModel: async () => model,
  getStudy: async () => study(StudyState.RUNNING, 0),
} as unknown as SimulationClient;

window.history.replaceState(null, "", "/studies/perf-study");
const store = createStore();
store.set(clientAtom, client);
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Provider store={store}>
      <App />
    </Provider>
  </StrictMode>,
);
