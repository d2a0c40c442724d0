/**
 * The latency chart of a results file: hand-written SVG (no dependencies), one panel per
 * scenario that measured latency (`fast`, `burst`, `realistic`, `agents`), one line per server row. Each
 * line is a percentile plot: x = latency in ms on a log scale, y = the percentile on a "nines"
 * scale (p50, p90, p99, p99.9, … equally spaced, as HdrHistogram plots do), so that both the
 * median and the tail are visible. The lines come from the compact percentile vectors
 * `bench/load.ts` reports (`LatencySummary.percentiles`), not from raw samples.
 *
 * `bench/run.ts` writes it (through `writeResults`) next to the results JSON as
 * `bench/results/<YYYY-MM-DD>-latency.svg`; to redraw one from a results file:
 *
 *   npx tsx bench/lib/chart.ts bench/results/<YYYY-MM-DD>.json [out.svg]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PercentileVector } from './stats.js';

export interface LatencySeries {
  /** The row, e.g. `switchboard (memory)` or `naive-yoga 1000 × 5`. */
  label: string;
  /** The server, when the label says more (`naive-yoga`): one colour per server in every panel. */
  server?: string;
  percentiles: PercentileVector;
  /** Samples behind the vector: percentiles past 1 − 1/count are just the maximum and are not drawn. */
  count: number;
}

/** One scenario's panel. */
export interface LatencyPanel {
  scenario: string;
  /** Under the scenario's name, e.g. `10 sessions × 100 subscribers, /stream 1000 1000`. */
  subtitle: string;
  series: LatencySeries[];
}

/** Panels first in this order, then any other scenario's. */
const PANEL_ORDER = ['fast', 'burst', 'realistic'];

