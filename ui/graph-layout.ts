// Lays a pipeline's plan out left to right (a layered drawing): a node's column is its depth
// (the longest path from a node without inputs), sinks go to the last column, the late-records
// node just before its consumers. An edge spanning several columns passes through a waypoint in
// each column between, which takes a slot there, so it runs between nodes instead of under them.
// Each column is ordered by where its neighbours sit (barycentres, swept both ways) so edges
// cross less. Pure: tested without a DOM.

export interface LayoutNode {
  id: number;
  kind: string;
  /** Default NODE_W. */
  width?: number;
}

export interface LayoutEdge {
  from: number;
  to: number;
}

export interface Placed {
  id: number;
  column: number;
  row: number;
  x: number;
  y: number;
  width: number;
}

export type Point = [number, number];

export interface GraphLayout {
  nodes: Map<number, Placed>;
  /** Node ids per column, top to bottom (waypoints left out). */
  columns: number[][];
  /** Per edge (in the order given): its points, from the port it leaves by to the port it enters by; between them, pairs of waypoints (a column's left and right side). */
  routes: Point[][];
  width: number;
  height: number;
}

export const NODE_W = 180;
export const NODE_H = 62;
export const COL_GAP = 58;
export const ROW_GAP = 20;
export const WAYPOINT_H = 14;
export const PAD = 14;
const SWEEPS = 4;

/** Each node's depth: 0 without inputs, else one more than its deepest input (cycles cut). */
export function depths(nodes: LayoutNode[], edges: LayoutEdge[]): Map<number, number> {
  const inputs = new Map<number, number[]>(nodes.map((n) => [n.id, []]));
  for (const e of edges) if (inputs.has(e.from)) inputs.get(e.to)?.push(e.from);
  const depth = new Map<number, number>();
  const visiting = new Set<number>();
  const visit = (id: number): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const ins = inputs.get(id)!;
    const d = ins.length === 0 ? 0 : 1 + Math.max(...ins.map(visit));
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  for (const n of nodes) visit(n.id);
  return depth;
}

/** Columns: depths, with sinks moved to the last and late-record nodes to just before their consumers. */
function columnsOf(nodes: LayoutNode[], edges: LayoutEdge[]): Map<number, number> {
  const depth = depths(nodes, edges);
  const outs = new Map<number, number[]>(nodes.map((n) => [n.id, []]));
  for (const e of edges) if (depth.has(e.to)) outs.get(e.from)?.push(e.to);
  const last = Math.max(0, ...depth.values());
  for (const n of nodes) if (n.kind === 'sink' && outs.get(n.id)!.length === 0) depth.set(n.id, last);
  for (const n of nodes) {
    const o = outs.get(n.id)!;
    if (n.kind === 'late' && o.length > 0) depth.set(n.id, Math.max(0, Math.min(...o.map((x) => depth.get(x)!)) - 1));
  }
  return depth;
}

interface Slot {
  /** A node id, or a waypoint (negative). */
  id: number;
  height: number;
}

export function layoutGraph(nodes: LayoutNode[], edges: LayoutEdge[]): GraphLayout {
  const column = columnsOf(nodes, edges);
  const known = edges.filter((e) => column.has(e.from) && column.has(e.to) && column.get(e.from)! < column.get(e.to)!);
  // Waypoints of long edges, and the graph of slots (nodes and waypoints) the ordering sweeps over.
  const slotColumn = new Map(column);
  const ins = new Map<number, number[]>();
  const outs = new Map<number, number[]>();
  const link = (a: number, b: number) => {
    (outs.get(a) ?? outs.set(a, []).get(a)!).push(b);
    (ins.get(b) ?? ins.set(b, []).get(b)!).push(a);
  };
  let nextWaypoint = -1;
  const chains = known.map((e) => {
    const chain: number[] = [];
    let prev = e.from;
    for (let c = column.get(e.from)! + 1; c < column.get(e.to)!; c++) {
      const w = nextWaypoint--;
      slotColumn.set(w, c);
      chain.push(w);
      link(prev, w);
      prev = w;
    }
    link(prev, e.to);
    return chain;
  });
  const count = Math.max(0, ...column.values()) + 1;
  const cols: number[][] = Array.from({ length: count }, () => []);
  for (const n of [...nodes].sort((a, b) => a.id - b.id)) cols[column.get(n.id)!]!.push(n.id);
  for (const chain of chains) for (const w of chain) cols[slotColumn.get(w)!]!.push(w);
  order(cols, ins, outs);

  const widthOf = new Map(nodes.map((n) => [n.id, n.width ?? NODE_W]));
  const slots: Slot[][] = cols.map((col) => col.map((id) => ({ id, height: id < 0 ? WAYPOINT_H : NODE_H })));
  const heightOf = (col: Slot[]) => col.reduce((h, s) => h + s.height, 0) + Math.max(0, col.length - 1) * ROW_GAP;
  const height = PAD * 2 + Math.max(NODE_H, ...slots.map(heightOf));
  const placed = new Map<number, Placed>();
  const waypoint = new Map<number, { left: number; right: number; y: number }>();
  let x = PAD;
  slots.forEach((col, c) => {
    const colWidth = Math.max(0, ...col.filter((s) => s.id >= 0).map((s) => widthOf.get(s.id)!));
    let y = (height - heightOf(col)) / 2;
    col.forEach((slot, r) => {
      if (slot.id < 0) waypoint.set(slot.id, { left: x, right: x + colWidth, y: y + slot.height / 2 });
      else {
        const w = widthOf.get(slot.id)!;
        placed.set(slot.id, { id: slot.id, column: c, row: r, x: x + (colWidth - w) / 2, y, width: w });
      }
      y += slot.height + ROW_GAP;
    });
    if (col.length) x += (colWidth || NODE_W / 3) + COL_GAP;
  });
  const routes = routesOf(edges, known, chains, placed, waypoint);
  const columns = cols.map((col) => col.filter((id) => id >= 0));
  return { nodes: placed, columns, routes, width: Math.max(PAD * 2, x - COL_GAP + PAD), height };
}

