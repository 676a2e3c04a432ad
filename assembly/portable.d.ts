// Globals that std/portable defines at run time but does not declare.
declare const ASC_FEATURE_SIMD: bool;
declare const ASC_FEATURE_BULK_MEMORY: bool;
