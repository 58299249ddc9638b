/**
 * The daemon's components, started in this order and stopped in reverse. To add one, import its
 * factory and append it (one line each; keep dependencies before dependents, e.g. blocklist
 * before engine and isolation).
 */
import type { ComponentFactory } from './types.js';
// component imports below this line
import { eventsComponent } from './events.js';
import { databaseComponent } from './database.js';
import { blocklistComponent } from './blocklist.js';
import { protectionComponent } from './protection.js';
import { isolationComponent } from './isolation.js';
import { fleetComponent, policyComponent } from './fleet.js';
import { topNComponent } from './topn.js';
import { rulesComponent } from './rules.js';

export const components: ComponentFactory[] = [
  // component factories below this line
  eventsComponent, // first of all: subscribed before anybody emits an event
  policyComponent, // fleet policy (cached) over the local config before anything reads it
  databaseComponent, // first: the engine and interception start on its ruleset
  blocklistComponent,
  protectionComponent, // capture → engine → events → blocklist; interception
  isolationComponent, // after protection: automatic isolation listens to its alerts
  topNComponent, // top-N attacker/signature views from the alerts
  rulesComponent, // scheduled rule updates (rules.updateInterval), reloading the database component
  fleetComponent, // last: NATS side of fleet mode; uses blocklist and isolation
];
