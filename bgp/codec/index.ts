/** The BGP codec: pure functions over Buffers. */
export * from './constants';
export * from './errors';
export * from './error-handling';
export * from './messages';
export * from './capabilities';
export * from './attributes';
export * from './prefix';
export * from './message';
export { Framer } from './framer';
export { Reader } from './reader';
export { Writer } from './writer';