/** One colour per server in every panel; other rows take the palette in turn. */
const SERVER_COLORS: Record<string, string> = {
  'switchboard (memory)': '#1f77b4',
  'switchboard (sqlite)': '#9467bd',
  'naive-yoga': '#d62728',
  'raw-ws': '#ff7f0e',
  'raw-ws-50ms': '#bcbd22',
};
const PALETTE = ['#2ca02c', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
/** A server's second, third … line in one panel (e.g. `realistic` at two S) is dashed, then dotted. */
const DASHES = ['', '7 4', '2 3', '10 3 2 3'];

const PANEL_WIDTH = 460;
const PLOT_HEIGHT = 270;
const MARGIN = { left: 70, right: 16, top: 52 };
/** Under the plot: tick labels and the axis title, then the legend. */
const AXIS_HEIGHT = 40;
const LEGEND_LINE = 15;
/** Latencies at or below this are drawn at it (the log scale has no 0; `at` has ms resolution). */
const FLOOR_MS = 0.1;

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (n: number) => (Math.round(n * 10) / 10).toString();
/** The "nines" of a percentile: p90 → 1, p99 → 2, p99.9 → 3. */
const nines = (p: number) => -Math.log10(1 - p / 100);

function msLabel(ms: number): string {
  if (ms >= 1000) return `${ms / 1000} s`;
  return ms >= 1 ? String(ms) : ms.toFixed(-Math.floor(Math.log10(ms)));
}

/** The points of a series worth drawing: finite, and backed by at least one sample beyond them. */
function points(series: LatencySeries): { p: number; ms: number }[] {
  const out: { p: number; ms: number }[] = [];
  const { p, values } = series.percentiles;
  for (let i = 0; i < p.length; i++) {
    const ms = values[i]!;
    if (!Number.isFinite(ms)) continue;
    if (series.count > 0 && (1 - p[i]! / 100) * series.count < 1) break;
    out.push({ p: p[i]!, ms });
  }
  return out;
}

function panelHeight(legendLines: number): number {
  return MARGIN.top + PLOT_HEIGHT + AXIS_HEIGHT + legendLines * LEGEND_LINE + 10;
}

function panelSvg(panel: LatencyPanel, x0: number, y0: number, height: number): string {
  const plotW = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const plotH = PLOT_HEIGHT;
  const drawn = panel.series.map((s) => ({ series: s, pts: points(s) })).filter((d) => d.pts.length > 0);
  const all = drawn.flatMap((d) => d.pts);
  const out: string[] = [];
  out.push(`<g transform="translate(${x0},${y0})">`);
  out.push(`<rect x="0.5" y="0.5" width="${PANEL_WIDTH - 1}" height="${height - 1}" fill="#fff" stroke="#ccc"/>`);
  out.push(`<text x="${MARGIN.left}" y="20" font-size="15" font-weight="bold">${esc(panel.scenario)}</text>`);
  out.push(`<text x="${MARGIN.left}" y="37" font-size="11" fill="#555">${esc(panel.subtitle)}</text>`);
  if (all.length === 0) {
    out.push(`<text x="${PANEL_WIDTH / 2}" y="${height / 2}" text-anchor="middle" fill="#888">no latency samples</text></g>`);
    return out.join('\n');
  }

  const maxMs = Math.max(FLOOR_MS * 10, ...all.map((d) => d.ms));
  const minMs = Math.max(FLOOR_MS, Math.min(...all.map((d) => d.ms)));
  const lo = Math.floor(Math.log10(minMs));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(maxMs)));
  const topNines = Math.max(2, Math.ceil(Math.max(...all.map((d) => nines(d.p))) - 1e-9));
  const px = (ms: number) => MARGIN.left + ((Math.log10(Math.max(ms, 10 ** lo)) - lo) / (hi - lo)) * plotW;
  const py = (p: number) => MARGIN.top + plotH - (nines(p) / topNines) * plotH;

  // Grid: decades (labelled) and 2×, 5× (faint) on x; percentiles on the nines scale on y.
  for (let e = lo; e <= hi; e++) {
    const x = px(10 ** e);
    out.push(`<line x1="${num(x)}" y1="${MARGIN.top}" x2="${num(x)}" y2="${MARGIN.top + plotH}" stroke="#ddd"/>`);
    out.push(`<text x="${num(x)}" y="${MARGIN.top + plotH + 15}" font-size="11" text-anchor="middle">${msLabel(10 ** e)}</text>`);
    if (e < hi) {
      for (const m of [2, 5]) {
        const xm = px(m * 10 ** e);
        out.push(`<line x1="${num(xm)}" y1="${MARGIN.top}" x2="${num(xm)}" y2="${MARGIN.top + plotH}" stroke="#f0f0f0"/>`);
      }
    }
  }
  const yTicks = [0, 50, 75, 90, 99, 99.9, 99.99, 99.999, 99.9999].filter((p) => nines(p) <= topNines + 1e-9);
  for (const p of yTicks) {
    const y = py(p);
    out.push(`<line x1="${MARGIN.left}" y1="${num(y)}" x2="${MARGIN.left + plotW}" y2="${num(y)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${num(y + 4)}" font-size="11" text-anchor="end">p${p}</text>`);
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  out.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 32}" font-size="11" text-anchor="middle" fill="#333">` +
      `latency (ms, log scale; ≤ ${msLabel(10 ** lo)} drawn at ${msLabel(10 ** lo)})</text>`,
  );
  out.push(
    `<text transform="translate(14,${MARGIN.top + plotH / 2}) rotate(-90)" font-size="11" text-anchor="middle" fill="#333">percentile</text>`,
  );

  // Styles: the server's colour, dashed for its second line in this panel.
  const seen = new Map<string, number>();
  let spare = 0;
  const styles = drawn.map(({ series }) => {
    const server = series.server ?? series.label;
    const n = seen.get(server) ?? 0;
    seen.set(server, n + 1);
    const color = SERVER_COLORS[server] ?? (n === 0 ? PALETTE[spare++ % PALETTE.length]! : '#000');
    return { color, dash: DASHES[n % DASHES.length]! };
  });
  // Reuse the first colour of a server that has no fixed one for its later lines.
  const firstColor = new Map<string, string>();
  drawn.forEach(({ series }, i) => {
    const server = series.server ?? series.label;
    if (!firstColor.has(server)) firstColor.set(server, styles[i]!.color);
    else styles[i]!.color = firstColor.get(server)!;
  });

  drawn.forEach(({ pts }, i) => {
    const { color, dash } = styles[i]!;
    const path = pts.map((d, k) => `${k === 0 ? 'M' : 'L'}${num(px(d.ms))},${num(py(d.p))}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
  });
  // Legend under the axis title, one line per series, with its p50 and p99.
  drawn.forEach(({ series }, i) => {
    const { color, dash } = styles[i]!;
    const y = MARGIN.top + plotH + AXIS_HEIGHT + 8 + i * LEGEND_LINE;
    const at = (p: number) => {
      const k = series.percentiles.p.indexOf(p);
      return k < 0 ? NaN : series.percentiles.values[k]!;
    };
    const fmtMs = (ms: number) => (Number.isFinite(ms) ? (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)) : '–');
    out.push(
      `<line x1="14" y1="${y - 4}" x2="38" y2="${y - 4}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
    );
    out.push(
      `<text x="44" y="${y}" font-size="11">${esc(series.label)} ` +
        `<tspan fill="#666">p50 / p99 / p99.9: ${fmtMs(at(50))} / ${fmtMs(at(99))} / ${fmtMs(at(99.9))} ms</tspan></text>`,
    );
  });
  out.push('</g>');
  return out.join('\n');
}

