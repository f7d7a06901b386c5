// Greets, logs, and fails on request.
export const handler = async (event: { name?: string; fail?: boolean }, context: { awsRequestId: string; functionName: string; getRemainingTimeInMillis(): number }) => {
  console.log('hello', event.name);
  console.warn('careful');
  if (event.fail) throw new TypeError(`no ${event.name}`);
  return { greeting: `hi ${event.name ?? 'there'}`, fn: context.functionName };
};
