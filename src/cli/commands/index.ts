/**
 * Every `bulwark` command, in `bulwark --help` order. To add one: create src/cli/commands/NAME.ts
 * exporting a CliCommand, import it below, and add it to the list (one line each, keep the blocks).
 */
import type { CliCommand } from '../types.js';
import { runCommand } from './run.js';
import { statusCommand } from './status.js';
import { reloadCommand } from './reload.js';
import { pingCommand } from './ping.js';
import { configCommand } from './config.js';
// other helpers' imports below this line
import { dbCommand } from './db.js';
import { isolationCommand } from './isolation.js';
import { blockedCommand } from './blocked.js';
import { blockCommand } from './block.js';
import { unblockCommand } from './unblock.js';
import { scanCommand } from './scan.js';
import { protectionCommand } from './protection.js';
import { fleetCommand } from './fleet.js';
import { rulesCommand } from './rules.js';
import { eventsCommand } from './events.js';
import { completionCommand } from './completion.js';
import { policyCommand } from './policy.js';

export const commands: CliCommand[] = [
  runCommand,
  statusCommand,
  reloadCommand,
  pingCommand,
  configCommand,
  // other helpers' commands below this line
  dbCommand,
  blockedCommand,
  blockCommand,
  unblockCommand,
  scanCommand,
  protectionCommand,
  isolationCommand,
  fleetCommand,
  rulesCommand,
  eventsCommand,
  completionCommand,
  policyCommand,
];
