"use strict";
// require("dmasim/lab"): the package is ES modules; Node.js 20.19 and later loads
// them synchronously for require(). Older versions get a clear message instead
// of ERR_REQUIRE_ESM.
if (!process.features.require_module) {
  throw new Error(
    `dmasim/lab is an ES module and Node.js ${process.version} cannot require() one: use import (or await import("dmasim/lab")), or Node.js >= 20.19`,
  );
}
module.exports = require("../dist/bindings/lab/index.js");
