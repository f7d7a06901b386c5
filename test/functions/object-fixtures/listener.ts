// Logs the S3 event it was given (one INFO line of JSON) and fails for a key holding 'fail', as a
// handler whose input it cannot process.
interface S3Event {
  Records: { s3: { object: { key: string } } }[];
}

export const handler = async (event: S3Event) => {
  console.log(JSON.stringify(event));
  const key = decodeURIComponent(event.Records[0]!.s3.object.key.replace(/\+/g, ' '));
  if (key.includes('fail')) throw new Error(`cannot process ${key}`);
  return { key };
};