/** The SVG document: a heading, then the panels in rows of up to three. */
export function latencyChartSvg(panels: readonly LatencyPanel[], heading: string): string {
  const columns = Math.max(1, Math.min(3, panels.length));
  const rows = Math.max(1, Math.ceil(panels.length / columns));
  const gap = 12;
  const headingH = 58;
  const height1 = panelHeight(Math.max(1, ...panels.map((p) => p.series.length)));
  const width = Math.max(600, columns * PANEL_WIDTH + (columns + 1) * gap);
  const height = headingH + rows * height1 + (rows + 1) * gap;
  const body = panels.map((panel, i) =>
    panelSvg(panel, gap + (i % columns) * (PANEL_WIDTH + gap), headingH + gap + Math.floor(i / columns) * (height1 + gap), height1),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fafafa"/>`,
    `<text x="${gap}" y="22" font-size="16" font-weight="bold">${esc(heading)}</text>`,
    `<text x="${gap}" y="38" font-size="11" fill="#555">Per delivered delta: event \`at\` → receipt by the subscriber. One line per server row</text>`,
    `<text x="${gap}" y="52" font-size="11" fill="#555">(a server's second line in a panel is dashed); y on a "nines" scale: p90, p99, p99.9 equally spaced.</text>`,
    ...(panels.length === 0 ? [`<text x="${gap}" y="${headingH + 40}" fill="#888">no scenario with latency samples</text>`] : body),
    '</svg>',
    '',
  ].join('\n');
}

/** The panels of a results file's scenarios (those that stored one with at least one line), in `PANEL_ORDER`. */
export function panelsOf(scenarios: Record<string, unknown>): LatencyPanel[] {
  const panels: LatencyPanel[] = [];
  for (const entry of Object.values(scenarios)) {
    const panel = (entry as { latency?: LatencyPanel } | null)?.latency;
    if (panel && Array.isArray(panel.series) && panel.series.length > 0) panels.push(panel);
  }
  const rank = (p: LatencyPanel) => (PANEL_ORDER.includes(p.scenario) ? PANEL_ORDER.indexOf(p.scenario) : PANEL_ORDER.length);
  return panels.sort((a, b) => rank(a) - rank(b));
}

/** Writes the chart of a results file's scenarios to `file`; false (and nothing written) if none has a panel. */
export function writeLatencyChart(file: string, scenarios: Record<string, unknown>, heading: string): boolean {
  const panels = panelsOf(scenarios);
  if (panels.length === 0) return false;
  writeFileSync(file, latencyChartSvg(panels, heading));
  return true;
}

// `npx tsx bench/lib/chart.ts results.json [out.svg]`: redraws the chart of a results file.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [input, output] = process.argv.slice(2);
  if (!input) {
    console.error('usage: npx tsx bench/lib/chart.ts bench/results/<YYYY-MM-DD>.json [out.svg]');
    process.exit(2);
  }
  const body = JSON.parse(readFileSync(input, 'utf8')) as { date?: string; scenarios?: Record<string, unknown> };
  const out = output ?? input.replace(/\.json$/, '') + '-latency.svg';
  if (!writeLatencyChart(out, body.scenarios ?? {}, chartHeading(body.date ?? ''))) {
    console.error(`${input}: no scenario with a latency panel (fast, burst, realistic run since the chart was added)`);
    process.exit(1);
  }
  console.log(`latency chart written to ${out}`);
}

/** The chart's heading for a results file of `date`. */
export function chartHeading(date: string): string {
  return `Switchboard bench ${date}: latency`;
}
