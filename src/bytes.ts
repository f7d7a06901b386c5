// Bytes as a Buffer without a copy: the engines' values are Buffers already, but the contract types
// them Uint8Array (a view, say, of a larger read), and Buffer's encoders are what every caller wants.

/** `b` itself when it is a Buffer, else a Buffer over the same memory. */
export const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
