"use strict";
// require("dmasim"): the package is ES modules; Node.js 20.19 and later loads
// them synchronously for require(). Older versions get a clear message instead
// of ERR_REQUIRE_ESM.
if (!process.features.require_module) {
  throw new Error(
    `dmasim is an ES module and Node.js ${process.version} cannot require() one: use import (or await import("dmasim")), or Node.js >= 20.19`,
  );
}
module.exports = require("../dist/bindings/index.js");
