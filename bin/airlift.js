#!/usr/bin/env node
// Entry point of the `airlift` command: runs the TypeScript CLI (src/cli/main.ts) through tsx.
import './small-heap.js';
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
