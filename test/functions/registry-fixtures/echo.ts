// Returns the event it was given.
export const handler = async (event: unknown) => event;
