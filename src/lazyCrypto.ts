/**
 * node:crypto, loaded at its first use. Importing it loads about twenty internal
 * modules (a few ms of every start-up), and nothing before the first tool call
 * needs it: the audit chain's hashes, audit ids and the confirmation key come later.
 */
export function nodeCrypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}
