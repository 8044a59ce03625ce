import { createRequire } from "node:module";
import path from "node:path";
import type * as VegaLite from "vega-lite";
import type { DigestReport } from "./build-digest-report.js";

const require = createRequire(import.meta.url);
/** The font comes from an npm package, never from the host: the PNG looks the same everywhere. */
const FONT_DIR = path.join(path.dirname(require.resolve("dejavu-fonts-ttf/package.json")), "ttf");
const FONTS = [path.join(FONT_DIR, "DejaVuSans.ttf"), path.join(FONT_DIR, "DejaVuSans-Bold.ttf")];
const OUTCOMES = ["approved", "denied", "expired", "other"] as const;
const COLORS = ["#2e7d32", "#c62828", "#9e9e9e", "#5c6bc0"];

/**
 * The digest's chart as PNG: requests per day by outcome, and the median time to decision per
 * day. Vega-Lite compiles the spec, Vega renders SVG headless (no canvas, no native build),
 * and resvg (prebuilt inside its npm package) rasterises it with the bundled font.
 */
export async function renderDigestChart(report: DigestReport): Promise<Buffer> {
  // Loaded here, not at start-up: Vega, Vega-Lite and resvg add ~40 MB to every process that
  // imports them, for a chart drawn once a week (bench/RESULTS.md, memory breakdown).
  const [{ Resvg }, vega, vegaLite] = await Promise.all([import("@resvg/resvg-js"), import("vega"), import("vega-lite")]);
  const days = report.per_day;
  const counts = days.flatMap((day) => OUTCOMES.map((outcome) => ({ day: day.day, outcome, requests: day[outcome] })));
  const decisions = days.filter((day) => day.median_decision_seconds !== null).map((day) => ({ day: day.day, minutes: Math.round((day.median_decision_seconds! / 60) * 10) / 10 }));
  const x = { field: "day", type: "ordinal" as const, title: null, axis: { labelAngle: 0 } };
  const spec: VegaLite.TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: `Access requests ${report.period.first_day} to ${report.period.last_day}`, anchor: "start", fontSize: 15 },
    config: { font: "DejaVu Sans", view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 11 } },
    background: "white",
    padding: 16,
    vconcat: [
      {
        width: 560,
        height: 200,
        data: { values: counts },
        mark: { type: "bar" },
        encoding: {
          x,
          y: { field: "requests", type: "quantitative", aggregate: "sum", title: "requests" },
          color: { field: "outcome", type: "nominal", scale: { domain: [...OUTCOMES], range: COLORS }, legend: { orient: "top", title: null } },
          order: { field: "outcome", sort: "ascending" },
        },
      },
      {
        width: 560,
        height: 120,
        data: { values: decisions },
        mark: { type: "line", point: true, color: "#37474f" },
        encoding: { x, y: { field: "minutes", type: "quantitative", title: "median minutes to decision" } },
      },
    ],
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "none" });
  try {
    const svg = await view.toSVG(2);
    return Buffer.from(new Resvg(svg, { font: { fontFiles: FONTS, loadSystemFonts: false, defaultFontFamily: "DejaVu Sans" }, background: "white" }).render().asPng());
  } finally {
    view.finalize();
  }
}
