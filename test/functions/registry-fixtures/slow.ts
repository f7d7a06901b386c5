// Holds its invocation for `ms` (default 300).
export const handler = async (event: { ms?: number }) => {
  await new Promise((r) => setTimeout(r, event.ms ?? 300));
  return 'done';
};
