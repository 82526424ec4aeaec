import { defineShard } from './shard.js';
defineShard('cpu', 'node', 3, 4);
