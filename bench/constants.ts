// Constants shared by the bench scripts and cases.
export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;
/** The seed of every benchmark machine. */
export const SEED = 0x5eed1234;
