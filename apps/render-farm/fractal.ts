/**
 * The render farm's picture: a Mandelbrot set, square, split into a grid of square tiles. Pure
 * JavaScript (pngjs encodes and decodes PNG, no native module), so a tile renders the same on
 * Lambda, on an EC2 worker and on a laptop; and deterministic: a pixel depends only on the
 * render's parameters and its position in the whole image, never on the tile it is rendered
 * in, so the assembled tiles equal the image rendered in one piece (the browser test checks it).
 */
import { PNG } from 'pngjs';
import { TILE_WORK_BUDGET } from '../../contracts/render-farm';

/** What to render. */
export interface FractalParams {
  /** Width and height of the image, in pixels (64 to 2048, a multiple of `tilesPerSide`). */
  readonly size: number;
  /** Tiles per side: the image is `tilesPerSide` x `tilesPerSide` tiles (1 to 8). */
  readonly tilesPerSide: number;
  /** The point at the image's centre, real part. */
  readonly centerX: number;
  /** The point at the image's centre, imaginary part. */
  readonly centerY: number;
  /** The width of the view in the complex plane (greater than 0, at most 8). */
  readonly width: number;
  /** The most iterations per pixel (10 to 20,000): the cost of a render. */
  readonly maxIterations: number;
}

/** The parameters the page starts with: 16 tiles of the "seahorse valley". */
export const DEFAULT_FRACTAL: FractalParams = Object.freeze({
  size: 512,
  tilesPerSide: 4,
  centerX: -0.7453,
  centerY: 0.1127,
  width: 0.01,
  maxIterations: 3000,
});

/** Thrown for parameters that cannot be rendered; the message names the field, the value and the fix. */
export class FractalParamsError extends Error {
  override readonly name = 'FractalParamsError';
}

/** Checks untrusted parameters (a request body, a job) and returns them typed; throws FractalParamsError listing every problem. */
export function parseFractalParams(raw: unknown): FractalParams {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new FractalParamsError(`render parameters must be an object {size, tilesPerSide, centerX, centerY, width, maxIterations}, received ${JSON.stringify(raw)}`);
  }
  const r = raw as Record<string, unknown>;
  const problems: string[] = [];
  const int = (field: string, min: number, max: number): number => {
    const v = r[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) problems.push(`${field} must be an integer from ${min} to ${max}, received ${JSON.stringify(v)}`);
    return v as number;
  };
  const num = (field: string, min: number, max: number, minExclusive = false): number => {
    const v = r[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || (minExclusive ? v <= min : v < min) || v > max) {
      problems.push(`${field} must be a number ${minExclusive ? 'above' : 'from'} ${min} ${minExclusive ? 'and at most' : 'to'} ${max}, received ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  const params: FractalParams = {
    size: int('size', 64, 2048),
    tilesPerSide: int('tilesPerSide', 1, 8),
    centerX: num('centerX', -4, 4),
    centerY: num('centerY', -4, 4),
    width: num('width', 0, 8, true),
    maxIterations: int('maxIterations', 10, 20_000),
  };
  if (problems.length === 0 && params.size % params.tilesPerSide !== 0) {
    problems.push(`size must be a multiple of tilesPerSide (${params.tilesPerSide}) so that tiles are whole pixels, received ${params.size}: use ${params.size - (params.size % params.tilesPerSide)}`);
  }
  if (problems.length > 0) throw new FractalParamsError(`invalid render parameters: ${problems.join('; ')}`);
  return params;
}

/** A render's work in pixel-iterations: size² x maxIterations (the most it can cost: every point in the set). */
export function renderWork(params: FractalParams): number {
  return params.size * params.size * params.maxIterations;
}

/**
 * Refuses (FractalParamsError) a render whose work is over what its tiles may take: each tile at
 * most {@link TILE_WORK_BUDGET} pixel-iterations, which fits the workers' timeouts
 * (contracts/render-farm.ts). The message names the limit and the value received.
 */
export function checkRenderBudget(params: FractalParams): void {
  const work = renderWork(params);
  const limit = tileCount(params) * TILE_WORK_BUDGET;
  if (work > limit) {
    const n = (x: number) => x.toLocaleString('en-US');
    throw new FractalParamsError(
      `the render's work, size² x maxIterations = ${params.size}² x ${n(params.maxIterations)} = ${n(work)} pixel-iterations, is over its limit of ` +
        `${n(limit)} (${n(TILE_WORK_BUDGET)} per tile x ${tileCount(params)} tiles, so that each tile finishes within the worker's timeout): ` +
        'lower size or maxIterations, or use more tiles',
    );
  }
}

/** Tiles in a render. */
export function tileCount(params: FractalParams): number {
  return params.tilesPerSide * params.tilesPerSide;
}

/** Where tile `index` sits (row-major), in pixels. */
export function tileRect(params: FractalParams, index: number): { readonly x: number; readonly y: number; readonly side: number } {
  const side = params.size / params.tilesPerSide;
  return { x: (index % params.tilesPerSide) * side, y: Math.floor(index / params.tilesPerSide) * side, side };
}

