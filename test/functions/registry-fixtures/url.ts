// Answers a function URL: echoes the event, or a given result.
export const handler = async (event: { rawPath: string; body?: string; queryStringParameters?: Record<string, string> }) => {
  if (event.rawPath === '/raw') return { hello: 'json' };
  if (event.rawPath === '/bad') return { statusCode: 'two hundred' };
  return { statusCode: 201, headers: { 'x-echo': 'yes' }, cookies: ['a=1'], body: JSON.stringify({ path: event.rawPath, q: event.queryStringParameters ?? null, body: event.body ?? null }) };
};
