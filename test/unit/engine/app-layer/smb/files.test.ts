/** SMB alert `files`: the file of a file tx as Suricata's EveFileInfo, nothing for other txs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmbFileTx, smbFiles, smbProtocol } from '../../../../../src/engine/app-layer/smb/index.js';
import { SmbTx } from '../../../../../src/engine/app-layer/smb/tx.js';

test('smbFiles: filename, state, size and tx id of a file tx; the protocol hands it to alerts', () => {
  const f = new SmbFileTx(7, 1, 'k', 'to_server', new Uint8Array(Buffer.from('\\eicar')));
  f.add(new Uint8Array(68), 0, 1 << 20, 1 << 20, 8);
  assert.deepEqual(smbFiles(f), [{ filename: '\\eicar', gaps: false, state: 'OPEN', stored: false, size: 68, tx_id: 7 }]);
  f.closed = true;
  assert.equal(smbFiles(f)[0]?.state, 'CLOSED');
  const unnamed = new SmbFileTx(8, 2, 'k2', 'to_client', null);
  assert.equal('filename' in smbFiles(unnamed)[0]!, false);
  assert.deepEqual(smbFiles(new SmbTx(1, 2, 0, 'generic', 'x')), []);
  assert.equal(smbProtocol.files, smbFiles);
});
