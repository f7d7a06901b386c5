// Fails every invocation (a stream trigger's batch is then retried, or discarded to its onFailure).
export const handler = async () => {
  throw new Error('refused');
};