/** Orders each column by the mean row of its neighbours, sweeping right, then left, a few times. */
function order(cols: number[][], ins: Map<number, number[]>, outs: Map<number, number[]>): void {
  const row = new Map<number, number>();
  cols.forEach((col) => col.forEach((id, i) => row.set(id, i)));
  const sortBy = (col: number[], neighbours: Map<number, number[]>) => {
    const centre = new Map(col.map((id, i) => {
      const ns = neighbours.get(id) ?? [];
      return [id, ns.length ? ns.reduce((s, n) => s + row.get(n)!, 0) / ns.length : i];
    }));
    col.sort((a, b) => centre.get(a)! - centre.get(b)! || Math.abs(a) - Math.abs(b));
    col.forEach((id, i) => row.set(id, i));
  };
  for (let s = 0; s < SWEEPS; s++) {
    for (let c = 1; c < cols.length; c++) sortBy(cols[c]!, ins);
    for (let c = cols.length - 2; c >= 0; c--) sortBy(cols[c]!, outs);
  }
  for (let c = 1; c < cols.length; c++) sortBy(cols[c]!, ins);
}

/** Ports spread over a node's height in the order of the other ends; waypoints in between. */
function routesOf(edges: LayoutEdge[], known: LayoutEdge[], chains: number[][], placed: Map<number, Placed>, waypoint: Map<number, { left: number; right: number; y: number }>): Point[][] {
  const firstHop = new Map<LayoutEdge, number>(known.map((e, i) => [e, chains[i]![0] ?? e.to]));
  const lastHop = new Map<LayoutEdge, number>(known.map((e, i) => [e, chains[i]![chains[i]!.length - 1] ?? e.from]));
  const yOf = (id: number) => (id < 0 ? waypoint.get(id)!.y : placed.get(id)!.y + NODE_H / 2);
  const out = new Map<number, LayoutEdge[]>();
  const inn = new Map<number, LayoutEdge[]>();
  for (const e of known) {
    (out.get(e.from) ?? out.set(e.from, []).get(e.from)!).push(e);
    (inn.get(e.to) ?? inn.set(e.to, []).get(e.to)!).push(e);
  }
  for (const list of out.values()) list.sort((a, b) => yOf(firstHop.get(a)!) - yOf(firstHop.get(b)!));
  for (const list of inn.values()) list.sort((a, b) => yOf(lastHop.get(a)!) - yOf(lastHop.get(b)!));
  const port = (list: LayoutEdge[], e: LayoutEdge) => (NODE_H * (list.indexOf(e) + 1)) / (list.length + 1);
  const index = new Map(known.map((e, i) => [e, i]));
  return edges.map((e) => {
    const i = index.get(e);
    if (i === undefined) return [];
    const a = placed.get(e.from)!;
    const b = placed.get(e.to)!;
    const points: Point[] = [[a.x + a.width, a.y + port(out.get(e.from)!, e)]];
    for (const w of chains[i]!) {
      const p = waypoint.get(w)!;
      points.push([p.left, p.y], [p.right, p.y]);
    }
    points.push([b.x, b.y + port(inn.get(e.to)!, e)]);
    return points;
  });
}

/** An SVG path through a route: curves between columns, straight across waypoints. */
export function routePath(points: Point[]): string {
  if (points.length < 2) return '';
  const [x0, y0] = points[0]!;
  let d = `M ${x0} ${y0}`;
  for (let i = 1; i < points.length; i++) {
    const [xa, ya] = points[i - 1]!;
    const [xb, yb] = points[i]!;
    const across = i % 2 === 0; // points 1-2, 3-4 … are a waypoint's two sides
    if (across) d += ` L ${xb} ${yb}`;
    else {
      const dx = Math.max(16, (xb - xa) / 2);
      d += ` C ${xa + dx} ${ya}, ${xb - dx} ${yb}, ${xb} ${yb}`;
    }
  }
  return d;
}

/** Where an edge's label goes: the middle of its first waypoint, or of the edge. */
export function labelPoint(points: Point[]): Point {
  if (points.length >= 4) return [(points[1]![0] + points[2]![0]) / 2, points[1]![1]];
  const [xa, ya] = points[0] ?? [0, 0];
  const [xb, yb] = points[points.length - 1] ?? [0, 0];
  return [(xa + xb) / 2, (ya + yb) / 2];
}
