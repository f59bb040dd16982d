/**
 * The Metrics view's weekly chart: deployments as bars, the change failure
 * rate as a line, hard freezes shaded on the time axis, in the app's theme.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
  type Plugin,
} from "chart.js";
import type { MetricFreeze, MetricWeek } from "./bindings";

Chart.register(BarController, BarElement, CategoryScale, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip);

const WEEK = 7 * 86_400_000;

/** Where each freeze lies on the axis, in weeks from the period's start (clamped to it). */
export function freezeSpans(from: string, weeks: number, freezes: MetricFreeze[]): { name: string; start: number; end: number }[] {
  const origin = Date.parse(from);
  return freezes
    .map((f) => ({
      name: f.name,
      start: Math.max(0, (Date.parse(f.start) - origin) / WEEK),
      end: Math.min(weeks, (Date.parse(f.end) - origin) / WEEK),
    }))
    .filter((s) => s.end > s.start);
}

/** The theme's colours, read from the page's CSS variables. */
function palette() {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    text: v("--text", "#1f2328"),
    muted: v("--muted", "#656d76"),
    border: v("--border", "#d0d7de"),
    accent: v("--accent", "#1f6feb"),
    hard: v("--hard-edge", "#cf222e"),
  };
}

export function drawMetricsChart(canvas: HTMLCanvasElement, from: string, weeks: MetricWeek[], freezes: MetricFreeze[]): Chart {
  const colors = palette();
  const spans = freezeSpans(from, weeks.length, freezes);
  const shading: Plugin<"bar"> = {
    id: "freezes",
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      const x = scales.x;
      if (!x || weeks.length === 0) return;
      const per = (chartArea.right - chartArea.left) / weeks.length;
      ctx.save();
      ctx.fillStyle = `${colors.hard}22`;
      for (const s of spans)
        ctx.fillRect(chartArea.left + s.start * per, chartArea.top, Math.max(2, (s.end - s.start) * per), chartArea.bottom - chartArea.top);
      ctx.restore();
    },
  };
  return new Chart(canvas, {
    type: "bar",
    data: {
      labels: weeks.map((w) => w.start.slice(0, 10)),
      datasets: [
        { type: "bar", label: "Deployments", data: weeks.map((w) => w.deployments), backgroundColor: colors.accent, yAxisID: "y" },
        {
          type: "line",
          label: "Change failure rate (%)",
          data: weeks.map((w) => (w.change_failure_rate === null ? null : Math.round(w.change_failure_rate * 1000) / 10)) as number[],
          borderColor: colors.hard,
          backgroundColor: colors.hard,
          spanGaps: true,
          yAxisID: "rate",
        } as never,
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { labels: { color: colors.text } } },
      scales: {
        x: { ticks: { color: colors.muted }, grid: { color: colors.border } },
        y: {
          beginAtZero: true,
          ticks: { color: colors.muted, precision: 0 },
          grid: { color: colors.border },
          title: { display: true, text: "deployments a week", color: colors.muted },
        },
        rate: {
          position: "right",
          beginAtZero: true,
          max: 100,
          ticks: { color: colors.muted },
          grid: { drawOnChartArea: false },
          title: { display: true, text: "failed %", color: colors.muted },
        },
      },
    },
    plugins: [shading],
  });
}
