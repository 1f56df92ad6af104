// Tiny SVG sparklines (no library): points are set as attributes, never as markup.
const W = 120;
const H = 32;

export function sparkline(svg, values, label) {
  const line = svg.querySelector("polyline");
  const finite = values.filter((v) => Number.isFinite(v));
  if (!finite.length) {
    line.setAttribute("points", "");
    return;
  }
  const max = Math.max(...finite, 1);
  const step = values.length > 1 ? W / (values.length - 1) : W;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(H - 1 - ((Number.isFinite(v) ? v : 0) / max) * (H - 2)).toFixed(1)}`);
  line.setAttribute("points", points.join(" "));
  if (label) svg.setAttribute("aria-label", `${label}: latest ${Math.round(finite[finite.length - 1])}, max ${Math.round(max)}`);
}
