// A producer allocates a dma-buf from the system heap, fills it through mmap,
// and passes the fd to a consumer, whose device reads it through its IOMMU.
// Run: node examples/dmabuf-share.mjs
import assert from "node:assert/strict";
import { createSystem, DMA_HEAP_IOCTL_ALLOC, MAP_SHARED, MIB, O_CLOEXEC, O_RDWR, PROT_READ, PROT_WRITE } from "dmasim";

const sys = await createSystem({
  ramBytes: 128 * MIB,
  devices: [{ name: "gpu", iommu: { base: 0x1000_0000, size: 256 * MIB } }],
});
const producer = sys.process("camera");
const consumer = sys.process("compositor");

const heap = producer.open("/dev/dma_heap/system", O_RDWR);
const len = 3 * MIB;
const { fd } = producer.ioctl(heap, DMA_HEAP_IOCTL_ALLOC, { len, fd: 0, fdFlags: O_RDWR | O_CLOEXEC, heapFlags: 0 });
const map = producer.mmap(fd, len, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
const frame = new Uint8Array(len).map((_, i) => i & 0xff);
map.write(0, frame);
map.munmap();

// SCM_RIGHTS: the consumer gets its own fd on the same buffer.
const theirs = producer.sendFd(consumer, fd);
producer.close(fd);
const buf = consumer.dmaBufGet(theirs);
const gpu = sys.device("gpu");
const att = buf.attach(gpu);
const sgt = buf.mapAttachment(att, "to_device");
const segments = sgt.entries.slice(0, sgt.nents);
console.log(`${buf.size} bytes in ${sgt.origNents} scatterlist entries, ${segments.length} device segments`);
assert.deepEqual(gpu.dmaRead(segments[0].dmaAddress, 4096), frame.subarray(0, 4096));

buf.unmapAttachment(att, sgt, "to_device");
buf.detach(att);
buf.put();
consumer.close(theirs);
assert.equal(producer.accounting().chargedBytes, 0, "the last close released the buffer and its charge");
sys.check();
console.log(sys.readFile("/sys/kernel/debug/dma_buf/bufinfo").trimEnd());
