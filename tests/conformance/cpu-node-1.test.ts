import { defineShard } from './shard.js';
defineShard('cpu', 'node', 1, 4);
