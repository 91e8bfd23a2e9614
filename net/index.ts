/** Addresses and prefixes as text, for every layer: see address.ts and prefix.ts. */
export * from './address';
export * from './prefix';
