// The dashboard's pure parts, without a browser: the SSE parser the live tail reads with, the
// operator graph's layout, the record pretty-printer, and the formats whole numbers are shown in.
import { describe, expect, it } from 'vitest';
import { fmtBytes, fmtInt, fmtMs, fmtSeconds } from '../../ui/format.js';
import { depths, labelPoint, layoutGraph, routePath, NODE_H } from '../../ui/graph-layout.js';
import { prettyJson } from '../../ui/json-view.js';
import { skew } from '../../ui/pages/skew.js';
import { SseParser, type SseEvent } from '../../ui/sse.js';

const TAIL = 'id: 0-41\nevent: record\ndata: {"partition":0,"offset":41,"value":{"a":1}}\n\n: keep-alive\n\nid: 2-7\nevent: record\ndata: {"partition":2,\ndata: "offset":7}\n\n';
const WANT: SseEvent[] = [
  { id: '0-41', event: 'record', data: '{"partition":0,"offset":41,"value":{"a":1}}' },
  { id: '2-7', event: 'record', data: '{"partition":2,\n"offset":7}' },
];

describe('the SSE parser', () => {
  it('reads records with ids, skips comments, and joins data lines', () => {
    expect(new SseParser().push(TAIL)).toEqual(WANT);
  });

  it('gives the same events however the text is cut into chunks (every cut point, CRLF and CR line ends)', () => {
    // (A lone CR at the end of what arrived may be half a CRLF: the comment after the last event settles it.)
    const more = `${TAIL}: more\n`;
    for (const text of [more, more.replaceAll('\n', '\r\n'), more.replaceAll('\n', '\r')]) {
      for (let cut = 0; cut <= text.length; cut++) {
        const p = new SseParser();
        expect([...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))], `cut at ${cut}`).toEqual(WANT);
      }
      const p = new SseParser();
      expect([...text].flatMap((c) => p.push(c))).toEqual(WANT);
    }
  });

  it('holds an event until its blank line, and takes "data:x" without a space', () => {
    const p = new SseParser();
    expect(p.push('event: record\ndata:{"x":1}\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ id: undefined, event: 'record', data: '{"x":1}' }]);
    expect(p.push('data: plain\n\n')).toEqual([{ id: undefined, event: 'message', data: 'plain' }]);
  });
});

describe('the operator graph layout', () => {
  // The campaign plan: two sources, a filter, a join (both), a window, a table; and a late node to a stream.
  const nodes = [
    { id: 0, kind: 'source' }, { id: 1, kind: 'source' }, { id: 2, kind: 'filter' }, { id: 3, kind: 'join' },
    { id: 4, kind: 'window' }, { id: 5, kind: 'sink' }, { id: 6, kind: 'late' }, { id: 7, kind: 'sink' },
  ];
  const edges = [{ from: 1, to: 2 }, { from: 2, to: 3 }, { from: 0, to: 3 }, { from: 3, to: 4 }, { from: 4, to: 5 }, { from: 6, to: 7 }];

  it('puts each node in the column of its depth, sinks last, the late node just before its consumer', () => {
    expect(Object.fromEntries(depths(nodes, edges))).toEqual({ 0: 0, 1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 0, 7: 1 });
    const l = layoutGraph(nodes, edges);
    expect(l.columns.map((c) => [...c].sort())).toEqual([[0, 1], [2], [3], [4, 6], [5, 7]]);
    for (const e of edges) expect(l.nodes.get(e.from)!.x).toBeLessThan(l.nodes.get(e.to)!.x);
  });

  it('routes an edge that skips columns through a waypoint that keeps it off the nodes between', () => {
    const l = layoutGraph(nodes, edges);
    const long = l.routes[edges.findIndex((e) => e.from === 0)]!;
    expect(long).toHaveLength(4); // out port, the filter column's left and right side, in port
    const filter = l.nodes.get(2)!;
    const y = long[1]![1];
    expect(y < filter.y || y > filter.y + NODE_H).toBe(true);
    expect(routePath(long)).toMatch(/^M [\d.]+ [\d.]+ C .* L .* C /);
    expect(labelPoint(long)).toEqual([(long[1]![0] + long[2]![0]) / 2, y]);
  });

  it('survives a cycle and edges to unknown nodes', () => {
    const l = layoutGraph([{ id: 0, kind: 'map' }, { id: 1, kind: 'map' }], [{ from: 0, to: 1 }, { from: 1, to: 0 }, { from: 1, to: 9 }]);
    expect(l.nodes.size).toBe(2);
  });
});

describe('records and figures', () => {
  it('pretty-prints a record a field a line, short parts inline, and parses back to the same value', () => {
    const v = { eventId: 'e1', nested: { a: [1, 2, { b: null }], s: 'q"é' }, long: Array.from({ length: 20 }, (_, i) => `item-${i}`), empty: [] };
    const text = prettyJson(v);
    expect(JSON.parse(text)).toEqual(v);
    expect(text.split('\n').slice(0, 3)).toEqual(['{', '  "eventId": "e1",', '  "nested": {"a": [1, 2, {"b": null}], "s": "q\\"é"},']);
    expect(prettyJson(7)).toBe('7');
  });

  it('writes whole numbers exactly, sizes, durations and skew', () => {
    expect(fmtInt(1234567)).toBe('1,234,567');
    expect(fmtBytes(45678)).toBe('44.6 KiB');
    expect(fmtBytes(512)).toBe('512 B');
    expect(fmtMs(7 * 86_400_000)).toBe('7d');
    expect(fmtMs(120_000)).toBe('2m');
    expect(fmtSeconds(5.1)).toBe('5.1s');
    expect(fmtSeconds(185)).toBe('3m 05s');
    expect(fmtSeconds(20 * 86_400)).toBe('20d');
    expect(skew([10, 10, 10, 10])).toBe(1);
    expect(skew([40, 0, 0, 0])).toBe(4);
    expect(skew([0, 0])).toBe(0);
  });
});
