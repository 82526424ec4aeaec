import { defineShard } from './shard.js';
defineShard('cpu', 'node', 2, 4);
