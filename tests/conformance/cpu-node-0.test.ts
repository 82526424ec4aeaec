import { defineShard } from './shard.js';
defineShard('cpu', 'node', 0, 4);
