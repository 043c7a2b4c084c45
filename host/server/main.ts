// The JSON-RPC agent host (dist/host.js); the server arrives with issue #4.
export {};
