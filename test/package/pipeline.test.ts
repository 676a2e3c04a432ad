import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { runPipeline } from "../../dist/bindings/examples/pipeline.js";

describe("the reference pipeline", () => {
  it("camera → GPU → display with a CPU thumbnail: bytes intact end to end, no copies on the device path, both backends alike", async () => {
    const [wasm, ts] = [await runPipeline({ backend: "wasm" }), await runPipeline({ backend: "ts" })];
    for (const r of [wasm, ts]) {
      expect(r.checked).toEqual({ captured: 4, transformed: 4, scannedOut: 4, thumbnails: 4 });
      expect(r.copies).toEqual({ cpu: 0, bounces: 0, migrations: 0, total: 0 });
      expect(r.moveNotifies).toBe(0);
      expect(r.placement).toEqual({
        camera: { heap: "camera", segments: 1, belowMask: true },
        gpu: { segments: 1, iova: true },
        display: { placement: "cma", segments: 1, belowMask: true },
      });
      expect([r.dmaDebugErrors, r.leftover]).toEqual([0, { dmabufs: 0, cmaPagesInUse: 0 }]);
      expect(r.bufinfo).toContain(
        "\tgpu\t00000002\tscanout-0\n\tAttached Devices:\n\tdisplay\n\tgpu\nTotal 2 devices attached\n",
      );
      expect(r.bufinfo).toContain(
        "\tcamera\t00000001\tframe-0\n\tAttached Devices:\n\tgpu\nTotal 1 devices attached\n",
      );
    }
    expect({ ...ts, backend: "wasm" }).toEqual(wasm);
  });

  it("runs as a program: node dist/bindings/examples/pipeline.js", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      "dist/bindings/examples/pipeline.js",
      "--frames",
      "2",
      "--backend",
      "ts",
    ]);
    expect(stdout).toContain("captured ok, transformed ok, scanned out ok, thumbnails ok");
    expect(stdout).toContain("copies on the device path: 0 (CPU 0, swiotlb bounces 0, migrations 0)");
    expect(stdout).toContain("Dma-buf Objects:");
  });
});
