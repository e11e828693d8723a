/**
 * libuv's thread pool runs every file-system call (and fsync) of the process: 4 threads by default.
 * A retention sweep deletes hundreds of objects at once, each an unlink and a directory fsync; an
 * upload writes, fsyncs and renames; with 4 threads they queue behind one another, while concurrent
 * fsyncs on one file system are committed together by the journal. Must run before anything uses
 * the pool (the first import of the entry point); an operator's own UV_THREADPOOL_SIZE wins.
 */
process.env.UV_THREADPOOL_SIZE ??= '32';
