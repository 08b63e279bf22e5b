// Loaded into a spawned `gatehouse` (NODE_OPTIONS=--import) by the CLI's rotation test: declares a
// column of sealed secrets on a table the test creates, as a module would for its own table.
import { registerSealedColumn } from '../../src/server/platform/secrets/rotate.ts';

export const CLI_SEALED_TABLE = 'rotation_cli_things';
export const cliSealedContext = (row: { id: unknown }) => `cli-thing:${row.id}`;

registerSealedColumn({
  table: CLI_SEALED_TABLE,
  idColumn: 'id',
  sealedColumn: 'secret',
  context: cliSealedContext,
});
