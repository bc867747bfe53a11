// The segdsl extension: starts `seg lsp` (setting `segdsl.path`) as the language server.
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

async function activate(context) {
  const config = vscode.workspace.getConfiguration('segdsl');
  const command = config.get('path') || 'seg';
  const schema = config.get('schema') || undefined;
  const serverOptions = { command, args: ['lsp'], transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'seg' }],
    initializationOptions: { schema },
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/{*.seg,seg.toml,warehouse.json}') },
  };
  client = new LanguageClient('segdsl', 'segdsl language server', serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.commands.registerCommand('segdsl.explain', async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) return;
      const result = await client.sendRequest('workspace/executeCommand', {
        command: 'seg.explain',
        arguments: [editor.document.uri.toString(), editor.selection.active],
      });
      if (!result) return;
      const text = [
        `${result.kind} ${result.name} (as of ${result.as_of})`,
        '',
        ...(result.words || []),
        ...(result.size != null ? ['', `size: ${result.size}`] : []),
        '',
        `SQL (${result.dialect})`,
        result.sql || (result.errors || []).join('\n'),
      ].join('\n');
      const doc = await vscode.workspace.openTextDocument({ content: text, language: 'sql' });
      await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
    }),
  );
  await client.start();
  context.subscriptions.push(client);
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
