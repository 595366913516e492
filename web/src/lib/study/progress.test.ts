import { describe, expect, it } from "vitest";
import { study } from "../../test/fake";
import { formatRate, queueLine, studyEnded } from "./progress";

describe("study progress", () => {
  it("counts the points that ended, whichever way", () => {
    expect(studyEnded(study({ counts: { queued: 1, running: 2, succeeded: 3, failed: 4, cancelled: 5 } }))).toBe(12);
    expect(studyEnded(study({ counts: undefined }))).toBe(0);
  });

  it("says the rate in points per second, or the time per point when slow", () => {
    expect(formatRate(2.345)).toBe("2.35 points/s");
    expect(formatRate(0.025)).toBe("1 point every 40.0 s");
    expect(formatRate(0)).toBe("—");
  });

  it("says where a study with queued points is in the queue", () => {
    expect(queueLine(study({ counts: { queued: 3 }, queueAhead: 12n }))).toBe("12 runs ahead in the queue");
    expect(queueLine(study({ counts: { queued: 3 }, queueAhead: 1n }))).toBe("1 run ahead in the queue");
    expect(queueLine(study({ counts: { queued: 3 }, queueAhead: 0n }))).toBe("Next in the queue");
    expect(queueLine(study({ counts: { queued: 0, running: 2 }, queueAhead: 5n }))).toBeUndefined();
  });
});
