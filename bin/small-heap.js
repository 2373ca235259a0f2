// Imported first by every airlift process (bin/airlift.js, and the
// benchmark's pull process), before anything else is loaded.
//
// A large load streams: the live heap stays near 30 MB, but with V8's
// default heap growth the garbage of the pages already staged piles up to
// about 100 MB before a full collection (bench:files, 100,000 rows: peak
// RSS 263 MB, 31 MB live after a collection). --optimize-for-size makes V8
// collect sooner (peak RSS 144 MB on the same load) at no measurable cost
// in time. V8 reads it at run time; set before the modules load, it also
// covers their compilation.
import v8 from 'node:v8';

v8.setFlagsFromString('--optimize-for-size');
globalThis.airliftSmallHeap = true;

// Downloads of attachment files are the exception: bytes by the gigabyte in
// chunks of a quarter of a megabyte, each a short-lived buffer. Under
// --optimize-for-size the young generation stays small and V8 spends about
// three times the CPU on them (bench:attachments: 41% of curl's throughput
// with it, 82% without, peak RSS 209 MB); src/files/download.ts turns it
// off while a downloader works (v8.setFlagsFromString, as here).
