// The baseline of bench/ingest: a bare node:http server that reads each NDJSON body, parses every
// line with JSON.parse, and answers 200 — the ceiling for any gateway doing that parsing.
import http from 'node:http';

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    let n = 0;
    let start = 0;
    while (start < body.length) {
      let end = body.indexOf(10, start);
      if (end < 0) end = body.length;
      if (end > start) {
        JSON.parse(body.toString('utf8', start, end));
        n++;
      }
      start = end + 1;
    }
    const text = JSON.stringify({ stored: n });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': text.length });
    res.end(text);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${(server.address() as { port: number }).port}\n`);
});
