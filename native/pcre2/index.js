'use strict';
// The compiled addon (node-gyp builds it at `npm ci`, see binding.gyp). Loaded once per thread.
module.exports = require('./build/Release/pcre2_binding.node');
