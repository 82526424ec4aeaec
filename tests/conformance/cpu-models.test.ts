import { defineShard } from './shard.js';
defineShard('cpu', 'simple', 0, 1);
defineShard('cpu', 'pytorch-operator', 0, 1);
defineShard('cpu', 'pytorch-converted', 0, 1);
