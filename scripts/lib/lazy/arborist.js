/** jest.config.js maps `@npmcli/arborist` here: a stand-in that loads the real package on first use (../lazy-sdk-deps.js). */
"use strict";
module.exports = require("../lazy-sdk-deps.js").standIn("@npmcli/arborist");
