/**
 * The daemon's components, started in this order and stopped in reverse. To add one, import its
 * factory and append it (one line each; keep dependencies before dependents, e.g. blocklist
 * before engine and isolation).
 */
import type { ComponentFactory } from './types.js';
// component imports below this line
import { blocklistComponent } from './blocklist.js';
import { isolationComponent } from './isolation.js';

export const components: ComponentFactory[] = [
  // component factories below this line
  blocklistComponent,
  isolationComponent,
];
