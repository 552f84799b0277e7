// readable-stream is a copy of Node's own streams for old runtimes; on Node 20 the built-in module is the same API.
module.exports = require("node:stream");
