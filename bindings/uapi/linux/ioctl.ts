/**
 * ioctl request numbers (include/uapi/asm-generic/ioctl.h): direction, size,
 * type and number packed into 32 bits.
 */

export const _IOC_NRBITS = 8;
export const _IOC_TYPEBITS = 8;
export const _IOC_SIZEBITS = 14;
export const _IOC_DIRBITS = 2;
export const _IOC_NRSHIFT = 0;
export const _IOC_TYPESHIFT = _IOC_NRSHIFT + _IOC_NRBITS;
export const _IOC_SIZESHIFT = _IOC_TYPESHIFT + _IOC_TYPEBITS;
export const _IOC_DIRSHIFT = _IOC_SIZESHIFT + _IOC_SIZEBITS;

/** _IOC_NONE, _IOC_WRITE (userspace writes, the kernel reads), _IOC_READ (the kernel writes back). */
export const _IOC_NONE = 0;
export const _IOC_WRITE = 1;
export const _IOC_READ = 2;

/** IOC_IN / IOC_OUT: the direction bits already shifted into place. */
export const IOC_IN = (_IOC_WRITE << _IOC_DIRSHIFT) >>> 0;
export const IOC_OUT = (_IOC_READ << _IOC_DIRSHIFT) >>> 0;

function char(type: string | number): number {
  return typeof type === "number" ? type : type.charCodeAt(0);
}

/** _IOC(dir, type, nr, size): an unsigned 32-bit request number. */
export function _IOC(dir: number, type: string | number, nr: number, size: number): number {
  return (
    ((dir << _IOC_DIRSHIFT) | (size << _IOC_SIZESHIFT) | (char(type) << _IOC_TYPESHIFT) | (nr << _IOC_NRSHIFT)) >>> 0
  );
}

/** _IO(type, nr) */
export const _IO = (type: string | number, nr: number): number => _IOC(_IOC_NONE, type, nr, 0);
/** _IOR(type, nr, sizeof(T)): the kernel writes the argument back. */
export const _IOR = (type: string | number, nr: number, size: number): number => _IOC(_IOC_READ, type, nr, size);
/** _IOW(type, nr, sizeof(T)): the kernel reads the argument. */
export const _IOW = (type: string | number, nr: number, size: number): number => _IOC(_IOC_WRITE, type, nr, size);
/** _IOWR(type, nr, sizeof(T)) */
export const _IOWR = (type: string | number, nr: number, size: number): number =>
  _IOC(_IOC_READ | _IOC_WRITE, type, nr, size);

/** _IOC_DIR(nr) */
export const _IOC_DIR = (nr: number): number => (nr >>> _IOC_DIRSHIFT) & ((1 << _IOC_DIRBITS) - 1);
/** _IOC_TYPE(nr) */
export const _IOC_TYPE = (nr: number): number => (nr >>> _IOC_TYPESHIFT) & ((1 << _IOC_TYPEBITS) - 1);
/** _IOC_NR(nr) */
export const _IOC_NR = (nr: number): number => (nr >>> _IOC_NRSHIFT) & ((1 << _IOC_NRBITS) - 1);
/** _IOC_SIZE(nr) */
export const _IOC_SIZE = (nr: number): number => (nr >>> _IOC_SIZESHIFT) & ((1 << _IOC_SIZEBITS) - 1);
