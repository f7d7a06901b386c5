// A strict reader of Prometheus' text exposition format (version 0.0.4), for tests: every line
// must be a comment, a HELP or TYPE line, or a sample `name{label="value",…} number`; a sample
// must belong to the family its TYPE declared (with _bucket/_sum/_count for histograms), and
// label values are unescaped. Throws on anything else, naming the line.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  text.split('\n').forEach((line, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1}: ${why}: ${line}`);
    };
    if (line === '') return;
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const [, kind, name, ...rest] = line.split(' ');
      if (!NAME.test(name!)) fail('bad metric name');
      const f = families.get(name!) ?? { name: name!, type: 'untyped', help: '', samples: [] };
      if (kind === 'TYPE') {
        if (!TYPES.has(rest[0]!)) fail('bad type');
        f.type = rest[0]!;
      } else f.help = rest.join(' ');
      families.set(name!, f);
      current = f;
      return;
    }
    if (line.startsWith('#')) return;
    const m = SAMPLE.exec(line) ?? fail('not a sample');
    const [, name, labelText = '', raw] = m;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? NaN : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') fail('bad value');
    const labels: Record<string, string> = {};
    for (let rest = labelText; rest.length > 0; ) {
      const l = LABEL.exec(rest) ?? fail('bad labels');
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      rest = rest.slice(l[0].length);
    }
    const base = current && (name === current.name || (['histogram', 'summary'].includes(current.type) && [`${current.name}_sum`, `${current.name}_count`, `${current.name}_bucket`].includes(name!)));
    if (!base) fail(`sample outside its family (${current?.name ?? 'none'})`);
    current!.samples.push({ name: name!, labels, value });
  });
  return families;
}
