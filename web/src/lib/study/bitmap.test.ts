import { describe, expect, it } from "vitest";
import { colorAt, heatmapBitmap, MISSING_RGB, zRange } from "./bitmap";

function decode(url: string): Uint8Array {
  const b64 = url.replace(/^data:image\/bmp;base64,/, "");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

describe("heatmap bitmap", () => {
  it("colours by Plotly's Viridis, clamped to [0, 1]", () => {
    expect(colorAt(0)).toEqual([0x44, 0x01, 0x54]);
    expect(colorAt(1)).toEqual([0xfd, 0xe7, 0x25]);
    expect(colorAt(2)).toEqual(colorAt(1));
    expect(colorAt(0.5019607843137255)).toEqual([0x21, 0x91, 0x8c]);
    expect(colorAt(NaN)).toEqual(colorAt(0));
  });

  it("takes the range of the known values", () => {
    expect(
      zRange([
        [1, null],
        [null, -2],
      ]),
    ).toEqual([-2, 1]);
    expect(zRange([[null]])).toBeUndefined();
  });

  it("writes a bottom-up 24-bit BMP, a pixel per cell, grey where there is no value", () => {
    const z = [
      [0, 1, null], // y = 0: the bottom row, first in the file
      [null, 0.5, 1],
    ];
    const bytes = decode(heatmapBitmap(z, [0, 1]));
    const view = new DataView(bytes.buffer);
    expect(String.fromCharCode(bytes[0]!, bytes[1]!)).toBe("BM");
    expect(view.getUint32(2, true)).toBe(bytes.length);
    expect([view.getInt32(18, true), view.getInt32(22, true), view.getUint16(28, true)]).toEqual([3, 2, 24]);
    // Rows of 9 bytes padded to 12; pixels are BGR.
    expect(bytes.length).toBe(54 + 12 * 2);
    const px = (i: number, j: number) => {
      const at = 54 + j * 12 + i * 3;
      return [bytes[at + 2], bytes[at + 1], bytes[at]];
    };
    expect(px(0, 0)).toEqual(colorAt(0));
    expect(px(1, 0)).toEqual(colorAt(1));
    expect(px(2, 0)).toEqual(MISSING_RGB);
    expect(px(0, 1)).toEqual(MISSING_RGB);
    expect(px(1, 1)).toEqual(colorAt(0.5));
  });
});
