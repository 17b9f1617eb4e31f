// Package memtrim returns a quiet process's GC headroom to the operating system.
//
// Why: with GOGC=p the heap grows to (1 + p/100) x the live heap before each collection, and
// the runtime keeps those pages. A node that has just taken a burst of connections and then
// goes quiet (idle viewers allocate next to nothing) keeps that headroom for good: measured
// with 19,000 idle viewers in their own rooms (docs/benchmarks.md, "Many small rooms"), the
// resident set was the heap goal of the connect burst, 1.5 x what the viewers hold. A trimmer
// that sees the heap stay quiet collects once and hands the free pages back (runtime/debug
// FreeOSMemory); under load it never fires, so it costs the hot paths nothing, and a quiet
// node pays one collection per burst (at most one a MinGap: a trim of the 19k idle run's
// 160 MB heap cost ~0.25 CPU-s).
//
// Concurrency: Run is one goroutine; it touches nothing but the runtime.
package memtrim
