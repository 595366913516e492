// A grid heatmap as one image: Plotly's basic bundle has no heatmap trace, and 10,000 cells
// drawn as SVG shapes take seconds (bars: 2.4 s, square markers: 0.4 s per redraw in
// chromium), while one image of a pixel per cell takes ~20 ms. The chart stretches it over the
// axes (CSS keeps its pixels sharp). Pure: a BMP data URL, no canvas.

/** Plotly's Viridis, so the image and the colour bar beside it agree. */
export const VIRIDIS: [number, string][] = [
  [0, "#440154"],
  [0.06274509803921569, "#48186a"],
  [0.12549019607843137, "#472d7b"],
  [0.18823529411764706, "#424086"],
  [0.25098039215686274, "#3b528b"],
  [0.3137254901960784, "#33638d"],
  [0.3764705882352941, "#2c728e"],
  [0.4392156862745098, "#26828e"],
  [0.5019607843137255, "#21918c"],
  [0.5647058823529412, "#1fa088"],
  [0.6274509803921569, "#28ae80"],
  [0.6901960784313725, "#3fbc73"],
  [0.7529411764705882, "#5ec962"],
  [0.8156862745098039, "#84d44b"],
  [0.8784313725490196, "#addc30"],
  [0.9411764705882353, "#d8e219"],
  [1, "#fde725"],
];

/** The colour of a cell without an estimate yet. */
export const MISSING_RGB: [number, number, number] = [0xe2, 0xe8, 0xf0];

function rgbOf(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** The colour at `t` in [0, 1] of a colour scale (linear between its stops). */
export function colorAt(t: number, scale: [number, string][] = VIRIDIS): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  let k = 1;
  while (k < scale.length - 1 && scale[k]![0] < x) k++;
  const [t0, c0] = scale[k - 1]!;
  const [t1, c1] = scale[k]!;
  const f = t1 > t0 ? (x - t0) / (t1 - t0) : 0;
  const a = rgbOf(c0);
  const b = rgbOf(c1);
  return [0, 1, 2].map((i) => Math.round(a[i]! + f * (b[i]! - a[i]!))) as [number, number, number];
}

/** The smallest and largest value of a grid (undefined when it has none yet). */
export function zRange(z: readonly (readonly (number | null)[])[]): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of z)
    for (const v of row)
      if (v !== null && Number.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
  return lo <= hi ? [lo, hi] : undefined;
}

/**
 * The grid as a 24-bit BMP data URL, a pixel per cell: z[yi][xi] with yi = 0 at the bottom
 * (BMP rows run bottom-up, as the chart's y axis does); null cells are grey.
 */
export function heatmapBitmap(z: readonly (readonly (number | null)[])[], range: [number, number]): string {
  const height = z.length;
  const width = z[0]?.length ?? 0;
  const stride = Math.ceil((width * 3) / 4) * 4;
  const size = 54 + stride * height;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x42; // "BM"
  bytes[1] = 0x4d;
  view.setUint32(2, size, true);
  view.setUint32(10, 54, true); // pixels start after both headers
  view.setUint32(14, 40, true); // BITMAPINFOHEADER
  view.setInt32(18, width, true);
  view.setInt32(22, height, true); // positive: bottom-up
  view.setUint16(26, 1, true);
  view.setUint16(28, 24, true);
  view.setUint32(34, stride * height, true);
  const [lo, hi] = range;
  for (let j = 0; j < height; j++) {
    const row = z[j]!;
    for (let i = 0; i < width; i++) {
      const v = row[i];
      const [r, g, b] = v === null || v === undefined ? MISSING_RGB : colorAt(hi > lo ? (v - lo) / (hi - lo) : 0.5);
      const at = 54 + j * stride + i * 3;
      bytes[at] = b;
      bytes[at + 1] = g;
      bytes[at + 2] = r;
    }
  }
  let binary = "";
  const CHUNK = 0x8000;
  for (let k = 0; k < bytes.length; k += CHUNK) binary += String.fromCharCode(...bytes.subarray(k, k + CHUNK));
  return `data:image/bmp;base64,${btoa(binary)}`;
}
