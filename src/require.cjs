'use strict';
// require('webgpu-transfer'): the package is an ES module. Node versions that can require() an ES module
// (20.19+, 22.12+) get the Node entry; older ones get this message instead of a bare ERR_REQUIRE_ESM.
if (process.features && process.features.require_module) {
  module.exports = require('./index.js');
} else {
  throw new Error("webgpu-transfer is an ES module: use `import * as wt from 'webgpu-transfer'` (or, from CommonJS, " +
    "`const wt = await import('webgpu-transfer')`); Node 20.19+ can also require() it.");
}