/** The colour of an escape after `n` iterations with |z|² = `r2` (smooth colouring), as RGB. */
function colour(n: number, r2: number, maxIterations: number): [number, number, number] {
  if (n >= maxIterations) return [0, 0, 0];
  // The continuous iteration count removes the bands between whole iteration counts.
  const smooth = n + 1 - Math.log2(Math.log2(r2) / 2);
  // The square root spreads the colours of the few escapes that take thousands of iterations.
  const t = (Math.sqrt(smooth) / 6) % 1;
  const wave = (phase: number) => Math.round(127.5 + 127.5 * Math.cos(2 * Math.PI * (t + phase)));
  return [wave(0.0), wave(0.33), wave(0.67)];
}

/** Samples per pixel side: each pixel is the mean of 3 x 3 points (antialiasing, and the cost of a tile). */
export const SAMPLES_PER_SIDE = 3;

/** Iterations until the point c = cr + ci·i escapes, with |z|² at escape (smooth colouring needs it). */
function escape(cr: number, ci: number, maxIterations: number): [number, number] {
  let zr = 0;
  let zi = 0;
  let n = 0;
  let r2 = 0;
  while (n < maxIterations) {
    const zr2 = zr * zr;
    const zi2 = zi * zi;
    r2 = zr2 + zi2;
    if (r2 > 256) break;
    zi = 2 * zr * zi + ci;
    zr = zr2 - zi2 + cr;
    n++;
  }
  return [n, r2];
}

/** Renders tile `index` as RGBA bytes (side x side pixels). */
export function renderTilePixels(params: FractalParams, index: number): Buffer {
  const { x: x0, y: y0, side } = tileRect(params, index);
  const pixels = Buffer.alloc(side * side * 4);
  const step = params.width / params.size;
  const left = params.centerX - params.width / 2;
  const top = params.centerY + params.width / 2;
  const k = SAMPLES_PER_SIDE;
  for (let py = 0; py < side; py++) {
    for (let px = 0; px < side; px++) {
      let red = 0;
      let green = 0;
      let blue = 0;
      for (let sy = 0; sy < k; sy++) {
        const ci = top - (y0 + py + (sy + 0.5) / k) * step;
        for (let sx = 0; sx < k; sx++) {
          const cr = left + (x0 + px + (sx + 0.5) / k) * step;
          const [n, r2] = escape(cr, ci, params.maxIterations);
          const [r, g, b] = colour(n, r2, params.maxIterations);
          red += r;
          green += g;
          blue += b;
        }
      }
      const at = (py * side + px) * 4;
      pixels[at] = Math.round(red / (k * k));
      pixels[at + 1] = Math.round(green / (k * k));
      pixels[at + 2] = Math.round(blue / (k * k));
      pixels[at + 3] = 255;
    }
  }
  return pixels;
}

/** Encodes RGBA bytes as a PNG. */
export function encodePng(width: number, height: number, rgba: Buffer): Buffer {
  const png = new PNG({ width, height });
  rgba.copy(png.data);
  return PNG.sync.write(png);
}

/** Decodes a PNG into its size and RGBA bytes. */
export function decodePng(bytes: Uint8Array): { readonly width: number; readonly height: number; readonly data: Buffer } {
  const png = PNG.sync.read(Buffer.from(bytes));
  return { width: png.width, height: png.height, data: png.data };
}

/** Renders tile `index` as a PNG. */
export function renderTilePng(params: FractalParams, index: number): Buffer {
  const { side } = tileRect(params, index);
  return encodePng(side, side, renderTilePixels(params, index));
}

/** Puts the tiles (PNGs, in tile order) together into the whole image, a PNG. */
export function assembleTiles(params: FractalParams, tilePngs: readonly Uint8Array[]): Buffer {
  if (tilePngs.length !== tileCount(params)) throw new Error(`assembling needs ${tileCount(params)} tiles, received ${tilePngs.length}`);
  const image = Buffer.alloc(params.size * params.size * 4);
  tilePngs.forEach((bytes, index) => {
    const { x, y, side } = tileRect(params, index);
    const tile = decodePng(bytes);
    if (tile.width !== side || tile.height !== side) throw new Error(`tile ${index} is ${tile.width}x${tile.height} pixels, expected ${side}x${side}`);
    for (let row = 0; row < side; row++) {
      tile.data.copy(image, ((y + row) * params.size + x) * 4, row * side * 4, (row + 1) * side * 4);
    }
  });
  return encodePng(params.size, params.size, image);
}

/** The whole image rendered in one process, tile by tile, then assembled: what the farm must produce. */
export function renderImagePng(params: FractalParams): Buffer {
  return assembleTiles(params, Array.from({ length: tileCount(params) }, (_, i) => renderTilePng(params, i)));
}
