type TypedArray = Float64Array | Int32Array | Uint32Array | Uint8Array;

/** A copy of `a` in a new array of the same kind with room for `length` elements. */
export function grown<T extends TypedArray>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}
