// Logs the event it was given (a scheduled event) and fails when its detail asks.
export const handler = async (event: { detail?: { fail?: boolean } }) => {
  console.log(JSON.stringify(event));
  if (event.detail?.fail) throw new Error('tick failed');
  return 'ticked';
};
