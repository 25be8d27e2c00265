// Health over time as a small SVG chart: coherence and drift on a 0–1 scale (with the drift threshold), token
// rate on its own scale at the right. Samples are taken by the console while it is open.

import { compact, svg } from './dom.js';

const H = 140;
const PAD = { left: 28, right: 40, top: 8, bottom: 20 };
const PLOT_H = H - PAD.top - PAD.bottom;
const y = (v) => PAD.top + (1 - Math.max(0, Math.min(1, v))) * PLOT_H;

function line(points, cls) {
  if (points.length === 0) return null;
  if (points.length === 1) return svg('circle', { cx: points[0][0], cy: points[0][1], r: 2.5, class: `pt ${cls}` });
  return svg('polyline', { points: points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' '), class: `ln ${cls}` });
}

function spanLabel(ms) {
  const s = Math.round(ms / 1000);
  return s < 90 ? `−${s}s` : `−${Math.round(s / 60)} min`;
}

/**
 * Draws `samples` ([{t, coherence, drift, token_rate}], oldest first) into the <svg> element `el`, at its
 * rendered width so text stays at its real size.
 */
export function drawHealthChart(el, samples, driftThreshold) {
  const W = Math.max(240, Math.round(el.clientWidth || 480));
  const plotW = W - PAD.left - PAD.right;
  const x = (t, t0, span) => PAD.left + (span === 0 ? plotW : ((t - t0) / span) * plotW);
  el.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const t0 = samples[0]?.t ?? 0;
  const t1 = samples.at(-1)?.t ?? 0;
  const span = t1 - t0;
  const rateTop = Math.max(0, ...samples.map((s) => s.token_rate));
  const rateMax = Math.max(1, rateTop);
  const parts = [];
  for (const v of [0, 0.5, 1]) {
    parts.push(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }));
    parts.push(svg('text', { x: PAD.left - 6, y: y(v) + 3, class: 'axis', 'text-anchor': 'end' }, v.toFixed(1)));
  }
  if (rateTop > 0) parts.push(svg('text', { x: W - PAD.right + 6, y: y(1) + 3, class: 'axis rate' }, `${compact(rateMax)}/h`));
  parts.push(svg('text', { x: W - PAD.right + 6, y: y(0) + 3, class: 'axis rate' }, '0/h'));
  if (typeof driftThreshold === 'number') {
    parts.push(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(driftThreshold), y2: y(driftThreshold), class: 'threshold' }));
    parts.push(svg('text', { x: W - PAD.right - 4, y: y(driftThreshold) - 4, class: 'axis threshold-label', 'text-anchor': 'end' }, `drift limit ${driftThreshold}`));
  }
  const pts = (key, scale = 1) => samples.map((s) => [x(s.t, t0, span), y(s[key] / scale)]);
  parts.push(line(pts('token_rate', rateMax), 'rate'), line(pts('drift'), 'drift'), line(pts('coherence'), 'coherence'));
  parts.push(svg('text', { x: PAD.left, y: H - 6, class: 'axis' }, samples.length > 1 ? spanLabel(span) : 'collecting samples…'));
  parts.push(svg('text', { x: W - PAD.right, y: H - 6, class: 'axis', 'text-anchor': 'end' }, 'now'));
  el.replaceChildren(...parts.filter(Boolean));
}
