'use strict';

// osls loads local plugins from inside the service folder; the plugin is shared by both services.
module.exports = require('../placeholder-guard.js');
